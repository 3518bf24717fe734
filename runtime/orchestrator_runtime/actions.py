"""The check function's actions: "pre" and "post" check a stage's outputs (outputs.py),
"explain" and "summarize" read failures (explain.py, arrays.py, mapresults.py). One
dispatch, every action handled."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from orchestrator_runtime import arrays, contracts, explain, mapresults, outputs

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client


Response = (contracts.CheckResponse | contracts.ExplainResponse | contracts.SummaryResponse
            | contracts.SheetResponse | contracts.PlanResponse | contracts.CollectResponse)


def handle(
    request: contracts.CheckRequest, *, s3: S3Client, table: Table | None = None,
    batch: BatchClient | None = None,
) -> Response:
    """Dispatch a checked CheckRequest on its ``action`` (every contracts.Action handled)."""
    action = request["action"]
    match action:
        case "pre":
            return outputs.pre_check(s3, _with_rows(s3, request), table=table)
        case "post":
            return outputs.post_check(s3, _with_rows(s3, request))
        case "explain":
            return explain.explain(request)
        case "summarize":
            if request.get("written") is not None:  # a map block: its ResultWriter's files
                return mapresults.summarize(s3, request)
            if request.get("results") is None:  # an array block (the request was checked)
                return arrays.summarize(s3, request)
            return explain.summarize(request)
        case "sheet":
            return arrays.sheet(s3, request)
        case "plan":
            return arrays.plan(s3, request, table=table)
        case "collect":
            return arrays.collect(s3, request, batch_client=batch)
        case _:
            assert_never(action)


def _with_rows(s3: S3Client, request: contracts.CheckRequest) -> contracts.CheckRequest:
    """A once-stage of an array run gathers over the rows of the run's sheet in S3."""
    sheet = request.get("sheet")
    if sheet and request.get("sample") is None and not request.get("samples"):
        return {**request, "samples": arrays.load_sheet(s3, sheet)}
    return request
