"""The states of one stage: check outputs, skip or run the Batch job, verify, explain failure."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from orchestrator import fanout, jobspec, model, names
from orchestrator.asl.states import Catch, Choice, ChoiceRule, Fail, Json, Retry, State, Task
from orchestrator.compiler import dag
from orchestrator_runtime import contracts as c

N = TypeVar("N", bound=Hashable)
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

def check_payload(wf: model.Workflow, job: model.Job, action: c.Action) -> Json:
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
    payload["param_defaults"] = {p.name: p.default for p in wf.params if p.default is not None}
    payload["job"] = jobspec.job_spec(wf, job)
    return payload


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


def stage_states(wf: model.Workflow, job: model.Job, next_: str) -> list[State]:
    """States of ``job`` in order; the stage continues to ``next_`` when done or skipped."""
    n = names.stage(job.name)
    to_explain = (Catch(next=n.explain, result_path="$.error"),)
    check = Task(
        n.check,
        resource=LAMBDA_INVOKE,
        parameters=invoke(check_payload(wf, job, "pre")),
        result_selector={
            "complete.$": "$.Payload.complete",
            "reason.$": "$.Payload.reason",
            "sample.$": "$.Payload.sample",
            "job_name.$": "$.Payload.job_name",
            "task_uri.$": "$.Payload.task_uri",
            "execution_tag.$": "$.Payload.execution_tag",
        },
        result_path="$.check",
        retry=(LAMBDA_RETRY,),
        catch=to_explain,
        next=n.skip,
        comment=f"Are the outputs of {job.name} complete and current? ({where(job)})",
    )
    skip = Choice(
        n.skip,
        rules=(ChoiceRule("$.check.complete", "BooleanEquals", True, next_),),
        default=n.run,
    )
    run = Task(
        n.run,
        resource=BATCH_SUBMIT_SYNC,
        parameters=_submit_parameters(wf, job),
        result_selector={"JobId.$": "$.JobId", "Status.$": "$.Status"},
        result_path="$.job",
        retry=(BATCH_RETRY,),
        catch=to_explain,
        next=n.verify,
    )
    verify = Task(
        n.verify,
        resource=LAMBDA_INVOKE,
        parameters=invoke(check_payload(wf, job, "post")),
        result_path=None,
        retry=(LAMBDA_RETRY,),
        catch=to_explain,
        next=next_,
        comment="Batch exit code 0 is not proof: the outputs and the marker must exist",
    )
    explain_state, fail = failure_states(wf, job, n.explain, n.failed)
    return [check, skip, run, verify, explain_state, fail]


def failure_states(wf: model.Workflow, job: model.Job, explain_name: str, failed_name: str,
                   *, sample: bool = True) -> tuple[Task, Fail]:
    """Explain the caught error at ``$.error`` in one line, then fail the run with it."""
    fields = _sample_fields(wf, job)
    if not sample:
        fields.pop("sample.$", None)
    explain_payload: Json = {
        "action": "explain",
        "workflow": wf.name,
        "stage": job.name,
        "execution.$": "$$.Execution.Id",
        **fields,
        "error.$": "$.error",
    }
    explain_state = Task(
        explain_name,
        resource=LAMBDA_INVOKE,
        parameters=invoke(explain_payload),
        result_selector={"Error.$": "$.Payload.error", "Cause.$": "$.Payload.cause"},
        result_path="$.failure",
        retry=(LAMBDA_RETRY,),
        catch=(Catch(next=failed_name, result_path="$.failure"),),
        next=failed_name,
    )
    return explain_state, Fail(failed_name, error=c.ERR_STAGE_FAILED,
                               cause_path="$.failure.Cause")


def where(job: model.Job) -> str:
    return f"{job.source.file.rsplit('/', 1)[-1]}:{job.source.line}"


def _submit_parameters(wf: model.Workflow, job: model.Job) -> Json:
    return submit_parameters(wf, job, [{"Name": c.TASK_ENV, "Value.$": "$.check.task_uri"}],
                             "$.check.job_name", {
                                 f"{c.TAG_EXECUTION}.$": "$.check.execution_tag",
                                 f"{c.TAG_SAMPLE}.$": "$.check.sample"})


def submit_parameters(wf: model.Workflow, job: model.Job, task_env: list[Json], job_name: str,
                      tags: Json) -> Json:
    """SubmitJob parameters of ``job``: ``task_env`` tells the runner what to run,
    ``job_name`` is the path of the job's name in the state, ``tags`` the execution's and
    sample's tags (valid tag values: see contracts.execution_tag)."""
    env = task_env + [{"Name": k, "Value": v}
                      for k, v in sorted(jobspec.retry_environment(job).items())]
    env += [{"Name": k, "Value": v} for k, v in sorted(job.environment.items())]
    return {
        "JobName.$": job_name,
        "JobQueue": c.substitution(c.SUB_JOB_QUEUE),
        "JobDefinition": c.substitution(c.substitution_key("JobDefinition", job.name)),
        "ContainerOverrides": {
            "Command": jobspec.container_command(),
            "Environment": env,
            "ResourceRequirements": jobspec.resource_requirements(job),
        },
        "RetryStrategy": jobspec.retry_strategy(job),
        "Timeout": {"AttemptDurationSeconds": job.timeout_seconds},
        "Tags": {
            c.TAG_WORKFLOW: wf.name,
            c.TAG_STAGE: job.name,
            **tags,
        },
        "PropagateTags": True,
    }


def branch_name(p: dag.Plan[N], label: Callable[[N], str]) -> str:
    """What a Parallel branch is named after: what it starts with. Its first job would not
    do: a branch that starts with a Parallel shares that job with the Parallel's first
    branch."""
    first = p.items[0] if isinstance(p, dag.Seq) else p
    if isinstance(first, dag.Par):
        return parallel_name(first, label)
    return label(dag.leaves(first)[0])


def parallel_name(p: dag.Par[N], label: Callable[[N], str]) -> str:
    return names.parallel([label(dag.leaves(b)[0]) for b in p.branches])


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
