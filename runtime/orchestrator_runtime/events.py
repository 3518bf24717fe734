"""Batch and Step Functions EventBridge events, read defensively into small records.

The ``detail`` of "Batch Job State Change" mirrors DescribeJobs (jobId, status, createdAt,
attempts[] with container.exitCode/logStreamName, epoch-millisecond times, tags); the
``detail`` of "Step Functions Execution Status Change" mirrors DescribeExecution (ARNs,
status, startDate/stopDate, redriveCount/redriveDate after a RedriveExecution).

Parsing is total: every value that reaches a row is typed and bounded here, at the boundary
(times inside :data:`EARLIEST_MS`..:data:`LATEST_MS`, exit codes in int32, identifiers as
non-empty Unicode text no longer than AWS allows, keys within DynamoDB's key sizes), so any
malformed event raises :class:`MalformedEvent` naming the field, and nothing else. Fields
this module does not read are never looked at. Jobs without our tags belong to other stacks
and parse to None.

Array stages: a job whose container environment names a manifest
(``ORCH_MANIFEST_URI``/``_WIDTH``/``_OFFSET``) runs a manifest line, so its row is the
sample of that line, which only the manifest knows: such an event parses to a JobEvent with
a :class:`ManifestRef` and is completed by :func:`orchestrator_runtime.jobstate.resolve`
(one ranged read of the line; workflow, stage and execution come from the tags, or from the
stage document when the job has none). A child of an array job has
``arrayProperties.index`` and runs line offset + index; the array job itself (the parent:
``arrayProperties.size``) is recorded apart, never as a sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator_runtime import contracts, limits

EXECUTION_RANK = {"PENDING_REDRIVE": 0, "RUNNING": 1, **dict.fromkeys(contracts.EXECUTION_FINAL, 2)}
CAUSE_LIMIT = 1000  # free text (status reasons, causes) is cut to this many characters

# Plausible event times: epoch milliseconds from 2000-01-01 up to 2100-01-01 (UTC).
EARLIEST_MS = 946_684_800_000
LATEST_MS = 4_102_444_800_000
INT32 = (-(2**31), 2**31 - 1)  # a container's exit code
MAX_ATTEMPTS = limits.BATCH_ATTEMPTS_MAX
MAX_REDRIVES = 99_999  # far above what 25,000 history events allow
TAG_LIMIT = limits.TAG_VALUE_CHARS
NAME_LIMIT = limits.BATCH_NAME_CHARS  # also bounds EventBridge event ids and error names
LOG_STREAM_LIMIT = limits.LOG_STREAM_NAME_CHARS
ARN_LIMIT = limits.ARN_CHARS
PK_BYTES = limits.DYNAMODB_PARTITION_KEY_BYTES
SK_BYTES = limits.DYNAMODB_SORT_KEY_BYTES


_MANIFEST_NAMES = (contracts.MANIFEST_ENV, contracts.MANIFEST_WIDTH_ENV,
                   contracts.MANIFEST_OFFSET_ENV)


class MalformedEvent(ValueError):
    """The event cannot be understood; the message names the field."""


@dataclass(frozen=True)
class JobAttempt:
    """One attempt of a job as Batch lists it in ``attempts[]`` (AttemptDetail: startedAt,
    stoppedAt, statusReason, container.exitCode/logStreamName/reason)."""

    started_ms: int | None
    stopped_ms: int | None
    exit_code: int | None
    status_reason: str
    log_stream: str
    container_reason: str


@dataclass(frozen=True)
class ManifestRef:
    """The manifest line a job runs (or, for an array parent, the first of its lines)."""

    uri: str  # s3:// of the manifest
    width: int
    offset: int
    index: int | None = None  # an array child's index

    @property
    def line(self) -> int:
        return self.offset + (self.index or 0)


@dataclass(frozen=True)
class JobEvent:
    execution: str
    workflow: str
    stage: str
    sample: str
    job_id: str
    job_name: str
    status: str
    status_reason: str
    attempts: int
    time: datetime
    event_id: str
    created_ms: int  # when the job was submitted: a later job for the same row supersedes
    exit_code: int | None = None
    log_stream: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None
    attempt_history: tuple[JobAttempt, ...] = ()  # every attempt Batch lists, oldest first
    manifest: ManifestRef | None = None  # set: the sample (and maybe more) is in the manifest
    array_size: int | None = None  # set: the parent of an array job (recorded apart)

    @property
    def created_at(self) -> str | None:
        return None if self.status == "SKIPPED" else millis_iso(self.created_ms)

    @property
    def started_at(self) -> str | None:
        return None if self.started_ms is None else millis_iso(self.started_ms)

    @property
    def stopped_at(self) -> str | None:
        return None if self.stopped_ms is None else millis_iso(self.stopped_ms)

    @property
    def duration_seconds(self) -> float | None:
        if self.status not in contracts.STAGE_FINAL or None in (self.started_ms, self.stopped_ms):
            return None
        return max(0, (self.stopped_ms or 0) - (self.started_ms or 0)) / 1000


@dataclass(frozen=True)
class ExecutionEvent:
    execution: str
    state_machine: str  # the state machine's name
    name: str
    status: str
    time: datetime
    start_date: str | None
    stop_date: str | None
    error: str | None
    cause: str | None
    redrive_count: int = 0  # a redriven execution keeps its ARN; this tells its runs apart
    redrive_date: str | None = None


def millis_iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _unicode(value: str, where: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEvent(f"{where} is not Unicode text (it holds a lone surrogate "
                             "escape)") from None
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True,
          limit: int = NAME_LIMIT) -> str:
    """A string member: non-empty when required ("" when absent and optional)."""
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedEvent(f"{where}.{key} must be a non-empty string, got {_show(value)}")
    if len(value) > limit:
        raise MalformedEvent(f"{where}.{key} is {len(value)} characters long; at most "
                             f"{limit} are expected")
    return _unicode(value, f"{where}.{key}")


def _free_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    """Optional prose (a reason, a cause): a string or nothing, cut to CAUSE_LIMIT."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEvent(f"{where}.{key} must be a string, got {_show(value)}")
    return _unicode(value[:CAUSE_LIMIT], f"{where}.{key}")


def _integer(obj: Mapping[str, Any], key: str, where: str, low: int, high: int,
             what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedEvent(f"{where}.{key} must be {what}, got {_show(value)}")
    return value


def _millis(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    return _integer(obj, key, where, EARLIEST_MS, LATEST_MS - 1,
                    "epoch milliseconds between 2000 and 2100")


def _object(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise MalformedEvent(f"{where}.{key} must be an object, got {_show(value)}")
    return value


def event_time(event: Mapping[str, Any]) -> datetime:
    raw = event.get("time")
    try:
        if not isinstance(raw, str) or len(raw) > 40:
            raise ValueError
        when = datetime.fromisoformat(raw)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        millis = int(when.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise MalformedEvent(f"event time must be ISO 8601, got {_show(raw)}") from None
    if not EARLIEST_MS <= millis < LATEST_MS:
        raise MalformedEvent(f"event time {raw!r} is not between 2000 and 2100")
    return when


def event_id(event: Mapping[str, Any]) -> str:
    return _text(event, "id", "event", required=False)


def _detail(event: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("event has no detail object")
    return detail


def _attempts(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    attempts = detail.get("attempts", [])
    if not isinstance(attempts, list) or not all(isinstance(a, Mapping) for a in attempts):
        raise MalformedEvent("detail.attempts must be a list of objects")
    if len(attempts) > MAX_ATTEMPTS:
        raise MalformedEvent(f"detail.attempts lists {len(attempts)} attempts; AWS Batch "
                             f"makes at most {MAX_ATTEMPTS}")
    return attempts


def _container(detail: Mapping[str, Any], attempts: list[Mapping[str, Any]],
               ) -> tuple[Mapping[str, Any], str]:
    """The last attempt's container (the job's own before any attempt ended)."""
    if attempts:
        where = f"detail.attempts[{len(attempts) - 1}]"
        return _object(attempts[-1], "container", where) or {}, f"{where}.container"
    return _object(detail, "container", "detail") or {}, "detail.container"


def check_row_key(execution: str, stage: str, sample: str, where: str) -> None:
    """Raise MalformedEvent when a value is not Unicode text or the row's table key would be
    over DynamoDB's sizes."""
    for name, value in (("execution", execution), ("stage", stage), ("sample", sample)):
        _unicode(value, f"{where}: the {name}")
    if len(execution.encode()) > PK_BYTES:
        raise MalformedEvent(f"{where}: the execution is longer than a table key may be "
                             f"({PK_BYTES} bytes)")
    if len(contracts.job_sk(stage, sample).encode()) > SK_BYTES:
        raise MalformedEvent(f"{where}: stage and sample make a table key over {SK_BYTES} "
                             "bytes")


def _tags(detail: Mapping[str, Any], *, sample: bool) -> dict[str, str] | None:
    """Our tags; the sample tag is required only when no manifest says the sample."""
    tags = _object(detail, "tags", "detail")
    if tags is None or contracts.TAG_EXECUTION not in tags:
        return None
    names = (contracts.TAG_EXECUTION, contracts.TAG_WORKFLOW, contracts.TAG_STAGE)
    values = {t: _text(tags, t, "detail.tags", limit=TAG_LIMIT) for t in names}
    values[contracts.TAG_SAMPLE] = _text(tags, contracts.TAG_SAMPLE, "detail.tags",
                                         limit=TAG_LIMIT, required=sample)
    if len(values[contracts.TAG_EXECUTION].encode()) > PK_BYTES:
        raise MalformedEvent(f"detail.tags.{contracts.TAG_EXECUTION} is longer than a table "
                             f"key may be ({PK_BYTES} bytes)")
    sk = contracts.job_sk(values[contracts.TAG_STAGE], values[contracts.TAG_SAMPLE])
    if len(sk.encode()) > SK_BYTES:
        raise MalformedEvent(f"detail.tags {contracts.TAG_STAGE} and {contracts.TAG_SAMPLE} "
                             f"make a table key over {SK_BYTES} bytes")
    return values


def _environment(detail: Mapping[str, Any]) -> dict[str, str]:
    """detail.container.environment (a list of {name, value}) as a dict of its strings."""
    container = _object(detail, "container", "detail") or {}
    env = container.get("environment", [])
    if not isinstance(env, list):
        raise MalformedEvent("detail.container.environment must be a list")
    return {e["name"]: e["value"] for e in env if isinstance(e, Mapping)
            and isinstance(e.get("name"), str) and isinstance(e.get("value"), str)}


def _execution(tag: str, detail: Mapping[str, Any]) -> str:
    """The execution ARN of the job. The tag is the ARN, unless the execution's name holds
    characters a tag value cannot (contracts.execution_tag); then the name is read from the
    job's task (or manifest) URI in its environment, and must give back the same tag."""
    if " " not in tag:
        return tag
    env = _environment(detail)
    for key in (contracts.TASK_ENV, contracts.MANIFEST_ENV):
        arn = contracts.execution_from_tag(tag, contracts.run_name(env.get(key, "")))
        if arn is not None:
            if len(arn.encode()) > PK_BYTES:
                raise MalformedEvent(f"the execution ARN of detail.tags.{contracts.TAG_EXECUTION}"
                                     f" is longer than a table key may be ({PK_BYTES} bytes)")
            return _unicode(arn, "the execution name in the job's task URI")
    raise MalformedEvent(
        f"detail.tags.{contracts.TAG_EXECUTION} {_show(tag)} stands for an execution whose "
        f"name is not a tag value, and no {contracts.TASK_ENV} in detail.container.environment "
        "names it")


def _whole(text: str, where: str, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise MalformedEvent(f"{where} must be a whole number from {low} to {high}, got "
                             f"{_show(text)}")
    return int(text)


def _manifest(detail: Mapping[str, Any]) -> ManifestRef | None:
    """Where the job's manifest line is, from its container environment (a list of
    ``{name, value}``, as DescribeJobs shows it); None for a job that runs a task document.
    Only our own variables are looked at (another stack's job may hold anything)."""
    container = detail.get("container")
    environment = container.get("environment") if isinstance(container, Mapping) else None
    if not isinstance(environment, list):
        return None
    values: dict[str, str] = {}
    for i, item in enumerate(environment):
        if isinstance(item, Mapping) and item.get("name") in _MANIFEST_NAMES:
            where = f"detail.container.environment[{i}]"
            values[item["name"]] = _text(item, "value", where,
                                         limit=limits.CONTAINER_OVERRIDES_CHARS)
    if contracts.MANIFEST_ENV not in values:
        return None
    where = f"detail.container.environment {contracts.MANIFEST_ENV}"
    try:
        bucket, key = contracts.split_uri(values[contracts.MANIFEST_ENV])
    except ValueError:
        bucket = key = ""
    if not bucket or not key or key.endswith("/"):
        raise MalformedEvent(f"{where} must be the s3:// URI of a manifest, got "
                             f"{_show(values[contracts.MANIFEST_ENV])}")
    return ManifestRef(
        uri=values[contracts.MANIFEST_ENV],
        width=_whole(values.get(contracts.MANIFEST_WIDTH_ENV, ""),
                     f"detail.container.environment {contracts.MANIFEST_WIDTH_ENV}", 2,
                     contracts.MANIFEST_WIDTH_MAX),
        offset=_whole(values.get(contracts.MANIFEST_OFFSET_ENV, "0"),
                      f"detail.container.environment {contracts.MANIFEST_OFFSET_ENV}", 0,
                      contracts.MANIFEST_LINES_MAX))


def _array(detail: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(size, index): an array parent has a size, a child an index, other jobs neither."""
    props = _object(detail, "arrayProperties", "detail") or {}
    where = "detail.arrayProperties"
    size = _integer(props, "size", where, limits.BATCH_ARRAY_MIN, limits.BATCH_ARRAY_MAX,
                    f"an array size from {limits.BATCH_ARRAY_MIN} to {limits.BATCH_ARRAY_MAX}")
    index = _integer(props, "index", where, 0, limits.BATCH_ARRAY_MAX - 1,
                     f"a child index from 0 to {limits.BATCH_ARRAY_MAX - 1}")
    if size is not None and index is not None:
        raise MalformedEvent(f"{where} has both a size (a parent's) and an index (a child's)")
    return size, index


def parse_batch_event(event: Mapping[str, Any]) -> JobEvent | None:
    """A "Batch Job State Change" as a JobEvent; None when the job is not ours. A job that
    runs a manifest line comes back without its sample (and, without tags, without its
    execution, workflow and stage): :func:`orchestrator_runtime.jobstate.resolve` reads
    them."""
    detail = _detail(event)
    manifest = _manifest(detail)
    tags = _tags(detail, sample=manifest is None)
    if tags is None and manifest is None:
        return None
    size, index = _array(detail)
    if manifest is not None and index is not None:
        manifest = ManifestRef(manifest.uri, manifest.width, manifest.offset, index)
    status = _text(detail, "status", "detail")
    if status not in contracts.STATUS_RANK or status == "SKIPPED":
        raise MalformedEvent(f"detail.status {status!r} is not a Batch job status")
    attempts = _attempts(detail)
    container, where = _container(detail, attempts)
    exit_code = _integer(container, "exitCode", where, *INT32, "a 32-bit integer")
    created = _millis(detail, "createdAt", "detail")
    if created is None:
        raise MalformedEvent("detail.createdAt is missing (every Batch job has one)")
    log_stream = _text(container, "logStreamName", where, required=False, limit=LOG_STREAM_LIMIT)
    tags = tags or {}
    tag = tags.get(contracts.TAG_EXECUTION, "")
    return JobEvent(
        execution=_execution(tag, detail) if tag else "",
        workflow=tags.get(contracts.TAG_WORKFLOW, ""),
        stage=tags.get(contracts.TAG_STAGE, ""),
        sample="" if manifest is not None else tags[contracts.TAG_SAMPLE],
        job_id=_text(detail, "jobId", "detail"),
        job_name=_text(detail, "jobName", "detail", required=False),
        status=status, status_reason=_free_text(detail, "statusReason", "detail") or "",
        attempts=len(attempts), time=event_time(event), event_id=event_id(event),
        created_ms=created, exit_code=exit_code, log_stream=log_stream or None,
        started_ms=_millis(detail, "startedAt", "detail"),
        stopped_ms=_millis(detail, "stoppedAt", "detail"),
        attempt_history=parse_attempts(attempts),
        manifest=manifest, array_size=size,
    )


def parse_attempts(attempts: list[Mapping[str, Any]]) -> tuple[JobAttempt, ...]:
    """Each of ``detail.attempts`` (at most MAX_ATTEMPTS: _attempts checks) typed and bounded
    like the job's own fields: free text cut to CAUSE_LIMIT, the log stream to its AWS limit.
    AttemptDetail and AttemptContainerDetail in the Batch API reference name the fields."""
    out = []
    for n, attempt in enumerate(attempts):
        where = f"detail.attempts[{n}]"
        container = _object(attempt, "container", where) or {}
        inner = f"{where}.container"
        out.append(JobAttempt(
            started_ms=_millis(attempt, "startedAt", where),
            stopped_ms=_millis(attempt, "stoppedAt", where),
            exit_code=_integer(container, "exitCode", inner, *INT32, "a 32-bit integer"),
            status_reason=_free_text(attempt, "statusReason", where) or "",
            log_stream=_text(container, "logStreamName", inner, required=False,
                             limit=LOG_STREAM_LIMIT),
            container_reason=_free_text(container, "reason", inner) or ""))
    return tuple(out)


def parse_execution_event(event: Mapping[str, Any]) -> ExecutionEvent:
    """A "Step Functions Execution Status Change" as an ExecutionEvent."""
    detail = _detail(event)
    status = _text(detail, "status", "detail")
    if status not in EXECUTION_RANK:
        raise MalformedEvent(f"detail.status {status!r} is not an execution status")
    arn = _text(detail, "executionArn", "detail", limit=ARN_LIMIT)
    machine = _text(detail, "stateMachineArn", "detail", limit=ARN_LIMIT)
    for key, value in (("executionArn", arn), ("stateMachineArn", machine)):
        if not value.startswith("arn:") or value.endswith(":"):
            raise MalformedEvent(f"detail.{key} must be an ARN, got {_show(value)}")
    start, stop = _millis(detail, "startDate", "detail"), _millis(detail, "stopDate", "detail")
    redriven = _millis(detail, "redriveDate", "detail")
    return ExecutionEvent(
        execution=arn, state_machine=machine.rsplit(":", 1)[-1],
        name=_text(detail, "name", "detail", required=False) or arn.rsplit(":", 1)[-1],
        status=status, time=event_time(event),
        start_date=millis_iso(start) if start is not None else None,
        stop_date=millis_iso(stop) if stop is not None else None,
        error=_free_text(detail, "error", "detail"), cause=_free_text(detail, "cause", "detail"),
        redrive_count=_integer(detail, "redriveCount", "detail", 0, MAX_REDRIVES,
                               f"a count from 0 to {MAX_REDRIVES}") or 0,
        redrive_date=millis_iso(redriven) if redriven is not None else None,
    )
