"""Job rows (the job-state table's row shape, see orchestrator.runs) as report input: one
adapter for local run records and for runs read through a RunSource (AWS).

A row's ``attempt_details`` (every attempt's times, exit code and reasons: the job-state table
keeps them from Batch's ``attempts[]``, and the AWS reader fills them from DescribeJobs when a
row lacks them) gives one timed bar per attempt. Without it the row's own times are the last
attempt's, and earlier attempts have no times (the report draws them hatched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator.report.model import Attempt, JobRow, ReportInput
from orchestrator.runs import Run, parse_time
from orchestrator_runtime import contracts as c

Resources = Mapping[str, tuple[float, int]]  # stage -> (vCPUs, GPUs)


def whole(value: object) -> int | None:
    """An int, or the digits of one; None otherwise (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _reason(item: Mapping[str, Any]) -> str:
    """Batch's attempt reason, with the container's own when it says more (out of memory)."""
    reason = str(item.get("status_reason") or "")
    inner = str(item.get("container_reason") or "")
    if inner and inner not in reason:
        return f"{reason}: {inner}" if reason else inner
    return reason


def _detailed(row: Mapping[str, Any]) -> tuple[Attempt, ...] | None:
    details = row.get("attempt_details")
    if not isinstance(details, list) or not details:
        return None
    out = []
    for n, item in enumerate(details, 1):
        item = item if isinstance(item, Mapping) else {}
        out.append(Attempt(n, parse_time(item.get("started_at")),
                           parse_time(item.get("stopped_at")), whole(item.get("exit_code")),
                           _reason(item)))
    # Batch lists an attempt once it ended: a job running again has its current attempt in
    # the row's own start time only.
    started = parse_time(row.get("started_at"))
    if (row.get("status") not in c.STAGE_FINAL and started is not None
            and all(a.started != started for a in out)):
        out.append(Attempt(len(out) + 1, started))
    return tuple(out)


def attempts(row: Mapping[str, Any]) -> tuple[Attempt, ...]:
    detailed = _detailed(row)
    if detailed is not None:
        return detailed
    n = whole(row.get("attempts")) or 0
    started, stopped = parse_time(row.get("started_at")), parse_time(row.get("stopped_at"))
    if n == 0 and started is None:
        return ()
    n = max(n, 1)
    last = Attempt(n, started, stopped, whole(row.get("exit_code")),
                   str(row.get("status_reason") or ""))
    return (*(Attempt(i) for i in range(1, n)), last)


def job_row(row: Mapping[str, Any], resources: Resources) -> JobRow:
    stage = str(row.get("stage") or "")
    sample = str(row.get("sample") or "")
    size = resources.get(stage)
    status = str(row.get("status") or "")
    return JobRow(stage=stage, sample="" if sample == c.ONCE else sample, status=status,
                  reason=str(row.get("status_reason") or ""),
                  created=parse_time(row.get("created_at")),
                  attempts=() if status == "SKIPPED" else attempts(row),
                  vcpus=None if size is None else float(size[0]),
                  gpus=0 if size is None else int(size[1]), job_id=str(row.get("job_id") or ""))


def first_submitted(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Stages in the order their first job was created (or started): the workflow's order as
    far as the run shows it, when the workflow itself is not at hand."""
    first: dict[str, datetime] = {}
    for r in rows:
        when = parse_time(r.get("created_at")) or parse_time(r.get("started_at"))
        if when is not None:
            stage = str(r.get("stage") or "")
            first[stage] = min(first.get(stage, when), when)
    return tuple(sorted(first, key=lambda s: (first[s], s)))


def from_run(run: Run, resources: Resources, stage_order: tuple[str, ...] = (),
             state_transitions: int | None = None) -> ReportInput:
    """A run read through a RunSource; without ``stage_order``, stages in submission order."""
    s = run.summary
    return ReportInput(
        run_id=s.name, workflow=s.workflow, status=s.status, started=s.started_at,
        ended=s.ended_at, jobs=tuple(job_row(r, resources) for r in run.rows),
        state_transitions=state_transitions, error=s.error, cause=s.cause,
        stage_order=stage_order or first_submitted(run.rows))
