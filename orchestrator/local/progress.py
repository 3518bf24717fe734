"""What a person (or a script) watching a run is told: typed events, never rendered text.

Everything here is computed from job-state rows (the table that Batch events feed), the
same monitoring path users have on AWS, never from the engine's internals. The engine feeds
rows to a ``Monitor`` on every poll; the monitor turns them into events, and the sinks in
``display`` render those events. Whether anything changed is decided by comparing typed
snapshots (counts per stage and state), never by comparing rendered strings.

Events, as ``--json`` writes them (one object per line, the kind in ``event``):

- ``notice``: ``text`` (where state and logs live, a lock taken over, ...)
- ``phase``: ``phase`` (``starting``, ``staging``, ``running``, ``keeping``), ``text``
- ``job``: ``stage``, ``sample``, ``status``, ``previous``, ``attempts``, ``job_id``
- ``progress``: ``stages``: per stage ``total``, ``pending``, ``running``, ``succeeded``,
  ``failed``, ``skipped``
- ``heartbeat``: ``stages`` as in ``progress``; at most every 30 s while a run lasts
- ``summary``: ``workflow``, ``status``, ``ran``, ``failed``, ``skipped``, ``jobs`` (the jobs
  that ran or failed; skipped ones are only counted), ``error``, ``cause``, ``run_id``

Every event also carries ``elapsed``: seconds since the run started.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from orchestrator import model
from orchestrator_runtime import contracts as c

Row = Mapping[str, Any]
WAITING = {"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"}
HEARTBEAT_SECONDS = 30.0
PhaseName = Literal["starting", "staging", "running", "keeping"]


@dataclass(frozen=True)
class Tally:
    total: int
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped


def expected_jobs(wf: model.Workflow, n_samples: int) -> dict[str, int]:
    return {j.name: (n_samples if j.per_sample else 1) for j in wf.jobs}


def tally(wf: model.Workflow, n_samples: int, rows: Sequence[Row]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for stage, total in expected_jobs(wf, n_samples).items():
        mine = [r for r in rows if r.get("stage") == stage]
        count = {s: sum(1 for r in mine if r.get("status") == s)
                 for s in ("RUNNING", "SUCCEEDED", "FAILED", "SKIPPED")}
        seen = len(mine)
        out[stage] = Tally(
            total=total,
            pending=max(total - seen, 0) + sum(1 for r in mine if r.get("status") in WAITING),
            running=count["RUNNING"], succeeded=count["SUCCEEDED"], failed=count["FAILED"],
            skipped=count["SKIPPED"])
    return out


@dataclass(frozen=True)
class Snapshot:
    """Counts per stage and state, in the workflow's stage order. Compared with ``==``."""

    stages: tuple[tuple[str, Tally], ...]

    @classmethod
    def of(cls, tallies: Mapping[str, Tally]) -> Snapshot:
        return cls(tuple(tallies.items()))

    def to_json(self) -> dict[str, dict[str, int]]:
        return {name: asdict(t) for name, t in self.stages}


@dataclass(frozen=True)
class Notice:
    text: str
    elapsed: float = 0.0
    event: str = field(default="notice", init=False)


@dataclass(frozen=True)
class Phase:
    phase: PhaseName
    text: str
    elapsed: float = 0.0
    event: str = field(default="phase", init=False)


@dataclass(frozen=True)
class JobChanged:
    stage: str
    sample: str
    status: str
    previous: str  # "" for a job seen for the first time
    attempts: int
    job_id: str
    elapsed: float = 0.0
    event: str = field(default="job", init=False)

    @property
    def unit(self) -> str:
        return f"{self.stage}/{self.sample}" if self.sample else self.stage


@dataclass(frozen=True)
class Progress:
    snapshot: Snapshot
    elapsed: float = 0.0
    event: str = field(default="progress", init=False)


@dataclass(frozen=True)
class Heartbeat:
    snapshot: Snapshot
    elapsed: float = 0.0
    event: str = field(default="heartbeat", init=False)


TOLERATED_SHOWN = 10  # tolerated failed samples the summary line names


@dataclass(frozen=True)
class JobLine:
    """One job of the final table."""

    stage: str
    sample: str
    status: str
    attempts: int
    seconds: float | None
    log: str


@dataclass(frozen=True)
class Summary:
    workflow: str
    status: str
    seconds: float
    jobs: tuple[JobLine, ...]  # ran or failed; skipped jobs are only counted
    skipped: int
    error: str = ""
    cause: str = ""
    run_id: str = ""
    elapsed: float = 0.0
    event: str = field(default="summary", init=False)

    @property
    def ran(self) -> int:
        return sum(1 for j in self.jobs if j.status in ("SUCCEEDED", "FAILED"))

    @property
    def failed(self) -> int:
        return sum(1 for j in self.jobs if j.status == "FAILED")

    @property
    def tolerated(self) -> tuple[str, ...]:
        """Samples whose jobs failed in a run that succeeded: the workflow tolerates a share
        of failed samples (map strategy) and went on without them."""
        if self.status != "SUCCEEDED":
            return ()
        return tuple(sorted({j.sample for j in self.jobs if j.status == "FAILED" and j.sample}))

    def tolerated_text(self) -> str:
        """"; 2 samples failed and were tolerated: S1, S7", or "" when none were."""
        k = len(self.tolerated)
        if not k:
            return ""
        shown = ", ".join(self.tolerated[:TOLERATED_SHOWN])
        more = f" and {k - TOLERATED_SHOWN} more" if k > TOLERATED_SHOWN else ""
        verb = "sample failed and was" if k == 1 else "samples failed and were"
        return f"; {k} {verb} tolerated: {shown}{more}"

    def line(self) -> str:
        return (f"{self.workflow}: {self.status} in {self.seconds:.1f}s ({self.ran} job(s) ran, "
                f"{self.skipped} skipped: outputs already complete){self.tolerated_text()}")


Event = Notice | Phase | JobChanged | Progress | Heartbeat | Summary
Emit = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """The JSON object ``--json`` writes for ``event``."""
    if isinstance(event, Progress | Heartbeat):
        return {"event": event.event, "elapsed": round(event.elapsed, 3),
                "stages": event.snapshot.to_json()}
    out = {k: v for k, v in asdict(event).items() if k != "event"}
    if isinstance(event, Summary):
        out |= {"ran": event.ran, "failed": event.failed, "tolerated": list(event.tolerated)}
    out["elapsed"] = round(event.elapsed, 3)
    return {"event": event.event, **out}


def _sample(row: Row) -> str:
    """The sample a row is for; "" for a stage that runs once."""
    sample = str(row.get("sample", "") or "")
    return "" if sample == c.ONCE else sample


def _key(row: Row) -> tuple[str, str]:
    return str(row.get("stage", "")), _sample(row)


def _attempts(row: Row) -> int:
    try:
        return int(row.get("attempts") or 0)
    except (TypeError, ValueError):
        return 0


class Monitor:
    """Turns the rows of successive polls into events: one per job state change, a snapshot
    when the counts change, and a heartbeat every ``HEARTBEAT_SECONDS``."""

    def __init__(self, wf: model.Workflow, n_samples: int, emit: Emit,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.wf, self.n_samples, self.emit, self.clock = wf, n_samples, emit, clock
        self.started = clock()
        self.last_beat = self.started
        self.statuses: dict[tuple[str, str], str] = {}
        self.snapshot: Snapshot | None = None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def phase(self, phase: PhaseName, text: str) -> None:
        self.emit(Phase(phase, text, self.elapsed()))

    def rows(self, rows: Sequence[Row]) -> Snapshot:
        now = self.elapsed()
        for row in rows:
            key, status = _key(row), str(row.get("status", ""))
            previous = self.statuses.get(key, "")
            if status and status != previous:
                self.statuses[key] = status
                self.emit(JobChanged(key[0], key[1], status, previous, _attempts(row),
                                     str(row.get("job_id", "") or ""), now))
        snap = Snapshot.of(tally(self.wf, self.n_samples, rows))
        if snap != self.snapshot:
            self.snapshot = snap
            self.emit(Progress(snap, now))
        if self.clock() - self.last_beat >= HEARTBEAT_SECONDS:
            self.last_beat = self.clock()
            self.emit(Heartbeat(snap, now))
        return snap


def _seconds(row: Row) -> float | None:
    try:
        start = datetime.fromisoformat(str(row["started_at"]))
        stop = datetime.fromisoformat(str(row["stopped_at"]))
    except (KeyError, ValueError):
        return None
    return (stop - start).total_seconds()


def summarize(wf: model.Workflow, rows: Sequence[Row], *, status: str, seconds: float,
              logs: Mapping[str, str] | None = None, error: str = "", cause: str = "",
              run_id: str = "", elapsed: float = 0.0) -> Summary:
    """The summary of a finished run: the jobs that ran (failed first), skipped ones counted."""
    order = {j.name: i for i, j in enumerate(wf.jobs)}
    ordered = sorted(rows, key=lambda r: (r.get("status") != "FAILED",
                                          order.get(str(r.get("stage")), 99),
                                          str(r.get("sample"))))
    jobs = tuple(
        JobLine(str(r.get("stage", "?")), _sample(r),
                str(r.get("status", "?")), _attempts(r), _seconds(r),
                (logs or {}).get(str(r.get("job_id", "")), ""))
        for r in ordered if r.get("status") != "SKIPPED")
    skipped = sum(1 for r in rows if r.get("status") == "SKIPPED")
    return Summary(wf.name, status, seconds, jobs, skipped, error, cause, run_id, elapsed)
