"""The check function's actions: "pre" and "post" check a stage's outputs (outputs.py),
"explain" and "summarize" read failures (explain.py). One dispatch, every action handled."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from orchestrator_runtime import contracts, explain, outputs

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client


def handle(
    request: contracts.CheckRequest, *, s3: S3Client, table: Table | None = None,
) -> contracts.CheckResponse | contracts.ExplainResponse | contracts.SummaryResponse:
    """Dispatch a checked CheckRequest on its ``action`` (every contracts.Action handled)."""
    action = request["action"]
    match action:
        case "pre":
            return outputs.pre_check(s3, request, table=table)
        case "post":
            return outputs.post_check(s3, request)
        case "explain":
            return explain.explain(request)
        case "summarize":
            return explain.summarize(request)
        case "sheet" | "plan" | "collect":
            raise NotImplementedError(action)  # WIP: array strategy
        case _:
            assert_never(action)
