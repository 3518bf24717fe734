"""A local run record (runrecord.py) as report input.

The job-state row keeps the attempt count and the last attempt's times, exit code and reason;
earlier attempts appear with no times (the report draws them hatched). A row that carries
``attempt_history`` (a list shaped like Batch DescribeJobs ``attempts``) gives every
attempt's times instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.report.model import Attempt, JobRow, ReportInput
from orchestrator_runtime import contracts as c


class RecordError(OrchestratorError):
    """A run record that cannot be read."""

    exit_code = 2


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (with Z or +hhmm) or epoch milliseconds; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _history(row: Mapping[str, Any]) -> tuple[Attempt, ...] | None:
    history = row.get("attempt_history")
    if not isinstance(history, list) or not history:
        return None
    out = []
    for n, item in enumerate(history, 1):
        item = item if isinstance(item, Mapping) else {}
        container = item.get("container") if isinstance(item.get("container"), Mapping) else {}
        out.append(Attempt(n, parse_time(item.get("startedAt")),
                           parse_time(item.get("stoppedAt")),
                           _int(container.get("exitCode")) if container else None,
                           str(item.get("statusReason") or
                               (container.get("reason") if container else "") or "")))
    return tuple(out)


def _attempts(row: Mapping[str, Any]) -> tuple[Attempt, ...]:
    history = _history(row)
    if history is not None:
        return history
    n = _int(row.get("attempts")) or 0
    started, stopped = parse_time(row.get("started_at")), parse_time(row.get("stopped_at"))
    if n == 0 and started is None:
        return ()
    n = max(n, 1)
    last = Attempt(n, started, stopped, _int(row.get("exit_code")),
                   str(row.get("status_reason") or ""))
    return (*(Attempt(i) for i in range(1, n)), last)


def job_row(row: Mapping[str, Any], resources: Mapping[str, tuple[float, int]]) -> JobRow:
    stage = str(row.get("stage") or "")
    sample = str(row.get("sample") or "")
    size = resources.get(stage)
    status = str(row.get("status") or "")
    return JobRow(stage=stage, sample="" if sample == c.ONCE else sample, status=status,
                  reason=str(row.get("status_reason") or ""),
                  created=parse_time(row.get("created_at")),
                  attempts=() if status == "SKIPPED" else _attempts(row),
                  vcpus=None if size is None else float(size[0]),
                  gpus=0 if size is None else int(size[1]), job_id=str(row.get("job_id") or ""))


def from_document(doc: Mapping[str, Any], resources: Mapping[str, tuple[float, int]],
                  stage_order: tuple[str, ...] = ()) -> ReportInput:
    jobs = doc.get("jobs")
    rows = [r for r in jobs if isinstance(r, Mapping)] if isinstance(jobs, list) else []
    transitions = _int(doc.get("state_transitions"))
    return ReportInput(
        run_id=str(doc.get("run_id") or ""), workflow=str(doc.get("workflow") or ""),
        status=str(doc.get("status") or ""), started=parse_time(doc.get("started_at")),
        ended=parse_time(doc.get("ended_at")),
        jobs=tuple(job_row(r, resources) for r in rows), state_transitions=transitions,
        error=str(doc.get("error") or ""), cause=str(doc.get("cause") or ""),
        stage_order=stage_order)


def from_local_record(path: Path, resources: Mapping[str, tuple[float, int]] | None = None,
                      stage_order: tuple[str, ...] = ()) -> ReportInput:
    """``resources``: stage -> (vCPUs, GPUs) from the workflow's job specs."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecordError(f"{path}: cannot read the run record ({exc.strerror})") from exc
    except ValueError as exc:
        raise RecordError(f"{path}: not a run record (invalid JSON: {exc})") from exc
    if not isinstance(doc, dict) or "run_id" not in doc:
        raise RecordError(f"{path}: not a run record (no run_id); run records are "
                          "<workdir>/runs/<run id>.json")
    return from_document(doc, resources or {}, stage_order)
