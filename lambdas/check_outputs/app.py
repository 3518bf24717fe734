"""The check-outputs function: is a stage done, and if not, what should the job do.

Errors leave the handler as the named exceptions of orchestrator_runtime (Step Functions uses
the class name as the error name): BadCheckRequest, StageInputsMissing, StageOutputsMissing,
OutputCheckAccessError.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Final, cast

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from orchestrator_runtime import actions, contracts, s3util, specs
from orchestrator_runtime.envcache import env_cached
from orchestrator_runtime.resolve import BadCheckRequest, sample_id_of

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Orchestrator")


class JobSpecModel(BaseModel):
    """contracts.JobSpec, checked field by field (a test keeps the two in step).

    This is the only place a job spec arriving in an event is checked: the runtime trusts
    the typed value it is given.
    """

    model_config = ConfigDict(extra="ignore", strict=True)
    image: str
    command: list[str] = Field(min_length=1)
    environment: dict[str, str]
    inputs: dict[str, str]
    outputs: dict[str, str]
    bucket: str
    allow_empty: bool
    shell: bool
    stdout: str | None

    @field_validator("bucket")
    @classmethod
    def _s3_uri(cls, bucket: str) -> str:
        contracts.split_uri(bucket)  # ValueError names the value: an s3://bucket/prefix URI
        return bucket

    @model_validator(mode="after")
    def _consistent(self) -> JobSpecModel:
        if self.shell and len(self.command) != 1:
            raise ValueError(f"command has {len(self.command)} entries but shell is true; "
                             "a shell command is a single string")
        if self.stdout is not None and self.stdout not in self.outputs:
            raise ValueError(f"stdout names {self.stdout!r}, which is not an output "
                             f"(outputs: {', '.join(sorted(self.outputs)) or 'none'})")
        return self


# Fields each action cannot do without; the rest are optional for every action.
# "pre", "post", "plan" and "collect" also need the stage's spec: the job itself, or the job
# definition holding it with the digest expected (see orchestrator_runtime.specs).
REQUIRED: Final[dict[contracts.Action, tuple[str, ...]]] = {
    "pre": ("workflow", "stage", "execution"),
    "post": ("workflow", "stage", "execution"),
    "explain": (),
    "summarize": (),  # results (a Map block), stages and sheet (array) or written (map)
    "sheet": ("workflow", "execution"),
    "plan": ("workflow", "stage", "execution", "sheet"),
    "collect": ("workflow", "stage", "execution", "plan"),
}
NEED_SPEC: Final = ("pre", "post", "plan", "collect")


class CheckRequestModel(BaseModel):
    """contracts.CheckRequest: the one validator of the events this function receives."""

    model_config = ConfigDict(extra="ignore", strict=True)
    action: contracts.Action
    workflow: str | None = None
    stage: str | None = None
    execution: str | None = None
    sample: Any = None  # a row object; checked below, so an explain can name any row
    sample_column: str | None = None
    samples: list[Any] | None = None  # rows as given: each is checked where it is used
    params: dict[str, Any] | None = None
    param_defaults: dict[str, Any] | None = None
    force: list[str] | None = None
    only: list[str] | None = None
    job: JobSpecModel | None = None
    job_definition: str | None = None  # ARN of the job definition holding the spec
    spec: str | None = None  # the spec's digest, as the compiled definition expects it
    error: dict[str, Any] | None = None
    check: dict[str, Any] | None = None  # for a stage's "explain": what its own state left
    block: str | None = None
    results: list[Any] | None = None
    sheet: str | None = None  # s3:// URI of the run's sheet (array strategy)
    plan: dict[str, Any] | None = None  # for "collect": the stage's PlanResponse
    stages: list[str] | None = None  # for an array block's "summarize": its stages
    batch: Any = None  # for "collect": the Batch Task's result(s) or caught error(s)
    bucket: str | None = None  # for "sheet" and "summarize"
    items: bool | None = None  # for "sheet", map strategy: write the Map's items too
    written: dict[str, Any] | None = None  # for a map block's "summarize": ResultWriterDetails
    total: int | None = None  # for a map block's "summarize": the run's rows
    tolerated: float | int | None = None  # for a map block's "summarize": percent
    run_sheet: dict[str, Any] | None = None  # for a map block's "summarize": its SheetResponse

    @model_validator(mode="after")
    def _needs(self) -> CheckRequestModel:
        absent = [f for f in REQUIRED[self.action] if getattr(self, f) is None]
        if absent:
            raise ValueError(f"action {self.action!r} needs {', '.join(absent)}")
        if self.action in NEED_SPEC and self.job is None and (
                self.job_definition is None or self.spec is None):
            raise ValueError(f"action {self.action!r} needs job, or job_definition and spec")
        if self.action == "summarize" and self.results is None and self.written is None and (
                self.stages is None or self.sheet is None):
            raise ValueError("action 'summarize' needs results (a Map block), stages and "
                             "sheet (an array block) or written (a map block)")
        if self.action in ("pre", "post") and not isinstance(self.sample, dict | None):
            raise ValueError(f"sample is {json.dumps(self.sample, default=str)[:60]}, not a "
                             "row object like {\"sample_id\": \"S1\"}")
        return self

    def typed(self) -> contracts.CheckRequest:
        """The request as the runtime's typed value (absent optional fields left out)."""
        fields = {k: v for k, v in self.model_dump().items() if v is not None}
        return cast(contracts.CheckRequest, fields)


@env_cached()
def _s3() -> S3Client:
    return boto3.client("s3", config=s3util.client_config())


@env_cached()
def _batch() -> BatchClient:
    return boto3.client("batch")


def _job_queue() -> str:
    return os.environ.get(contracts.JOB_QUEUE_ENV, "")


@env_cached("TABLE_NAME")
def _table() -> Table | None:
    name = os.environ.get("TABLE_NAME", "")
    return boto3.resource("dynamodb").Table(name) if name else None


def parse_request(event: Any) -> CheckRequestModel:
    """The event as a checked request; raises BadCheckRequest naming every problem (up to 5)."""
    if not isinstance(event, dict):
        raise BadCheckRequest(f"a CheckRequest must be a JSON object, got {type(event).__name__}")
    try:
        return CheckRequestModel.model_validate(event)
    except ValidationError as exc:
        stage = event.get("stage")
        where = f"stage {stage}: " if isinstance(stage, str) and stage else ""
        problems = "; ".join(_problem(e) for e in exc.errors()[:5])
        raise BadCheckRequest(where + problems) from None


def checked_spec(request: contracts.CheckRequest) -> contracts.CheckRequest:
    """A request whose spec was read from its job definition, the spec checked as an inline
    one is (the job definition's parameter is text anyone with Batch access can register)."""
    try:
        JobSpecModel.model_validate(request.get("job"))
    except ValidationError as exc:
        problems = "; ".join(_problem(e).replace("CheckRequest", "job definition spec", 1)
                             for e in exc.errors()[:5])
        raise BadCheckRequest(f"stage {request.get('stage')}: {problems}") from None
    return request


def _problem(error: ErrorDetails) -> str:
    field = ".".join(["CheckRequest", *(str(p) for p in error["loc"])])
    message = error["msg"].removeprefix("Value error, ")
    return f"{field}: {message}"


def name_the_stage(exc: Exception, event: Any) -> None:
    """Begin the error's message with "stage <name>: " (unless it names one already): the
    state machine's shared explain state reads the stage of a failed check from it
    (orchestrator_runtime.explain)."""
    stage = event.get("stage") if isinstance(event, dict) else None
    if not isinstance(stage, str) or not stage:
        return
    message = str(exc)
    if not message.startswith("stage "):
        exc.args = (f"stage {stage}: {message}",)


def _sample_label(request: contracts.CheckRequest) -> str:
    try:
        return contracts.sample_label(sample_id_of(request))
    except BadCheckRequest:
        return "?"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = parse_request(event)
        typed = request.typed()
        logger.append_keys(execution=request.execution, workflow=request.workflow,
                           stage=request.stage, sample=_sample_label(typed),
                           action=request.action)
        metrics.add_dimension("workflow", request.workflow or "unknown")
        if request.action in NEED_SPEC and request.job is None:
            typed = checked_spec(specs.with_spec(typed, _batch()))
        response = actions.handle(typed, s3=_s3(), table=_table(),
                                  batch=_batch() if request.action == "collect" else None,
                                  job_queue=_job_queue())
    except Exception as exc:
        metrics.add_metric(f"Check{type(exc).__name__}", MetricUnit.Count, 1)
        logger.warning("check failed", extra={"error": type(exc).__name__, "reason": str(exc)})
        name_the_stage(exc, event)
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
