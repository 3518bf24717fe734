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
from typing import Any, Final, Literal, NamedTuple, NotRequired, TypedDict

from orchestrator_runtime import limits

# 2: markers live in a folder per (stage, sample) and are named by what they vouch for.
CONTRACT_VERSION: Final = 2

# The job runner's console script: the container command of every Batch job the
# orchestrator submits (pyproject.toml installs it under this name).
RUNNER_COMMAND: Final = "orchestrator-runner"

# Execution input keys.
SAMPLES_KEY: Final = "samples"
PARAMS_KEY: Final = "params"
FORCE_KEY: Final = "force"  # stages to run even where their outputs are complete
ONLY_KEY: Final = "only"  # sample ids whose per-sample stages run (all when empty)

# Where a stage's own state keeps its answer in the state (with the stage's name at "stage"):
# the states its scope shares read it, and so do the explain action and `start --wait`.
CHECK_KEY: Final = "check"

# Environment variable through which a Batch job learns where its task document is.
TASK_ENV: Final = "ORCH_TASK_URI"

# The job's retry policy, which the job runner enforces (see orchestrator/jobspec.py
# retry_strategy): how many attempts the job's own command may make (retries + 1) and the
# exit-code patterns it is retried for (Batch's onExitCode globs, comma-separated). AWS Batch
# numbers each attempt in BATCH_ATTEMPT_ENV (1-based). When a retry is due, the runner exits
# RETRY_EXIT_CODE, which the job's retry strategy retries; any other exit ends the job
# (except on a Spot reclaim or an image-pull failure, which Batch retries itself).
ATTEMPTS_ENV: Final = "ORCH_ATTEMPTS"
RETRY_CODES_ENV: Final = "ORCH_RETRY_EXIT_CODES"
BATCH_ATTEMPT_ENV: Final = "AWS_BATCH_JOB_ATTEMPT"
# Not 0-125 (programs' own codes), 126-127 (the shell's), 128-192 (death by signal 1-64) nor
# 255 (exit(-1)): a command practically never ends with it by itself.
RETRY_EXIT_CODE: Final = 199


def exit_code_matches(pattern: str, code: int) -> bool:
    """Whether ``code`` matches a retry exit-code pattern as AWS Batch's ``onExitCode`` glob
    does: the decimal digits exactly, or a prefix followed by a final ``*``."""
    text = str(code)
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text == pattern


# Tags the compiler puts on every Batch job; job_events reads them back from events.
TAG_EXECUTION: Final = "orchestrator:execution"
TAG_WORKFLOW: Final = "orchestrator:workflow"
TAG_STAGE: Final = "orchestrator:stage"
TAG_SAMPLE: Final = "orchestrator:sample"
# On job definitions: a digest of the job's spec, so each revision names one version of it.
TAG_SPEC: Final = "orchestrator:spec"
# The job definition's parameter holding the stage's StageSpec (canonical JSON): the compiled
# definition names the job definition and the digest it expects, never the spec itself, so a
# stage costs the same few hundred bytes of definition whatever its command and paths.
SPEC_PARAMETER: Final = "orchestrator-spec"
# The check function's environment: the job queue the submissions it prepares go to.
JOB_QUEUE_ENV: Final = "ORCH_JOB_QUEUE"


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
TASKS: Final = "tasks"  # below META_PREFIX: each execution's own objects (see run_prefix)
ONCE: Final = "_once"  # sample label of a stage that runs once per execution

# Errors the Lambdas raise and the state machine catches, by name.
ERR_OUTPUTS_MISSING: Final = "StageOutputsMissing"
ERR_INPUTS_MISSING: Final = "StageInputsMissing"
ERR_S3_ACCESS: Final = "OutputCheckAccessError"
ERR_BAD_REQUEST: Final = "BadCheckRequest"

ERR_BAD_SHEET: Final = "BadSampleSheet"  # the run's sheet cannot start a run
ERR_SAMPLES_FAILED: Final = "SamplesFailed"
ERR_NO_SAMPLES: Final = "NoSamples"  # a workflow with wf.foreach started without samples
ERR_STAGE_FAILED: Final = "StageFailed"

Action = Literal["pre", "post", "explain", "summarize", "sheet", "plan", "collect"]


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


class StageSpec(TypedDict):
    """What a stage runs, stored once per job, in its job definition (SPEC_PARAMETER)."""

    job: JobSpec
    param_defaults: dict[str, str]  # the workflow's declared param defaults


def spec_digest(spec: StageSpec) -> str:
    """The TAG_SPEC value of a stage spec: the compiled definition names it, the check
    function refuses a job definition that holds another spec."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


class Submission(TypedDict):
    """A stage's SubmitJob parameters, in the Step Functions Batch integration's spelling:
    the check function prepares them, the compiled Batch task only points at them."""

    JobName: str
    JobQueue: str
    JobDefinition: str  # ARN of the revision whose spec the check function read
    ContainerOverrides: dict[str, Any]  # {"Environment": [{"Name": ..., "Value": ...}]}
    Tags: dict[str, str]  # TAG_WORKFLOW, TAG_STAGE, TAG_EXECUTION, TAG_SAMPLE


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
    force: list[str]  # stages the run must run again even where complete (--force)
    only: list[str]  # per-sample stages run only for these sample ids (--only); all if empty
    job: JobSpec  # given inline (plan --dry-run, tests), or read from job_definition
    job_definition: str  # ARN of the stage's job definition: its SPEC_PARAMETER is the spec
    spec: str  # spec_digest() of the spec the compiled definition was built with
    error: dict[str, str]  # for "explain": the caught {"Error", "Cause"}
    check: dict[str, Any]  # for a stage's "explain": its $.check (see compiler.scope)
    block: str  # for "summarize": the Map block's name
    results: list[dict[str, Any]]  # for "summarize": the Map's iteration outputs
    sheet: str  # array strategy: s3:// URI of the run's sheet (SheetResponse.sheet)
    plan: PlanResponse  # for "collect": what the stage's "plan" answered
    stages: list[str]  # for an array block's "summarize": the block's stages, in order
    batch: Any  # for "collect": the stage's Batch Task result(s) or caught error(s)
    bucket: str  # for "sheet" and "summarize": s3://bucket/prefix of the workflow
    items: bool  # for "sheet", map strategy: also write the rows as the Map's items (JSON)
    written: dict[str, Any]  # for a map block's "summarize": its ResultWriterDetails
    total: int  # for a map block's "summarize": the run's rows (SheetResponse.count)
    tolerated: float  # for a map block's "summarize": percent of samples that may fail
    run_sheet: SheetResponse  # for a map block's "summarize": the sheet its Map read ($.sheet)


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
    execution_tag: str  # the TAG_EXECUTION value of the job: execution_tag(execution ARN)
    submit: NotRequired[Submission]  # "pre": what the Batch task submits if not complete


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
    over: NotRequired[bool]  # map block: more failed than the tolerated share (fail the run)
    # map block: the sheet later steps read ($.sheet): the survivors' (survivors_prefix) when
    # samples failed within the tolerated share, else the sheet the Map read, unchanged
    sheet: NotRequired[SheetResponse]


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
    marker: str  # s3:// folder of the completion marker (ends with "/"): the runner writes
    #   marker_name(fingerprint, outputs_digest) into it LAST, then removes older markers there
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
    # What produced the outputs, so `orchestrator plan` can say which part changed (markers
    # written before these fields existed lack them): the task's fingerprint_basis and the
    # (normalised) ETags of the inputs read, by input name in the order of basis["inputs"].
    basis: NotRequired[dict[str, Any]]
    input_etags: NotRequired[dict[str, list[str]]]


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
    sheet_by_uri: bool  # kind "sheet", array strategy: pass {"sheet": uri}, not the rows


# Job-state table (DynamoDB) ----------------------------------------------------------------
# One item per job: pk=<execution ARN>, sk=job_sk(stage, sample); one per execution:
# pk=<execution ARN>, sk=EXECUTION_SK, with counters "n_<STATUS>" that stay exact. A child of
# an array job is the job of its sample (the manifest line it ran says which); the array job
# itself has one item, sk=array_sk(stage, offset), that no counter counts, so the counters
# still count samples.
TABLE_PK: Final = "pk"
TABLE_SK: Final = "sk"
EXECUTION_SK: Final = "#execution"
JOB_SK_PREFIX: Final = "job#"
ARRAY_SK_PREFIX: Final = "array#"
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
    return f"{JOB_SK_PREFIX}{stage}#{sample}"


def array_sk(stage: str, offset: int) -> str:
    """The item of the array job that runs a stage's manifest lines from ``offset`` on."""
    return f"{ARRAY_SK_PREFIX}{stage}#{offset}"


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


def marker_folder(bucket_prefix: str, workflow: str, stage: str, sample: str) -> str:
    """Where (stage, sample)'s marker lives: a folder, so one LIST of a stage's markers
    answers for every sample (the marker's name says what it vouches for)."""
    return f"{bucket_prefix.rstrip('/')}/{META_PREFIX}/markers/{workflow}/{stage}/{sample}/"


def outputs_digest(etags: Mapping[str, str]) -> str:
    """32 hex digits of the outputs' ETags by output name (ETags normalised)."""
    doc = {name: normalize_etag(etag) for name, etag in etags.items()}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:32]


_MARKER_NAME: Final = re.compile(r"([0-9a-f]{64})-([0-9a-f]{32})\.json")


def marker_name(fingerprint: str, digest: str) -> str:
    """A marker's file name: what produced the outputs, and the outputs it vouches for. A
    listing of the marker folder is enough to tell whether a stage is complete."""
    return f"{fingerprint}-{digest}.json"


def parse_marker_name(name: str) -> tuple[str, str] | None:
    """(fingerprint, outputs digest) of a marker file name; None for any other name."""
    m = _MARKER_NAME.fullmatch(name)
    return (m.group(1), m.group(2)) if m else None


def task_uri(bucket_prefix: str, execution_name: str, stage: str, sample: str) -> str:
    return f"{run_prefix(bucket_prefix, execution_name)}{stage}/{sample}.json"


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


# Batch tag values: letters, digits, spaces and + - = . _ : / @, at most TAG_VALUE_CHARS
# (Batch user guide, "Tag restrictions"; kept to ASCII here). Execution names allow more
# (Unicode, ! ' ( ) ...), so a tag is not always the execution ARN itself.
_TAG_BAD: Final = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")
_TASKS: Final = f"/{META_PREFIX}/tasks/"


def execution_tag(execution_arn: str) -> str:
    """The TAG_EXECUTION value of an execution's jobs: the ARN when it is a valid tag value;
    else the ARN with every other character replaced by ``_``, a space, and a digest of the
    ARN. No ARN holds a space, so a tag with one is of the second kind, and
    :func:`execution_from_tag` finds the ARN again from the execution's name."""
    if len(execution_arn) <= limits.TAG_VALUE_CHARS and not _TAG_BAD.search(execution_arn):
        return execution_arn
    digest = hashlib.sha256(execution_arn.encode()).hexdigest()[:16]
    head = _TAG_BAD.sub("_", execution_arn)[:limits.TAG_VALUE_CHARS - len(digest) - 1]
    return f"{head} {digest}"


def execution_from_tag(tag: str, execution_name: str) -> str | None:
    """The execution ARN whose :func:`execution_tag` is ``tag``, given the execution's name
    (which ``run_name`` reads from the job's task URI); None when they do not match."""
    if " " not in tag:
        return tag
    prefix = tag.rpartition(" ")[0].rpartition(":")[0]
    arn = f"{prefix}:{execution_name}"
    return arn if execution_name and execution_tag(arn) == tag else None


def run_name(uri: str) -> str:
    """The execution name of an object below :func:`run_prefix` (a task document, a
    manifest), "" for any other URI. Execution names hold no "/"."""
    before, found, after = uri.rpartition(_TASKS)
    return after.split("/", 1)[0] if found and before else ""


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


# Array stages (the "array" fan-out strategy) -----------------------------------------------
# Before a per-sample stage the check function's "plan" action evaluates every sample at
# once (LIST pages, not one request per sample) and writes, under plan_prefix(), the stage
# document (STAGE_DOC: the stage's "pre" CheckRequest without a row) and the manifest
# (MANIFEST: one ManifestLine per sample to run, each line padded with spaces to the same
# width and ended by a newline). A job runs manifest line ORCH_MANIFEST_OFFSET +
# AWS_BATCH_JOB_ARRAY_INDEX (0 when it is not an array child) and reads only that line: one
# ranged GET of manifest_range(line, width).
MANIFEST_ENV: Final = "ORCH_MANIFEST_URI"
MANIFEST_WIDTH_ENV: Final = "ORCH_MANIFEST_WIDTH"
MANIFEST_OFFSET_ENV: Final = "ORCH_MANIFEST_OFFSET"
ARRAY_INDEX_ENV: Final = "AWS_BATCH_JOB_ARRAY_INDEX"
STAGE_DOC: Final = "stage.json"
MANIFEST: Final = "manifest.jsonl"
MANIFEST_WIDTH_MAX: Final = 16 * 1024 * 1024  # bytes of one manifest line, at most
MANIFEST_LINES_MAX: Final = 10**9  # lines (samples) of one manifest, at most
FAILURES: Final = "_failures"  # below run_prefix: one document per stage that had failures
SHEET: Final = "sheet.jsonl"  # the run's sample sheet as the check function wrote it
SHEET_ITEMS: Final = "sheet.json"  # map strategy: the same rows as one JSON array
MAP_RESULTS: Final = "_results"  # below run_prefix: what each Distributed Map's children
#   ended with, as its ResultWriter writes it (<map run id>/manifest.json, SUCCEEDED_0.json,
#   FAILED_0.json, ...); no stage name starts with "_"
SURVIVORS: Final = "_survivors"  # below run_prefix: per map block whose failed samples were
#   tolerated, the samples that go on (SHEET and SHEET_ITEMS in survivors_prefix)


class ManifestLine(TypedDict):
    index: int  # the row's position in the sample sheet
    sample: str  # sample label (sample_label of the foreach column's value)
    row: dict[str, Any]  # the sheet row


class Chunk(TypedDict):
    offset: str  # first manifest line of one array job (a string: it becomes an env value)
    size: int  # its children
    overrides: NotRequired[dict[str, Any]]  # its ContainerOverrides (PlanResponse.chunks)


class SheetResponse(TypedDict):
    sheet: str  # s3:// URI of the run's sheet (JSON lines, one row object per line)
    count: int  # rows
    # Map strategy (request "items"): the Distributed Map's ItemReader reads the rows as one
    # JSON array (bucket and key of SHEET_ITEMS), and its ResultWriter writes below the key
    # prefix "results" (MAP_RESULTS under the run's folder).
    bucket: NotRequired[str]
    items: NotRequired[str]
    results: NotRequired[str]


class PlanResponse(TypedDict):
    count: int  # samples to run now: manifest lines
    total: int  # samples in the sheet
    complete: int  # samples whose outputs are complete (skipped)
    blocked: int  # samples left out because an earlier stage failed for them
    failed: int  # samples that cannot run (an input is missing): recorded as failed
    manifest: str  # s3:// URI of the manifest ("" when count is 0)
    width: str  # bytes per manifest line, as a string (an env value)
    job_name: str  # Batch job name of the stage's job(s)
    execution_tag: str  # the execution's ARN as a valid Batch tag value (execution_tag())
    chunks: list[Chunk]  # array jobs of at most BATCH_ARRAY_MAX children, near-equal sizes
    submit: NotRequired[Submission]  # the SubmitJob of the stage (first chunk's overrides)


class CollectResponse(TypedDict):
    ran: int  # samples the stage ran
    succeeded: int
    failed: int  # of those, samples without complete outputs afterwards
    cause: str  # one line naming the first failed samples, or ""


class Failures(TypedDict):
    """One stage's failures in one execution (failures_uri): why samples failed or were
    left out."""

    stage: str
    failed: dict[str, str]  # sample label -> cause (exit code, status reason, log stream)
    blocked: dict[str, str]  # sample label -> the stage that failed for it earlier


def run_prefix(bucket_prefix: str, execution_name: str) -> str:
    """The folder of one execution's own objects (task documents, manifests, the sheet)."""
    return f"{bucket_prefix.rstrip('/')}/{META_PREFIX}/{TASKS}/{execution_name}/"


def survivors_prefix(bucket_prefix: str, execution_name: str, block: str) -> str:
    """Where a map block writes the sheet of the samples that go on after it (its failed
    samples tolerated): the block's state name, with what is not a letter or digit as "-"."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", block).strip("-").lower() or "block"
    return f"{run_prefix(bucket_prefix, execution_name)}{SURVIVORS}/{slug}/"


ARRAY_PLAN: Final = "_array"  # below a stage's task folder; no sample label starts with "_"


def plan_prefix(bucket_prefix: str, execution_name: str, stage: str) -> str:
    """Where an array stage's plan (stage document, manifest, failures) is written."""
    return f"{run_prefix(bucket_prefix, execution_name)}{stage}/{ARRAY_PLAN}/"


def failures_folder(bucket_prefix: str, execution_name: str) -> str:
    """Where one execution's Failures documents are (no stage name starts with "_")."""
    return f"{run_prefix(bucket_prefix, execution_name)}{FAILURES}/"


def failures_uri(bucket_prefix: str, execution_name: str, stage: str) -> str:
    """The Failures document of ``stage`` in one execution."""
    return f"{failures_folder(bucket_prefix, execution_name)}{stage}.json"


def uploaded_sheet_uri(bucket_prefix: str, digest: str, suffix: str) -> str:
    """Where ``orchestrator start --samples FILE`` puts a local sheet: content-addressed, so
    the same sheet is uploaded once and a run's input names exactly the bytes it read."""
    return f"{bucket_prefix.rstrip('/')}/{META_PREFIX}/sheets/{digest}{suffix}"


SHEET_KEY: Final = "sheet"  # execution input: s3:// URI of the sample sheet (array strategy)


def sibling(uri: str, name: str) -> str:
    """``s3://b/p/manifest.jsonl`` + ``stage.json`` -> ``s3://b/p/stage.json``."""
    return uri.rpartition("/")[0] + "/" + name


def chunks(count: int, most: int = limits.BATCH_ARRAY_MAX) -> list[Chunk]:
    """``count`` manifest lines as the fewest array jobs of at most ``most`` children, in
    near-equal sizes (so none has fewer than two children when count >= 2)."""
    if count <= 0:
        return []
    n = -(-count // most)
    base, extra = divmod(count, n)
    out: list[Chunk] = []
    offset = 0
    for k in range(n):
        size = base + (1 if k < extra else 0)
        out.append(Chunk(offset=str(offset), size=size))
        offset += size
    return out


def encode_manifest(lines: list[ManifestLine]) -> tuple[bytes, int]:
    """The manifest's bytes and its line width (bytes per line, newline included)."""
    encoded = [canonical_json(line).encode() for line in lines]
    width = max((len(e) for e in encoded), default=0) + 1
    return b"".join(e.ljust(width - 1) + b"\n" for e in encoded), width


def manifest_range(line: int, width: int) -> str:
    """The HTTP Range header value that reads manifest line ``line`` (0-based)."""
    return f"bytes={line * width}-{(line + 1) * width - 1}"


def decode_manifest_line(raw: bytes) -> ManifestLine:
    """One manifest line (padding and newline allowed); raises ValueError when it is not
    a ManifestLine."""
    doc = json.loads(raw.decode())
    if (not isinstance(doc, dict) or not isinstance(doc.get("index"), int)
            or not isinstance(doc.get("sample"), str) or not isinstance(doc.get("row"), dict)):
        raise ValueError(f"not a manifest line: {raw[:60]!r}")
    return ManifestLine(index=doc["index"], sample=doc["sample"], row=doc["row"])
