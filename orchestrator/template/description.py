"""The stack, described once: job definitions, functions, rules, tables, state machines.

The SAM renderer (build.py and its parts), the local engine (local/resources.py) and the AWS
helpers (aws/stack.py) all read this description, so what runs locally is what `sam deploy`
creates. Values that exist only once the stack does (ARNs, the bucket parameter) are
:data:`Reference` objects; each reader resolves them its own way (CloudFormation intrinsics,
ARNs of the embedded engine, a deployed stack's resources) with :func:`fill`. Pure: no
boto3, no environment, no files.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from orchestrator import jobspec, model
from orchestrator.template import access
from orchestrator.template.cfn import TemplateError
from orchestrator.template.ids import (
    BATCH_RULE,
    EXECUTION_RULE,
    FUNCTION_DLQ,
    JOB_EVENTS_DLQ,
    JOB_EVENTS_QUEUE,
    TABLE,
    UPLOAD_RULE,
    function_id,
    job_definition_id,
    machine_id,
)
from orchestrator_runtime import contracts as c

Json = Any  # a JSON value whose leaves may be References
FUNCTIONS = ("check_outputs", "job_events", "s3_trigger")
TIMEOUTS = {"check_outputs": 120, "job_events": 30, "s3_trigger": 60}


# References: values known once the stack exists ------------------------------------------

@dataclass(frozen=True)
class JobQueueArn:
    """The queue jobs are submitted to (the stack's own, or an existing one it is given)."""


@dataclass(frozen=True)
class BucketName:
    """The data bucket's name (a template parameter)."""


@dataclass(frozen=True)
class FunctionArn:
    logical_id: str


@dataclass(frozen=True)
class JobDefinitionArn:
    logical_id: str


@dataclass(frozen=True)
class StateMachineArn:
    logical_id: str


Reference = JobQueueArn | BucketName | FunctionArn | JobDefinitionArn | StateMachineArn
REFERENCES = (JobQueueArn, BucketName, FunctionArn, JobDefinitionArn, StateMachineArn)


def resolve_references(value: Json, resolve: Callable[[Reference], Any]) -> Any:
    """A copy of ``value`` with every Reference replaced by ``resolve(reference)``."""
    if isinstance(value, REFERENCES):
        return resolve(value)
    if isinstance(value, dict):
        return {k: resolve_references(v, resolve) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_references(v, resolve) for v in value]
    return value


# The parts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobDefinition:
    """What every platform registers for one job; roles, logging and Fargate settings are
    the renderer's."""

    logical_id: str
    name: str  # JobDefinitionName: the same on AWS and locally
    workflow: str
    job: str
    image: str
    command: tuple[str, ...]
    resource_requirements: tuple[Mapping[str, str], ...]
    retry_strategy: Mapping[str, Any]
    timeout_seconds: int
    environment: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str], ...]  # the stage spec (contracts.SPEC_PARAMETER)

    def retry(self) -> dict[str, Any]:
        """The RetryStrategy, as a new value (readers convert it in place)."""
        return copy.deepcopy(dict(self.retry_strategy))

    def requirements(self) -> list[dict[str, str]]:
        return [dict(r) for r in self.resource_requirements]

    def register_parameters(self) -> dict[str, Any]:
        """RegisterJobDefinition parameters in CloudFormation's (PascalCase) spelling."""
        return {
            "JobDefinitionName": self.name,
            "Type": "container",
            "ContainerProperties": {
                "Image": self.image,
                "Command": list(self.command),
                "ResourceRequirements": self.requirements(),
                "Environment": [{"Name": k, "Value": v} for k, v in self.environment],
            },
            "RetryStrategy": self.retry(),
            "Timeout": {"AttemptDurationSeconds": self.timeout_seconds},
            "Parameters": dict(self.parameters),
            "PropagateTags": True,
            "Tags": dict(self.tags),
        }


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # its code is lambdas/<name>/
    timeout_seconds: int
    queue: str | None  # logical id of the SQS queue it consumes, if any


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule; its events reach ``function``, through ``target`` (the function
    itself or the queue it consumes)."""

    logical_id: str
    description: str
    pattern: Mapping[str, Json]
    target: str
    dead_letter: str
    function: str


@dataclass(frozen=True)
class Table:
    logical_id: str
    partition_key: str
    sort_key: str
    ttl_attribute: str


@dataclass(frozen=True)
class StateMachine:
    logical_id: str
    name: str  # the local engine's name for it; on AWS, CloudFormation names it (no Name)
    workflow: str
    definition_uri: str
    substitutions: Mapping[str, Reference]  # ``${Key}`` of the definition -> its value


@dataclass(frozen=True)
class StackDescription:
    bucket: str
    job_definitions: tuple[JobDefinition, ...]
    functions: tuple[Function, ...]
    rules: tuple[Rule, ...]
    tables: tuple[Table, ...]
    state_machines: tuple[StateMachine, ...]

    def state_machine(self, workflow: str) -> StateMachine:
        found = [m for m in self.state_machines if m.workflow == workflow]
        if not found:
            raise KeyError(f"the stack has no state machine for workflow {workflow!r}")
        return found[0]

    def function(self, logical_id: str) -> Function:
        return _one(self.functions, logical_id)

    def rule(self, logical_id: str) -> Rule:
        return _one(self.rules, logical_id)

    def job_definitions_of(self, workflow: str) -> tuple[JobDefinition, ...]:
        return tuple(d for d in self.job_definitions if d.workflow == workflow)


_Part = TypeVar("_Part", "Function", "Rule")


def _one(parts: tuple[_Part, ...], logical_id: str) -> _Part:
    for part in parts:
        if part.logical_id == logical_id:
            return part
    raise KeyError(f"the stack has no {logical_id}")


# Building it -----------------------------------------------------------------------------

def job_definition_name(wf: model.Workflow, job: model.Job) -> str:
    return str(c.job_name(wf.name, job.name, None))


def spec_digest(wf: model.Workflow, job: model.Job) -> str:
    """Digest of what the runner executes (command, paths, environment...), which the
    container properties do not show: a change makes a new job-definition revision, so each
    revision names one version of the job (and the compiled definition names it too)."""
    return jobspec.spec_digest(wf, job)


def job_definition(wf: model.Workflow, job: model.Job) -> JobDefinition:
    return JobDefinition(
        logical_id=job_definition_id(wf, job),
        name=job_definition_name(wf, job),
        workflow=wf.name,
        job=job.name,
        image=job.image,
        command=tuple(jobspec.container_command()),
        resource_requirements=tuple(jobspec.resource_requirements(job)),
        retry_strategy=jobspec.retry_strategy(job),
        timeout_seconds=job.timeout_seconds,
        environment=tuple(sorted({**job.environment, **jobspec.retry_environment(job)}.items())),
        tags=((c.TAG_WORKFLOW, wf.name), (c.TAG_STAGE, job.name),
              (c.TAG_SPEC, spec_digest(wf, job))),
        parameters=tuple(jobspec.spec_parameters(wf, job).items()),
    )


def substitution_keys(definition: Any) -> list[str]:
    """Every ``${Name}`` in the definition's strings (keys included), sorted."""
    found: set[str] = set()
    stack = [definition]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            found.update(c.substitution_keys(item))
    return sorted(found)


def substitutions(wf: model.Workflow, definition: Any) -> dict[str, Reference]:
    """The value of each placeholder of ``definition``; unknown ones are an error."""
    known: dict[str, Reference] = {
        c.SUB_CHECK_FUNCTION: FunctionArn(function_id("check_outputs")),
        c.SUB_JOB_QUEUE: JobQueueArn(),
    }
    for job in wf.jobs:
        known[c.substitution_key("JobDefinition", job.name)] = JobDefinitionArn(
            job_definition_id(wf, job))
    found = substitution_keys(definition)
    unknown = [p for p in found if p not in known]
    if unknown:
        names = ", ".join(c.substitution(p) for p in unknown)
        raise TemplateError(
            f"{machine_id(wf)}: the definition of workflow {wf.name!r} uses {names}, which the "
            f"template cannot fill; known placeholders are "
            + ", ".join(c.substitution(k) for k in sorted(known))
            + ". Recompile the workflow with this version of orchestrator.")
    return {p: known[p] for p in found}


def definition_uri(wf: model.Workflow) -> str:
    return f"state_machines/{wf.name}.asl.json"


def functions() -> tuple[Function, ...]:
    queues = {"job_events": JOB_EVENTS_QUEUE}
    return tuple(Function(function_id(fn), fn, TIMEOUTS[fn], queues.get(fn)) for fn in FUNCTIONS)


def upload_prefixes(wfs: Sequence[model.Workflow]) -> list[str]:
    """Key prefixes the upload rule matches: the fixed start of each trigger's keys."""
    found = set()
    for wf in wfs:
        base = access.workflow_location(wf, "").prefix
        for t in wf.triggers:
            rel = t.pattern.split("{", 1)[0] if t.kind == "key" else t.prefix.lstrip("/")
            found.add(base + rel)
    return sorted(found)


def rules(wfs: Sequence[model.Workflow]) -> tuple[Rule, ...]:
    job_events = function_id("job_events")
    out = [
        Rule(BATCH_RULE, "Batch job state changes of this stack's queue, buffered for job_events",
             c.BATCH_JOB_STATE_CHANGE.pattern({"jobQueue": [JobQueueArn()]}),
             JOB_EVENTS_QUEUE, JOB_EVENTS_DLQ, job_events),
        Rule(EXECUTION_RULE, "Status changes of this stack's state machines, for job_events",
             c.EXECUTION_STATUS_CHANGE.pattern(
                 {"stateMachineArn": [StateMachineArn(machine_id(wf)) for wf in wfs]}),
             job_events, FUNCTION_DLQ, job_events),
    ]
    triggered = [wf for wf in wfs if wf.triggers]
    if triggered:
        s3_trigger = function_id("s3_trigger")
        out.append(Rule(
            UPLOAD_RULE,
            "Uploads that start a run (see each workflow's on_upload / on_sample_sheet)",
            c.S3_OBJECT_CREATED.pattern({
                "bucket": {"name": [BucketName()]},
                "object": {"key": [{"prefix": p} for p in upload_prefixes(triggered)]}}),
            s3_trigger, FUNCTION_DLQ, s3_trigger))
    return tuple(out)


def describe(workflows: Sequence[model.Workflow],
             definitions: Mapping[str, Any]) -> StackDescription:
    """The stack serving ``workflows`` (sorted by name); ``definitions`` maps workflow name ->
    compiled ASL document. Raises TemplateError when the workflows cannot share a stack."""
    _check(workflows, definitions)
    wfs = sorted(workflows, key=lambda w: w.name)
    return StackDescription(
        bucket=wfs[0].bucket_name,
        job_definitions=tuple(job_definition(wf, j) for wf in wfs for j in wf.jobs),
        functions=functions(),
        rules=rules(wfs),
        tables=(Table(TABLE, c.TABLE_PK, c.TABLE_SK, c.TTL_ATTRIBUTE),),
        state_machines=tuple(
            StateMachine(machine_id(wf), wf.name, wf.name, definition_uri(wf),
                         substitutions(wf, definitions[wf.name])) for wf in wfs),
    )


def _check(wfs: Sequence[model.Workflow], definitions: Mapping[str, Any]) -> None:
    if not wfs:
        raise TemplateError("no workflows: give at least one workflow file")
    names = [wf.name for wf in wfs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TemplateError(f"workflow name(s) {', '.join(twice)} defined more than once; "
                            "each workflow names its state machine, so names must differ")
    missing = [n for n in names if n not in definitions]
    if missing:
        raise TemplateError(f"no compiled definition for workflow(s) {', '.join(missing)}")
    buckets = sorted({wf.bucket_name for wf in wfs})
    if len(buckets) > 1:
        which = ", ".join(f"{wf.name} ({wf.bucket_name})" for wf in wfs)
        raise TemplateError(f"the workflows use different buckets: {which}; one stack serves "
                            "one data bucket, so generate one template per bucket")
