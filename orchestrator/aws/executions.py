"""Recent runs of a state machine, as a table a person can scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Run:
    name: str
    status: str
    started: datetime
    stopped: datetime | None


def recent(sfn: Any, state_machine: str, limit: int) -> list[Run]:
    """The ``limit`` most recent executions, newest first."""
    runs: list[Run] = []
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine, PaginationConfig={"MaxItems": limit})
    for page in pages:
        for e in page["executions"]:
            runs.append(Run(e["name"], e["status"], e["startDate"], e.get("stopDate")))
    runs.sort(key=lambda r: r.started, reverse=True)
    return runs[:limit]


def duration(seconds: float) -> str:
    """``3725`` -> ``1h02m05s``; ``42`` -> ``42s``."""
    s = max(int(seconds), 0)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


def table(runs: list[Run], now: datetime) -> str:
    """Aligned columns: execution, status, start time (UTC), duration (so far, if running)."""
    head = ("EXECUTION", "STATUS", "STARTED (UTC)", "DURATION")
    rows = [head]
    for r in runs:
        end = r.stopped or now
        took = duration((end - r.started).total_seconds())
        started = r.started.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M:%S")
        rows.append((r.name, r.status, started, took if r.stopped else f"{took} so far"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows) + "\n"
