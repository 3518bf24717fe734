"""One way to read runs, local or on AWS: the interface `runs`, `status`, `watch`, `logs` and
`report` consume.

A run is a summary (who, when, how it ended, how many jobs did what) and its job rows. Rows
have the job-state table's shape (orchestrator_runtime.jobstate): ``stage``, ``sample``,
``job_id``, ``job_name``, ``status``, ``status_reason``, ``attempts``, and when known
``exit_code``, ``log_stream``, ``created_at``, ``started_at``, ``stopped_at``. Readers add:
``source`` (where the row came from: ``table``, ``record``, ``history`` or ``batch``),
``attempt_details`` (a list of ``{"status_reason", "exit_code", "log", "started_at",
"stopped_at", "container_reason"}`` per attempt, oldest first, when the back end knows them;
the job-state table keeps them from Batch's ``attempts[]``, empty fields left out) and, for
local runs, ``log_files`` (one path per attempt).

Back ends: ``orchestrator.local.runs.LocalRuns`` (the workspace's run records) and
``orchestrator.aws.runs.AwsRuns`` (the job-state table, Step Functions, Batch, CloudWatch
Logs). ``orchestrator.cli.runsource.open_source`` picks one from the command line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from orchestrator.errors import OrchestratorError

Backend = Literal["local", "aws"]
StartedBy = Literal["cli", "console", "trigger", "unknown"]
# Spot reclaims: Batch sets an attempt's statusReason to "Host EC2 (instance i-...) terminated."
SPOT_RECLAIM_PREFIX = "Host EC2"


class RunNotFound(OrchestratorError):
    """No run (or no job of a run) by that id; the message says where we looked."""

    exit_code = 2


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string, epoch milliseconds or a datetime as an aware datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 -> +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") \
        if when else None


@dataclass(frozen=True)
class RunSummary:
    run_id: str  # a local run id, or the execution ARN
    name: str  # the execution's name (a local run's id)
    workflow: str
    backend: Backend
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; local also INTERRUPTED
    started_at: datetime | None
    ended_at: datetime | None = None
    started_by: StartedBy = "unknown"
    counts: Mapping[str, int] = field(default_factory=dict)  # job rows by status
    error: str = ""
    cause: str = ""

    def duration_seconds(self, now: datetime | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or (now or datetime.now(UTC))
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "name": self.name, "workflow": self.workflow,
            "backend": self.backend, "status": self.status,
            "started_at": iso(self.started_at), "ended_at": iso(self.ended_at),
            "duration_seconds": self.duration_seconds(), "started_by": self.started_by,
            "jobs": {"ran": ran(self.counts), "skipped": self.counts.get("SKIPPED", 0),
                     "failed": self.counts.get("FAILED", 0),
                     "by_status": dict(sorted(self.counts.items()))},
            "error": self.error, "cause": self.cause,
        }


def ran(counts: Mapping[str, int]) -> int:
    """Jobs that were submitted (everything but SKIPPED)."""
    return sum(n for status, n in counts.items() if status != "SKIPPED")


def count_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        status = str(r.get("status") or "UNKNOWN")
        out[status] = out.get(status, 0) + 1
    return out


@dataclass(frozen=True)
class Run:
    summary: RunSummary
    rows: tuple[dict[str, Any], ...]  # job-state rows, sorted by (stage, sample)
    log_location: str = ""  # local: the run's log folder; AWS: the CloudWatch log group


class RunSource(Protocol):
    """Where runs are read from. Errors are typed (RunNotFound, UsageError, AwsError)."""

    backend: Backend

    def list_runs(self, workflow: str | None = None,
                  limit: int | None = None) -> list[RunSummary]:
        """Recent runs, newest first (at most ``limit`` when given)."""
        ...

    def get_run(self, run_id: str) -> Run:
        """The run's summary and every job row (RunNotFound when there is no such run)."""
        ...

    def log_lines(self, row: Mapping[str, Any], attempt: int) -> Iterator[str]:
        """The lines one attempt (1-based) of a job printed; RunNotFound when it has none."""
        ...

    def log_location(self, row: Mapping[str, Any], attempt: int) -> str:
        """Where that attempt's log lives (a file path, or ``group:stream``), '' if unknown."""
        ...


def sort_rows(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(sorted(rows, key=lambda r: (str(r.get("stage")), str(r.get("sample")))))


def is_spot_reclaim(status_reason: str) -> bool:
    return status_reason.startswith(SPOT_RECLAIM_PREFIX)
