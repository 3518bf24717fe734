"""The contract between the compiled state machine, the Lambdas and the job runner.

Standard library only: this module ships in the Lambda layer and in job images.

Flow of one stage for one sample (or once, for a stage without fan-out):

1. The state machine invokes the check-outputs function with a :data:`CheckRequest`
   (``action="pre"``). The function resolves the stage's paths for this sample, looks at the
   outputs and the completion marker, and answers with a :data:`CheckResponse`.
2. When ``complete`` is true the stage is skipped. Otherwise the function has written a
   :data:`RunnerTask` document to ``task_uri`` and the state machine submits the Batch job with
   ``ORCH_TASK_URI`` in its environment and ``job_name``/tags from the response.
3. The job runner (:data:`RUNNER_COMMAND`) reads the task, downloads inputs, runs the command,
   uploads outputs and writes the :data:`Marker` last.
4. The state machine invokes the function again (``action="post"``); it raises
   ``StageOutputsMissing`` unless every output exists and the marker matches.
5. On any failure the state machine asks ``action="explain"`` for a short, readable cause.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, NamedTuple, TypedDict

from orchestrator_runtime import limits

CONTRACT_VERSION: Final = 1

# The job runner's console script: the container command of every Batch job the
# orchestrator submits (pyproject.toml installs it under this name).
RUNNER_COMMAND: Final = "orchestrator-runner"

# Execution input keys.
SAMPLES_KEY: Final = "samples"
PARAMS_KEY: Final = "params"

# Environment variable through which a Batch job learns where its task document is.
TASK_ENV: Final = "ORCH_TASK_URI"

# Tags the compiler puts on every Batch job; job_events reads them back from events.
TAG_EXECUTION: Final = "orchestrator:execution"
TAG_WORKFLOW: Final = "orchestrator:workflow"
TAG_STAGE: Final = "orchestrator:stage"
TAG_SAMPLE: Final = "orchestrator:sample"
# On job definitions: a digest of the job's spec, so each revision names one version of it.
TAG_SPEC: Final = "orchestrator:spec"


class EventType(NamedTuple):
    """An EventBridge event by source and detail type (the AWS events the stack listens to)."""

    source: str
    detail_type: str

    def pattern(self, detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """An EventBridge rule pattern matching this event (and ``detail``, when given)."""
        out: dict[str, Any] = {"source": [self.source], "detail-type": [self.detail_type]}
        if detail is not None:
            out["detail"] = dict(detail)
        return out


BATCH_JOB_STATE_CHANGE: Final = EventType("aws.batch", "Batch Job State Change")
EXECUTION_STATUS_CHANGE: Final = EventType("aws.states", "Step Functions Execution Status Change")
S3_OBJECT_CREATED: Final = EventType("aws.s3", "Object Created")

# Where the orchestrator keeps its own objects, below the workflow's bucket prefix.
META_PREFIX: Final = "_orchestrator"
ONCE: Final = "_once"  # sample label of a stage that runs once per execution

# Errors the Lambdas raise and the state machine catches, by name.
ERR_OUTPUTS_MISSING: Final = "StageOutputsMissing"
ERR_INPUTS_MISSING: Final = "StageInputsMissing"
ERR_S3_ACCESS: Final = "OutputCheckAccessError"
ERR_BAD_REQUEST: Final = "BadCheckRequest"

ERR_SAMPLES_FAILED: Final = "SamplesFailed"
ERR_NO_SAMPLES: Final = "NoSamples"  # a workflow with wf.foreach started without samples
ERR_STAGE_FAILED: Final = "StageFailed"

Action = Literal["pre", "post", "explain", "summarize"]


class JobSpec(TypedDict):
    """The static part of a stage, embedded by the compiler in the state machine."""

    image: str
    command: list[str]  # templates: {sample_id}, {inputs.x}, {outputs.y}, {outputs.y.parent}
    environment: dict[str, str]  # values may hold placeholders too
    inputs: dict[str, str]  # name -> path template (relative to bucket prefix, or s3://)
    outputs: dict[str, str]  # name -> path template
    bucket: str  # s3://bucket/prefix of the workflow
    allow_empty: bool  # zero-byte outputs count as present
    shell: bool  # run command[0] through /bin/sh -c
    stdout: str | None  # name of the output that receives standard output


class CheckRequest(TypedDict, total=False):
    action: Action
    workflow: str
    stage: str
    execution: str  # $$.Execution.Id
    sample: dict[str, Any] | None  # the sample-sheet row; None for once-stages
    sample_column: str  # the foreach column: sample[sample_column] is the sample id
    samples: list[Any]  # every row as given: once-stages gather over them; summaries name
    #   a failed iteration's sample from its row
    params: dict[str, Any]  # run-level parameters from the execution input
    param_defaults: dict[str, str]  # declared defaults; params from the input override them
    job: JobSpec
    error: dict[str, str]  # for "explain": the caught {"Error", "Cause"}
    block: str  # for "summarize": the Map block's name
    results: list[dict[str, Any]]  # for "summarize": the Map's iteration outputs


class Counts(TypedDict):
    expected: int
    present: int
    missing: int
    stale: int


class CheckResponse(TypedDict):
    complete: bool
    status: Literal["complete", "missing", "stale"]
    reason: str  # one line a person can read
    counts: Counts
    missing: list[str]  # the first few missing URIs
    sample: str  # sample label (ONCE for once-stages)
    job_name: str  # valid AWS Batch job name
    task_uri: str  # s3:// of the RunnerTask document ("" when complete)


class ExplainResponse(TypedDict):
    error: str
    cause: str  # one paragraph: stage, sample, status reason, exit code, log stream


class IterationResult(TypedDict, total=False):
    """What one Map iteration ends with. The compiled Map writes ``index`` (of the row in the
    execution input's samples), ``status`` and, on failure, the caught ``error``
    (``{"Error", "Cause"}``): paths that exist for any row, so no row, however malformed,
    can raise States.Runtime (which no Catch catches) and end the other samples' work."""

    index: int
    sample: str
    status: Literal["SUCCEEDED", "FAILED"]
    stage: str  # the failed stage
    cause: str  # the explained cause
    error: dict[str, Any]  # the caught error


class SummaryResponse(TypedDict):
    total: int
    failed: int
    cause: str  # "2 of 50 samples failed: S3 (align: ...); S7 (...)" or ""


class RunnerTask(TypedDict):
    """What the job runner executes: everything resolved except local paths."""

    version: int
    workflow: str
    stage: str
    sample: str
    execution: str
    image: str
    command: list[str]  # templates, resolved by the runner against local paths
    environment: dict[str, str]
    shell: bool
    stdout: str | None
    values: dict[str, str]  # placeholder values: sample columns and params, as strings
    inputs: dict[str, list[str]]  # name -> s3:// URIs (a list: once-stages gather samples)
    outputs: dict[str, str]  # name -> s3:// URI
    allow_empty: bool
    marker: str  # s3:// URI of the completion marker, written last
    fingerprint_basis: dict[str, Any]  # see fingerprint(); input ETags are added by the runner


class MarkerOutput(TypedDict):
    uri: str
    etag: str
    size: int


class Marker(TypedDict):
    version: int
    fingerprint: str
    stage: str
    sample: str
    execution: str
    finished_at: str
    outputs: dict[str, MarkerOutput]


class TriggerConfig(TypedDict, total=False):
    """One S3 upload trigger; the s3_trigger function gets a list in its TRIGGERS variable."""

    workflow: str
    state_machine_arn: str
    kind: Literal["key", "sheet"]
    bucket: str  # s3://bucket/prefix of the workflow; pattern and prefix are relative to it
    pattern: str  # kind "key": key template under the prefix, e.g. "raw/{sample_id}.fastq.gz"
    prefix: str  # kind "sheet": key prefix (under the workflow prefix) where sheets land
    suffix: str  # kind "sheet": usually ".csv"
    sample_column: str  # the foreach column


# Job-state table (DynamoDB) ----------------------------------------------------------------
# One item per job: pk=<execution ARN>, sk=job_sk(stage, sample); one per execution:
# pk=<execution ARN>, sk=EXECUTION_SK, with counters "n_<STATUS>" that stay exact.
TABLE_PK: Final = "pk"
TABLE_SK: Final = "sk"
EXECUTION_SK: Final = "#execution"
TTL_ATTRIBUTE: Final = "expires_at"

# Batch statuses, plus SKIPPED written by the check function when outputs are complete.
STATUS_RANK: Final = {
    "SUBMITTED": 1, "PENDING": 2, "RUNNABLE": 3, "STARTING": 4, "RUNNING": 5,
    "SUCCEEDED": 6, "FAILED": 6, "SKIPPED": 6,
}
STAGE_FINAL: Final = frozenset({"SUCCEEDED", "FAILED", "SKIPPED"})  # a job row that will not change
# Step Functions execution statuses that end a run.
EXECUTION_FINAL: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def job_sk(stage: str, sample: str) -> str:
    return f"job#{stage}#{sample}"


# Placeholders ---------------------------------------------------------------------------

PLACEHOLDER_RE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
# A template read left to right: "{{" and "}}" are escapes for a literal brace (so shell,
# awk and ${HOME} can be written: "awk '{{print $1}}'", "${{HOME}}"), else a placeholder.
TEMPLATE_TOKEN_RE: Final = re.compile(r"\{\{|\}\}|" + PLACEHOLDER_RE.pattern)


def placeholders(template: str) -> list[str]:
    """Names used in a template, in order: ``"a/{x}/{inputs.y}"`` -> ``["x", "inputs.y"]``;
    escaped braces (``{{x}}``) are not placeholders."""
    return [m.group(1) for m in TEMPLATE_TOKEN_RE.finditer(template) if m.group(1)]


def fill_with(template: str, value: Callable[[str], str]) -> str:
    """Replace each placeholder by ``value(name)`` and each ``{{``/``}}`` by one brace."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return value(name) if name else m.group(0)[0]

    return TEMPLATE_TOKEN_RE.sub(sub, template)


def fill(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; a name without a value raises KeyError naming it."""

    def value(name: str) -> str:
        if name not in values:
            raise KeyError(name)
        return values[name]

    return fill_with(template, value)


# Paths ------------------------------------------------------------------------------------


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://b/k/ey`` -> ``("b", "k/ey")``; raises ValueError otherwise."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def resolve_path(bucket_prefix: str, path: str) -> str:
    """A declared path (relative to the workflow's bucket prefix, or absolute) as a URI.

    Raises ValueError when a relative path would leave the prefix (``..``) or is absolute
    on the local file system.
    """
    if path.startswith("s3://"):
        split_uri(path)
        return path
    if path.startswith("/") or path.startswith("\\"):
        raise ValueError(f"path {path!r} is absolute; use a path relative to the bucket prefix")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError(f"path {path!r} leaves the workflow's bucket prefix")
    base = bucket_prefix.rstrip("/")
    return f"{base}/{'/'.join(parts)}" + ("/" if path.endswith("/") else "")


def marker_uri(bucket_prefix: str, workflow: str, stage: str, sample: str) -> str:
    return f"{bucket_prefix.rstrip('/')}/{META_PREFIX}/markers/{workflow}/{stage}/{sample}.json"


def task_uri(bucket_prefix: str, execution_name: str, stage: str, sample: str) -> str:
    return (
        f"{bucket_prefix.rstrip('/')}/{META_PREFIX}/tasks/{execution_name}/{stage}/{sample}.json"
    )


# Names ------------------------------------------------------------------------------------

_LABEL_BAD: Final = re.compile(r"[^A-Za-z0-9_-]+")


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]


def sample_label(sample_id: str | None) -> str:
    """A sample id as a file-, tag- and name-safe label; distinct ids stay distinct."""
    if sample_id is None:
        return ONCE
    clean = _LABEL_BAD.sub("-", sample_id).strip("-_")[:40]
    if clean == sample_id and clean and clean[0].isalnum():
        return clean
    return f"{clean or 's'}-{_short_hash(sample_id)}"


def job_name(workflow: str, stage: str, sample: str | None) -> str:
    """A valid AWS Batch job name (1-128 of letters, digits, - and _; first alphanumeric)."""
    raw = "-".join(p for p in (workflow, stage, sample_label(sample) if sample else "") if p)
    name = _LABEL_BAD.sub("-", raw).lstrip("-_")
    if len(name) > limits.BATCH_NAME_CHARS:
        digest = _short_hash(raw)
        name = f"{name[:limits.BATCH_NAME_CHARS - len(digest) - 1]}-{digest}"
    return name or f"job-{_short_hash(raw)}"


def execution_name(*parts: str) -> str:
    """A deterministic Step Functions execution name (within limits.EXECUTION_NAME_CHARS,
    allowed characters only)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    head = _LABEL_BAD.sub("-", parts[0] if parts else "run").strip("-_")[:40] or "run"
    return f"{head}-{digest}"


def substitution_key(kind: Literal["JobDefinition"], name: str) -> str:
    """The DefinitionSubstitutions key for a per-job resource, e.g. JobDefinitionAlignReads."""
    return kind + "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)


# Well-known substitution keys (besides one JobDefinition<Stage> per job).
SUB_CHECK_FUNCTION: Final = "CheckOutputsFunctionArn"
SUB_JOB_QUEUE: Final = "JobQueueArn"

# A ``${Key}`` in a compiled definition, filled by DefinitionSubstitutions when deployed.
SUBSTITUTION_RE: Final = re.compile(r"\$\{([^}]*)\}")


def substitution(key: str) -> str:
    """The placeholder of ``key``: ``JobQueueArn`` -> ``${JobQueueArn}``."""
    return "${" + key + "}"


def substitution_keys(text: str) -> list[str]:
    """The keys of every ``${Key}`` in ``text``, in order (repeats included)."""
    return SUBSTITUTION_RE.findall(text)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Fill every ``${Key}`` of ``text`` as DefinitionSubstitutions does; a key without a
    value raises KeyError naming it."""
    return SUBSTITUTION_RE.sub(lambda m: values[m.group(1)], text)


# Fingerprints -----------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(basis: dict[str, Any], input_etags: dict[str, list[str]]) -> str:
    """What produced a stage's outputs: image, command, environment, values, input ETags.

    ``basis`` is the RunnerTask's ``fingerprint_basis``; ``input_etags`` maps each input name to
    the ETags of its objects in the order of ``RunnerTask.inputs``, each passed through
    :func:`normalize_etag`.
    """
    doc = {"basis": basis, "inputs": input_etags, "v": CONTRACT_VERSION}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def fingerprint_basis(
    image: str, command: list[str], environment: dict[str, str], values: dict[str, str],
    inputs: dict[str, list[str]], outputs: dict[str, str],
) -> dict[str, Any]:
    return {
        "image": image,
        "command": command,
        "environment": environment,
        "values": values,
        "inputs": inputs,
        "outputs": outputs,
    }


def normalize_etag(etag: str) -> str:
    return etag.strip('"')
