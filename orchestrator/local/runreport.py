"""A local run record (runrecord.py) as report input. Rows are read by orchestrator.report.rows,
the adapter AWS runs use too; the record adds the workflow file and the count of state
transitions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.report.model import ReportInput
from orchestrator.report.rows import job_row, whole
from orchestrator.runs import parse_time


class RecordError(OrchestratorError):
    """A run record that cannot be read."""

    exit_code = 2


def from_document(doc: Mapping[str, Any], resources: Mapping[str, tuple[float, int]],
                  stage_order: tuple[str, ...] = ()) -> ReportInput:
    jobs = doc.get("jobs")
    rows = [r for r in jobs if isinstance(r, Mapping)] if isinstance(jobs, list) else []
    return ReportInput(
        run_id=str(doc.get("run_id") or ""), workflow=str(doc.get("workflow") or ""),
        status=str(doc.get("status") or ""), started=parse_time(doc.get("started_at")),
        ended=parse_time(doc.get("ended_at")),
        jobs=tuple(job_row(r, resources) for r in rows),
        state_transitions=whole(doc.get("state_transitions")),
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
