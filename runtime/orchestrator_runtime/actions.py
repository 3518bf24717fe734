"""The check function's actions: "pre" and "post" check a stage's outputs (outputs.py),
"explain" and "summarize" read failures (explain.py, arrays.py, mapresults.py), "sheet",
"plan" and "collect" run the array strategy (arrays.py). One dispatch, every action handled.

A stage's spec comes with the request or from its job definition (specs.py); "pre" and
"plan" answer with the stage's SubmitJob parameters too, which the Batch task submits."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from orchestrator_runtime import arrays, contracts, explain, mapresults, outputs, specs

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client


Response = (contracts.CheckResponse | contracts.ExplainResponse | contracts.SummaryResponse
            | contracts.SheetResponse | contracts.PlanResponse | contracts.CollectResponse)


def handle(
    request: contracts.CheckRequest, *, s3: S3Client, table: Table | None = None,
    batch: BatchClient | None = None, job_queue: str = "",
) -> Response:
    """Dispatch a checked CheckRequest on its ``action`` (every contracts.Action handled);
    ``batch`` reads stage specs from job definitions, ``job_queue`` is where jobs go."""
    action = request["action"]
    if action in ("pre", "post", "plan", "collect"):
        request = specs.with_spec(request, batch)
    match action:
        case "pre":
            checked = outputs.pre_check(s3, _with_rows(s3, request), table=table)
            checked["submit"] = specs.submission(
                request, job_queue, checked["job_name"], checked["sample"],
                {contracts.TASK_ENV: checked["task_uri"]})
            return checked
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
            planned = arrays.plan(s3, request, table=table)
            return _with_submission(request, planned, job_queue)
        case "collect":
            return arrays.collect(s3, request, batch_client=batch)
        case _:
            assert_never(action)


def _with_submission(request: contracts.CheckRequest, planned: contracts.PlanResponse,
                     job_queue: str) -> contracts.PlanResponse:
    """The plan with its SubmitJob parameters, and each chunk's overrides (its offset)."""
    def env(offset: str) -> dict[str, str]:
        return {contracts.MANIFEST_ENV: planned["manifest"],
                contracts.MANIFEST_WIDTH_ENV: planned["width"],
                contracts.MANIFEST_OFFSET_ENV: offset}

    chunks = [contracts.Chunk(offset=ch["offset"], size=ch["size"],
                              overrides=specs.overrides(env(ch["offset"])))
              for ch in planned["chunks"]]
    planned["chunks"] = chunks
    planned["submit"] = specs.submission(request, job_queue, planned["job_name"],
                                         contracts.ARRAY_PLAN, env("0"))
    return planned


def _with_rows(s3: S3Client, request: contracts.CheckRequest) -> contracts.CheckRequest:
    """A once-stage of an array run gathers over the rows of the run's sheet in S3."""
    sheet = request.get("sheet")
    if sheet and request.get("sample") is None and not request.get("samples"):
        return {**request, "samples": arrays.load_sheet(s3, sheet)}
    return request
