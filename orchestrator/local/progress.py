"""What a person watching a run sees: per-stage counts with a bar, then a summary table.

Everything here is computed from job-state rows (the table that Batch events feed), the
same monitoring path users have on AWS, never from the engine's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator import model

Row = Mapping[str, Any]
WAITING = {"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"}


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


def bar(t: Tally, width: int = 20) -> str:
    if t.total == 0:
        return " " * width
    full = round(width * t.done / t.total)
    run = min(width - full, round(width * t.running / t.total))
    return "#" * full + ">" * run + "." * (width - full - run)


def render_progress(tallies: Mapping[str, Tally], elapsed: float) -> str:
    name_w = max([5, *map(len, tallies)])
    lines = [f"{'stage':<{name_w}}  {'progress':<22} {'pend':>4} {'run':>4} {'ok':>4} "
             f"{'skip':>4} {'fail':>4}"]
    for stage, t in tallies.items():
        lines.append(f"{stage:<{name_w}}  [{bar(t)}] {t.pending:>4} {t.running:>4} "
                     f"{t.succeeded:>4} {t.skipped:>4} {t.failed:>4}")
    lines.append(f"elapsed {elapsed:5.1f}s")
    return "\n".join(lines)


def _seconds(row: Row) -> float | None:
    try:
        start = datetime.fromisoformat(str(row["started_at"]))
        stop = datetime.fromisoformat(str(row["stopped_at"]))
    except (KeyError, ValueError):
        return None
    return (stop - start).total_seconds()


def render_summary(wf: model.Workflow, rows: Sequence[Row],
                   log_path: Mapping[str, str] | None = None) -> str:
    """One line per job: stage, sample, status, attempts, duration, log file."""
    order = {j.name: i for i, j in enumerate(wf.jobs)}
    ordered = sorted(rows, key=lambda r: (order.get(str(r.get("stage")), 99),
                                          str(r.get("sample"))))
    lines = [f"{'stage':<12} {'sample':<14} {'status':<10} {'tries':>5} {'time':>7}  log"]
    for r in ordered:
        secs = _seconds(r)
        took = f"{secs:6.1f}s" if secs is not None else "      -"
        log = (log_path or {}).get(str(r.get("job_id", "")), "")
        tries = str(r.get("attempts", "")) if r.get("status") != "SKIPPED" else "-"
        lines.append(f"{r.get('stage', '?')!s:<12} {r.get('sample', '?')!s:<14} "
                     f"{r.get('status', '?')!s:<10} {tries:>5} {took:>7}  {log}")
    return "\n".join(lines)
