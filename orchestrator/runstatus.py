"""What `orchestrator status` shows, computed from a Run (orchestrator.runs): per stage, counts
by state, duration, attempts and Spot reclaims; per job (array children per sample), its state;
failures with their reason, exit code and log; samples blocked by a failure; outputs a job's
command did not write. Pure: the log lines it needs are passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.runs import Run, is_spot_reclaim, iso, parse_time
from orchestrator_runtime.runner_errors import EXIT_OUTPUT_MISSING

ONCE = "_once"  # the sample of a stage without fan-out (contracts: the check's sample)
MISSING_MARK = "command succeeded but output(s) missing:"


def seconds(row: Mapping[str, Any], now: datetime | None = None) -> float | None:
    start = parse_time(row.get("started_at"))
    if start is None:
        return None
    end = parse_time(row.get("stopped_at")) or now
    return max((end - start).total_seconds(), 0.0) if end else None


def spot_reclaims(row: Mapping[str, Any]) -> int:
    details = row.get("attempt_details")
    if details:
        return sum(1 for a in details if is_spot_reclaim(str(a.get("status_reason") or "")))
    return int(is_spot_reclaim(str(row.get("status_reason") or "")))


def job_doc(row: Mapping[str, Any], log: str, now: datetime | None) -> dict[str, Any]:
    return {
        "stage": str(row.get("stage")), "sample": str(row.get("sample")),
        "status": str(row.get("status")), "attempts": int(row.get("attempts") or 0),
        "spot_reclaims": spot_reclaims(row), "duration_seconds": seconds(row, now),
        "exit_code": row.get("exit_code"), "status_reason": str(row.get("status_reason") or ""),
        "job_id": str(row.get("job_id") or ""), "log": log,
        "source": str(row.get("source") or ""),
    }


def stage_docs(rows: Iterable[Mapping[str, Any]], now: datetime | None) -> list[dict[str, Any]]:
    by_stage: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_stage.setdefault(str(r.get("stage")), []).append(r)
    out = []
    first: dict[str, datetime] = {}  # the sort key, to the millisecond the rows hold
    for stage, members in by_stage.items():
        counts: dict[str, int] = {}
        for r in members:
            counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
        starts = [t for r in members if (t := parse_time(r.get("started_at")))]
        stops = [t for r in members if (t := parse_time(r.get("stopped_at")))]
        running = any(r.get("status") not in ("SUCCEEDED", "FAILED", "SKIPPED")
                      for r in members)
        end = now if running else (max(stops) if stops else None)
        took = (end - min(starts)).total_seconds() if starts and end else None
        if starts:
            first[stage] = min(starts)
        out.append({
            "stage": stage, "jobs": len(members), "counts": dict(sorted(counts.items())),
            "attempts": sum(int(r.get("attempts") or 0) for r in members),
            "spot_reclaims": sum(spot_reclaims(r) for r in members),
            "started_at": iso(min(starts)) if starts else None,
            "duration_seconds": max(took, 0.0) if took is not None else None,
        })
    return sorted(out, key=lambda s: (s["stage"] not in first,
                                      first.get(s["stage"], datetime.min.replace(tzinfo=UTC)),
                                      s["stage"]))


def blocked(rows: Iterable[Mapping[str, Any]], finished: bool) -> list[dict[str, Any]]:
    """Samples with a failed job: the stages other samples reached that this one did not."""
    rows = list(rows)
    fanned = {str(r.get("stage")) for r in rows if r.get("sample") != ONCE}
    by_sample: dict[str, dict[str, str]] = {}
    for r in rows:
        if r.get("sample") != ONCE:
            by_sample.setdefault(str(r.get("sample")), {})[str(r.get("stage"))] = \
                str(r.get("status"))
    out = []
    for sample, stages in sorted(by_sample.items()):
        failed = sorted(s for s, status in stages.items() if status == "FAILED")
        if failed:
            waiting = sorted(fanned - set(stages))
            out.append({"sample": sample, "failed_stages": failed,
                        "not_run": waiting if finished else [], "finished": finished})
    return out


def status_doc(run: Run, log_of: Callable[[Mapping[str, Any], int], str],
               lines_of: Callable[[Mapping[str, Any], int], Iterable[str]],
               now: datetime | None = None) -> dict[str, Any]:
    """The `status --json` document (schema in docs/operations.md)."""
    now = None if run.summary.finished else now
    jobs, failures, missing = [], [], []
    for r in run.rows:
        attempts = int(r.get("attempts") or 0)
        jobs.append(job_doc(r, log_of(r, attempts) if attempts else "", now))
        if r.get("status") != "FAILED":
            continue
        logs = [log_of(r, n) for n in range(1, attempts + 1)]
        failures.append({**jobs[-1], "logs": [x for x in logs if x]})
        if r.get("exit_code") == EXIT_OUTPUT_MISSING and attempts:
            try:
                found = [line.split(MISSING_MARK, 1)[1].strip()
                         for line in lines_of(r, attempts) if MISSING_MARK in line]
            except OrchestratorError:  # a log we cannot read: nothing to show
                found = []
            if found:
                missing.append({"stage": jobs[-1]["stage"], "sample": jobs[-1]["sample"],
                                "outputs": found[-1]})
    return {
        "run": run.summary.as_json(), "log_location": run.log_location,
        "stages": stage_docs(run.rows, now), "jobs": jobs, "failures": failures,
        "blocked": blocked(run.rows, run.summary.finished), "missing_outputs": missing,
    }
