"""What a report is built from: the run and its job rows (the job-state table's row shape),
each row with its attempts. Adapters fill it; the builder only reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Attempt:
    """One attempt of a job. ``started``/``stopped`` are None when the record does not hold
    them (the job-state row keeps only the last attempt's times)."""

    number: int
    started: datetime | None = None
    stopped: datetime | None = None
    exit_code: int | None = None
    reason: str = ""

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.stopped is None:
            return None
        return max(0.0, (self.stopped - self.started).total_seconds())


@dataclass(frozen=True)
class JobRow:
    stage: str
    sample: str
    status: str  # SUCCEEDED, FAILED, SKIPPED, RUNNING, ...
    reason: str = ""
    created: datetime | None = None
    attempts: tuple[Attempt, ...] = ()
    vcpus: float | None = None  # from the job spec; None: unknown (the spec was not found)
    gpus: int = 0
    job_id: str = ""

    @property
    def key(self) -> str:
        return f"{self.stage}/{self.sample}" if self.sample else self.stage


@dataclass(frozen=True)
class ReportInput:
    run_id: str
    workflow: str
    status: str
    started: datetime | None
    ended: datetime | None
    jobs: tuple[JobRow, ...]
    state_transitions: int | None = None  # None: not recorded for this run
    error: str = ""
    cause: str = ""
    stage_order: tuple[str, ...] = ()  # workflow order of stages; others follow by name
