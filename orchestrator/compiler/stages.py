"""What the states of stages are made of: the check function's requests, retries, SubmitJob
parameters, and the names of Parallels (orchestrator.compiler.scope builds the states)."""

from __future__ import annotations

from typing import Any

from orchestrator import fanout, jobspec, model, names
from orchestrator.asl.states import Choice, ChoiceRule, Fail, Json, Retry, State, Task
from orchestrator_runtime import contracts as c

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"

# Transient service errors only: container failures are retried by Batch, not by ASL (each
# ASL retry is a billed transition and would resubmit the whole job).
LAMBDA_RETRY = Retry(
    errors=("Lambda.ServiceException", "Lambda.AWSLambdaException",
            "Lambda.SdkClientException", "Lambda.TooManyRequestsException"),
    interval_seconds=1, max_attempts=6, backoff_rate=2.0, max_delay_seconds=30, jitter=True,
)
# The names Step Functions raises for Batch API errors are "Batch." + the exception class of
# the (Java) SDK it calls: a modelled error keeps its class (ServerException, HTTP 500;
# ClientException, a bad request: not retried), every other error, throttling (HTTP 429
# TooManyRequestsException) included, arrives as the service's base class AWSBatchException.
# Sources: the naming rule "ServiceName.ExceptionName" in the Step Functions developer guide
# (supported-services-awssdk.html, "errors ... with the Exception suffix"); a SubmitJob 429
# reported as com.amazonaws.services.batch.model.AWSBatchException "Too Many Requests ...
# Error Code: TooManyRequestsException" (nextflow-io/nextflow#710); Metaflow retries exactly
# Batch.AWSBatchException for SubmitJob throttling in its Step Functions compiler.
# "Batch.TooManyRequestsException" is never raised (no such SDK class) and is not listed.
BATCH_RETRY = Retry(
    errors=("Batch.AWSBatchException", "Batch.ServerException"),
    interval_seconds=5, max_attempts=8, backoff_rate=2.0, max_delay_seconds=120, jitter=True,
)

def check_payload(wf: model.Workflow, job: model.Job, action: c.Action,
                  submitted: str | None = None) -> Json:
    """The check function's request for ``job``: names and JSONPaths only. The job's spec
    is not in it (see :func:`spec_fields`), so every stage costs the same few hundred bytes
    of definition. ``submitted`` is the path of the Submission the stage's "pre" or "plan"
    answered (for "post" and "collect": the job definition it named)."""
    payload: dict[str, Any] = {
        "action": action,
        "workflow": wf.name,
        "stage": job.name,
        "execution.$": "$$.Execution.Id",
    }
    payload |= _sample_fields(wf, job)
    if not job.per_sample:
        payload |= rows_field(wf)
    payload["params.$"] = "$.params"
    if action in ("pre", "plan"):
        payload["force.$"] = f"$.{c.FORCE_KEY}"
        payload["only.$"] = f"$.{c.ONLY_KEY}"
    return payload | spec_fields(wf, job, submitted)


def spec_fields(wf: model.Workflow, job: model.Job, submitted: str | None = None) -> Json:
    """Where the check function reads the stage's spec: the job definition (one revision,
    filled in at deploy), and the digest of the spec this definition was compiled with, so a
    job definition from another deployment fails the stage with a sentence, never runs."""
    where: Json = ({"job_definition.$": f"{submitted}.JobDefinition"} if submitted else
                   {"job_definition": c.substitution(c.substitution_key("JobDefinition",
                                                                        job.name))})
    return where | {"spec": jobspec.spec_digest(wf, job)}


def rows_field(wf: model.Workflow) -> Json:
    """Where a step finds the run's rows: the input's samples (inline), or the run's sheet in
    S3 (array: no per-sample list travels through the state machine)."""
    if fanout.reads_sheet(wf):
        return {"sheet.$": SHEET_URI}
    return {"samples.$": f"$.{c.SAMPLES_KEY}"}


SHEET_URI = "$.sheet.sheet"  # array strategy: the run's sheet, as the "sheet" action wrote it


def _sample_fields(wf: model.Workflow, job: model.Job) -> Json:
    fields: Json = {"sample.$": "$.sample"} if job.per_sample else {"sample": None}
    if wf.foreach is not None:
        fields["sample_column"] = wf.foreach.column
    return fields


def invoke(payload: Json) -> Json:
    return {"FunctionName": c.substitution(c.SUB_CHECK_FUNCTION), "Payload": payload}


def where(job: model.Job) -> str:
    return f"{job.source.file.rsplit('/', 1)[-1]}:{job.source.line}"


def submit_parameters(submit: str, overrides: str | None = None) -> Json:
    """SubmitJob parameters that point at the Submission the check function prepared at
    ``submit`` (job name, queue, job definition, the runner's environment, tags); the job
    definition holds the rest (command, resources, retry strategy, timeout). ``overrides``
    is another path for the ContainerOverrides (an array chunk's)."""
    return {
        "JobName.$": f"{submit}.JobName",
        "JobQueue.$": f"{submit}.JobQueue",
        "JobDefinition.$": f"{submit}.JobDefinition",
        "ContainerOverrides.$": overrides or f"{submit}.ContainerOverrides",
        "Tags.$": f"{submit}.Tags",
        "PropagateTags": True,
    }


def block_verdict(n: names.Block, payload: Json, next_: str) -> list[State]:
    """After a block: the check function summarizes its samples (``payload``), and the run
    fails with that summary when any sample failed, before anything gathers over them."""
    summary = Task(
        n.summarize,
        resource=LAMBDA_INVOKE,
        parameters=invoke({"action": "summarize", **payload}),
        result_selector={"total.$": "$.Payload.total", "failed.$": "$.Payload.failed",
                         "cause.$": "$.Payload.cause"},
        result_path="$.block_results",
        retry=(LAMBDA_RETRY,),
        next=n.any_failed,
    )
    choice = Choice(n.any_failed, rules=(
        ChoiceRule("$.block_results.failed", "NumericGreaterThan", 0, n.fail),), default=next_)
    failure = Fail(n.fail, error=c.ERR_SAMPLES_FAILED, cause_path="$.block_results.cause")
    return [summary, choice, failure]
