"""Batch and Step Functions EventBridge events, read defensively into small records.

The ``detail`` of "Batch Job State Change" mirrors DescribeJobs (jobId, status, attempts[]
with container.exitCode/logStreamName, epoch-millisecond times, tags). Anything that would
make a wrong row is rejected with :class:`MalformedEvent` naming the field; jobs without our
tags belong to other stacks and parse to None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator_runtime import contracts

EXECUTION_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
EXECUTION_RANK = {"PENDING_REDRIVE": 0, "RUNNING": 1, **dict.fromkeys(EXECUTION_TERMINAL, 2)}
CAUSE_LIMIT = 1000


class MalformedEvent(ValueError):
    """The event cannot be understood; the message names the field."""


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
    exit_code: int | None = None
    log_stream: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    stopped_at: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.status not in contracts.TERMINAL or None in (self.started_ms, self.stopped_ms):
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


def millis_iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _millis(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedEvent(f"{where}.{key} must be epoch milliseconds, got {value!r}")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedEvent(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value


def event_time(event: Mapping[str, Any]) -> datetime:
    raw = event.get("time")
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        raise MalformedEvent(f"event time must be ISO 8601, got {raw!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _detail(event: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("event has no detail object")
    return detail


def _last_container(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    attempts = detail["attempts"]
    source = attempts[-1] if attempts else detail
    container = source.get("container") if isinstance(source, Mapping) else None
    return container if isinstance(container, Mapping) else {}


def parse_batch_event(event: Mapping[str, Any]) -> JobEvent | None:
    """A "Batch Job State Change" as a JobEvent; None when the job is not ours."""
    detail = _detail(event)
    tags = detail.get("tags")
    if not isinstance(tags, Mapping) or contracts.TAG_EXECUTION not in tags:
        return None
    where = "detail.tags"
    values = {t: _text(tags, t, where) for t in (contracts.TAG_EXECUTION, contracts.TAG_WORKFLOW,
                                                 contracts.TAG_STAGE, contracts.TAG_SAMPLE)}
    status = _text(detail, "status", "detail")
    if status not in contracts.STATUS_RANK or status == "SKIPPED":
        raise MalformedEvent(f"detail.status {status!r} is not a Batch job status")
    attempts = detail.get("attempts", [])
    if not isinstance(attempts, list) or not all(isinstance(a, Mapping) for a in attempts):
        raise MalformedEvent("detail.attempts must be a list of objects")
    container = _last_container({**detail, "attempts": attempts})
    exit_code = container.get("exitCode")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise MalformedEvent(f"container.exitCode must be an integer, got {exit_code!r}")
    log_stream = container.get("logStreamName")
    stamps = {k: _millis(detail, k, "detail") for k in ("createdAt", "startedAt", "stoppedAt")}
    return JobEvent(
        execution=values[contracts.TAG_EXECUTION], workflow=values[contracts.TAG_WORKFLOW],
        stage=values[contracts.TAG_STAGE], sample=values[contracts.TAG_SAMPLE],
        job_id=_text(detail, "jobId", "detail"),
        job_name=_text(detail, "jobName", "detail", required=False),
        status=status, status_reason=_text(detail, "statusReason", "detail", required=False),
        attempts=len(attempts), time=event_time(event), event_id=str(event.get("id", "")),
        exit_code=exit_code, log_stream=log_stream if isinstance(log_stream, str) else None,
        created_at=millis_iso(v) if (v := stamps["createdAt"]) is not None else None,
        started_at=millis_iso(v) if (v := stamps["startedAt"]) is not None else None,
        stopped_at=millis_iso(v) if (v := stamps["stoppedAt"]) is not None else None,
        started_ms=stamps["startedAt"], stopped_ms=stamps["stoppedAt"],
    )


def parse_execution_event(event: Mapping[str, Any]) -> ExecutionEvent:
    """A "Step Functions Execution Status Change" as an ExecutionEvent."""
    detail = _detail(event)
    status = _text(detail, "status", "detail")
    if status not in EXECUTION_RANK:
        raise MalformedEvent(f"detail.status {status!r} is not an execution status")
    arn = _text(detail, "executionArn", "detail")
    machine = _text(detail, "stateMachineArn", "detail")
    start, stop = _millis(detail, "startDate", "detail"), _millis(detail, "stopDate", "detail")
    cause = detail.get("cause")
    return ExecutionEvent(
        execution=arn, state_machine=machine.rsplit(":", 1)[-1],
        name=_text(detail, "name", "detail", required=False) or arn.rsplit(":", 1)[-1],
        status=status, time=event_time(event),
        start_date=millis_iso(start) if start is not None else None,
        stop_date=millis_iso(stop) if stop is not None else None,
        error=detail.get("error") if isinstance(detail.get("error"), str) else None,
        cause=cause[:CAUSE_LIMIT] if isinstance(cause, str) else None,
    )
