"""Numbers of a report, computed from its input alone: per-stage durations, failures,
skipped work, vCPU- and GPU-hours and costs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from orchestrator.report.model import Attempt, JobRow, ReportInput
from orchestrator.report.prices import Prices, transitions_cost


@dataclass(frozen=True)
class StageStats:
    stage: str
    jobs: int
    succeeded: int
    failed: int
    skipped: int
    attempts: int
    timed: int  # attempts whose start and stop are known
    min_s: float | None
    median_s: float | None
    mean_s: float | None
    max_s: float | None
    total_s: float


@dataclass(frozen=True)
class Failure:
    key: str
    attempt: int
    final: bool  # the job's last attempt (False: a retried attempt)
    exit_code: int | None
    reason: str


@dataclass(frozen=True)
class Usage:
    vcpu_hours: float | None  # None: no job's size is known
    gpu_hours: float | None
    untimed_attempts: int  # not counted: the record holds no times for them
    unsized_attempts: int  # not counted: the job's vCPUs are unknown
    transitions: int | None
    transitions_cost: Decimal | None
    batch_cost: Decimal | None


@dataclass(frozen=True)
class Bar:
    """One attempt on the timeline. ``estimated``: the record holds no times for it, so it is
    drawn (hatched) in the gap before the job's next known attempt."""

    row: int
    job: JobRow
    attempt: Attempt
    start: datetime
    end: datetime
    outcome: str  # succeeded, failed, retried, running
    estimated: bool


def stage_order(run: ReportInput) -> list[str]:
    seen = list(dict.fromkeys(run.stage_order))
    rest = sorted({j.stage for j in run.jobs} - set(seen))
    return [s for s in seen if any(j.stage == s for j in run.jobs)] + rest


def _stats(stage: str, jobs: list[JobRow]) -> StageStats:
    attempts = [a for j in jobs for a in j.attempts]
    secs = [s for s in (a.seconds for a in attempts) if s is not None]
    return StageStats(
        stage=stage, jobs=len(jobs),
        succeeded=sum(j.status == "SUCCEEDED" for j in jobs),
        failed=sum(j.status == "FAILED" for j in jobs),
        skipped=sum(j.status == "SKIPPED" for j in jobs),
        attempts=len(attempts), timed=len(secs),
        min_s=min(secs) if secs else None,
        median_s=statistics.median(secs) if secs else None,
        mean_s=statistics.fmean(secs) if secs else None,
        max_s=max(secs) if secs else None, total_s=sum(secs))


def stage_stats(run: ReportInput) -> list[StageStats]:
    return [_stats(s, [j for j in run.jobs if j.stage == s]) for s in stage_order(run)]


def _failed(job: JobRow, attempt: Attempt) -> bool:
    last = attempt is job.attempts[-1]
    if last:
        return job.status == "FAILED"
    return True  # an attempt that was followed by another one did not succeed


def failures(run: ReportInput) -> list[Failure]:
    out = []
    for job in run.jobs:
        for attempt in job.attempts:
            if _failed(job, attempt):
                final = attempt is job.attempts[-1]
                out.append(Failure(job.key, attempt.number, final, attempt.exit_code,
                                   attempt.reason or (job.reason if final else "")))
        if job.status == "FAILED" and not job.attempts:
            out.append(Failure(job.key, 0, True, None, job.reason))
    return out


def skipped(run: ReportInput) -> dict[str, list[str]]:
    """Stage -> samples whose outputs were complete (the job was not submitted)."""
    out: dict[str, list[str]] = {}
    for job in run.jobs:
        if job.status == "SKIPPED":
            out.setdefault(job.stage, []).append(job.sample)
    return {s: out[s] for s in stage_order(run) if s in out}


def usage(run: ReportInput, prices: Prices) -> Usage:
    vcpu = gpu = 0.0
    untimed = unsized = sized = 0
    for job in run.jobs:
        for attempt in job.attempts:
            secs = attempt.seconds
            if secs is None:
                untimed += 1
            elif job.vcpus is None:
                unsized += 1
            else:
                sized += 1
                vcpu += job.vcpus * secs / 3600
                gpu += job.gpus * secs / 3600
    known = sized > 0 or unsized == 0
    n = run.state_transitions
    batch = None
    if prices.vcpu_hour is not None and known:
        batch = prices.vcpu_hour * Decimal(repr(vcpu))
    return Usage(vcpu if known else None, gpu if known else None, untimed, unsized, n,
                 None if n is None else transitions_cost(n, prices), batch)


def _outcome(job: JobRow, attempt: Attempt) -> str:
    if attempt is not job.attempts[-1]:
        return "retried"
    if job.status == "SUCCEEDED":
        return "succeeded"
    if job.status == "FAILED":
        return "failed"
    return "running"


def _known(times: Iterable[datetime | None]) -> list[datetime]:
    return [t for t in times if t is not None]


def span(run: ReportInput) -> tuple[datetime, datetime] | None:
    """The timeline's extent: run start to run end, widened to every known attempt time."""
    times = _known([run.started, run.ended])
    for job in run.jobs:
        times += _known([job.created])
        for a in job.attempts:
            times += _known([a.started, a.stopped])
    if not times:
        return None
    lo, hi = min(times), max(times)
    return (lo, hi if hi > lo else lo + timedelta(seconds=1))


def bars(run: ReportInput) -> list[Bar]:
    """One bar per attempt, rows in stage order then sample; skipped jobs have none."""
    extent = span(run)
    if extent is None:
        return []
    order = {s: i for i, s in enumerate(stage_order(run))}
    jobs = sorted((j for j in run.jobs if j.attempts),
                  key=lambda j: (order[j.stage], j.sample))
    out: list[Bar] = []
    for row, job in enumerate(jobs):
        out.extend(_job_bars(row, job, extent))
    return out


def _job_bars(row: int, job: JobRow, extent: tuple[datetime, datetime]) -> list[Bar]:
    out: list[Bar] = []
    gap_start = job.created or extent[0]
    pending: list[Attempt] = []  # attempts without times, waiting for the next known start
    for attempt in job.attempts:
        if attempt.started is None:
            pending.append(attempt)
            continue
        out += _spread(row, job, pending, gap_start, attempt.started)
        pending = []
        end = attempt.stopped or extent[1]
        out.append(Bar(row, job, attempt, attempt.started, end, _outcome(job, attempt), False))
        gap_start = end
    out += _spread(row, job, pending, gap_start, max(gap_start, extent[1]))
    return out


def _spread(row: int, job: JobRow, attempts: list[Attempt], start: datetime,
            end: datetime) -> list[Bar]:
    if not attempts:
        return []
    step = (end - start) / len(attempts)
    return [Bar(row, job, a, start + step * i, start + step * (i + 1), _outcome(job, a), True)
            for i, a in enumerate(attempts)]
