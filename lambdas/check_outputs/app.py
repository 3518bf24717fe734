"""The check-outputs function: is a stage done, and if not, what should the job do.

Errors leave the handler as the named exceptions of orchestrator_runtime (Step Functions uses
the class name as the error name): BadCheckRequest, StageInputsMissing, StageOutputsMissing,
OutputCheckAccessError.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator_runtime import contracts, outputs, s3util
from orchestrator_runtime.envcache import env_cached
from orchestrator_runtime.resolve import BadCheckRequest, sample_id_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Orchestrator")


class JobSpecModel(BaseModel):
    """contracts.JobSpec, checked field by field (a test keeps the two in step)."""

    model_config = ConfigDict(extra="ignore")
    image: str
    command: list[str]
    environment: dict[str, str]
    inputs: dict[str, str]
    outputs: dict[str, str]
    bucket: str
    allow_empty: bool
    shell: bool
    stdout: str | None


class CheckRequestModel(BaseModel):
    """contracts.CheckRequest; which fields an action needs is checked by the runtime."""

    model_config = ConfigDict(extra="ignore")
    action: Literal["pre", "post", "explain", "summarize"]
    workflow: str | None = None
    stage: str | None = None
    execution: str | None = None
    sample: dict[str, Any] | None = None
    sample_column: str | None = None
    samples: list[dict[str, Any]] | None = None
    params: dict[str, Any] | None = None
    param_defaults: dict[str, Any] | None = None
    job: JobSpecModel | None = None
    error: dict[str, Any] | None = None
    block: str | None = None
    results: list[Any] | None = None


@env_cached()
def _s3() -> S3Client:
    return boto3.client("s3", config=s3util.client_config())


@env_cached("TABLE_NAME")
def _table() -> Table | None:
    name = os.environ.get("TABLE_NAME", "")
    return boto3.resource("dynamodb").Table(name) if name else None


def _validate(event: Any) -> CheckRequestModel:
    if not isinstance(event, dict):
        raise BadCheckRequest(f"a CheckRequest must be a JSON object, got {type(event).__name__}")
    try:
        return CheckRequestModel.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"CheckRequest.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()[:5])
        raise BadCheckRequest(problems) from None


def _sample_label(event: dict[str, Any]) -> str:
    try:
        return contracts.sample_label(sample_id_of(event))
    except BadCheckRequest:
        return "?"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = _validate(event)
        logger.append_keys(execution=request.execution, workflow=request.workflow,
                           stage=request.stage, sample=_sample_label(event),
                           action=request.action)
        metrics.add_dimension("workflow", request.workflow or "unknown")
        response = outputs.handle(event, s3=_s3(), table=_table())
    except Exception as exc:
        metrics.add_metric(f"Check{type(exc).__name__}", MetricUnit.Count, 1)
        logger.warning("check failed", extra={"error": type(exc).__name__, "reason": str(exc)})
        raise
    if request.action in ("pre", "post"):
        status = str(response.get("status", ""))
        metrics.add_metric(f"Stage{status.title()}", MetricUnit.Count, 1)
        logger.info(str(response.get("reason", "")), extra={"status": status})
    elif request.action == "explain":
        metrics.add_metric("FailuresExplained", MetricUnit.Count, 1)
        logger.info(str(response.get("cause", "")), extra={"error": response.get("error")})
    else:
        failed = response.get("failed", 0)
        metrics.add_metric("SamplesFailed", MetricUnit.Count,
                           failed if isinstance(failed, int) else 0)
        logger.info(str(response.get("cause", "")) or "no sample failed",
                    extra={"block": request.block})
    return dict(response)
