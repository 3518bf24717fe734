"""Runs recorded in the workspace, for status, logs and reports of local runs.

``<workspace>/runs/<run id>.json`` holds the execution (run id, workflow, file, start/end,
status, error) and every job row, skipped ones included, in the row shape of the job-state
table (orchestrator_runtime.jobstate): so one reader serves AWS runs (the DynamoDB table) and
local ones (these files). The record is rewritten atomically whenever a row changes, so a
killed run leaves a record of what it did; the next run marks it INTERRUPTED.

Logs: each attempt's output is ``logs/<run id>/<stage>/<sample>.attempt<n>.log`` (a hard link
to the Batch log stream file the engine writes, so it fills while the job runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_bytes_atomic
from orchestrator_runtime import contracts as c

RUNS = "runs"
LOGS = "logs"
STREAMS = "_streams"  # under logs/<run>: the Batch log streams, named as on AWS


def now_iso() -> str:
    """Local time to the millisecond: a run can start and end within one second."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def friendly_log(root: Path, run_id: str, stage: str, sample: str, attempt: int) -> Path:
    return root / LOGS / run_id / stage / f"{sample}.attempt{attempt}.log"


@dataclass
class RunRecord:
    root: Path
    run_id: str
    workflow: str
    workflow_file: str
    started_at: str = field(default_factory=now_iso)
    status: str = "RUNNING"
    execution_arn: str = ""
    ended_at: str = ""
    error: str = ""
    cause: str = ""
    state_transitions: int | None = None  # states entered (billed transitions), when ended
    history_events: int | None = None  # events in the execution's history, when ended
    rows: list[dict[str, Any]] = field(default_factory=list)
    _written: str = ""

    @property
    def path(self) -> Path:
        return self.root / RUNS / f"{self.run_id}.json"

    @property
    def log_dir(self) -> Path:
        return self.root / LOGS / self.run_id

    @property
    def stream_dir(self) -> Path:
        return self.log_dir / STREAMS

    def document(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "workflow": self.workflow,
            "workflow_file": self.workflow_file, "execution_arn": self.execution_arn,
            "status": self.status, "started_at": self.started_at, "ended_at": self.ended_at,
            "error": self.error, "cause": self.cause, "pid": os.getpid(),
            "state_transitions": self.state_transitions,
            "history_events": self.history_events,
            "logs": str(self.log_dir), "jobs": self.rows,
        }

    def save(self) -> None:
        text = json.dumps(self.document(), indent=1, sort_keys=True, default=str)
        if text != self._written:
            write_bytes_atomic(self.path, text.encode())
            self._written = text

    def update(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """New job rows: link their logs under stage/sample names and save the record."""
        self.rows = [self._with_logs(dict(r)) for r in rows]
        self.save()

    def finish(self, status: str, error: str = "", cause: str = "") -> None:
        self.status, self.error, self.cause, self.ended_at = status, error, cause, now_iso()
        self.save()

    def _with_logs(self, row: dict[str, Any]) -> dict[str, Any]:
        stream = str(row.get("log_stream") or "")
        if not stream:
            return row
        base = stream.rsplit("-", 1)[0]  # "<definition>/default/<job id>-<attempt>"
        files = []
        for attempt in range(1, int(row.get("attempts") or 1) + 1):
            source = self.stream_dir / f"{base}-{attempt}"
            target = friendly_log(self.root, self.run_id, str(row.get("stage")),
                                  str(row.get("sample")), attempt)
            if source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
            if target.exists():
                files.append(str(target))
        row["log_files"] = files
        return row


def load(path: Path) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc
    except (OSError, ValueError):
        return None


def runs(root: Path) -> list[dict[str, Any]]:
    """Every recorded run of the workspace, oldest first."""
    folder = root / RUNS
    docs = [load(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [d for d in docs if d is not None]


def close_interrupted(root: Path) -> list[str]:
    """Mark runs still RUNNING as INTERRUPTED (called under the workspace lock)."""
    closed = []
    for doc in runs(root):
        if doc.get("status") == "RUNNING":
            doc["status"] = "INTERRUPTED"
            doc["ended_at"] = doc.get("ended_at") or ""
            with contextlib.suppress(OSError):
                write_bytes_atomic(root / RUNS / f"{doc['run_id']}.json",
                                   json.dumps(doc, indent=1, sort_keys=True).encode())
                closed.append(str(doc["run_id"]))
    return closed


def unit_states(stages: Iterable[tuple[str, str]],
                rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(stage, sample) -> current / failed / not run, from this run's job rows."""
    by_unit = {(str(r.get("stage")), str(r.get("sample"))): str(r.get("status"))
               for r in rows}
    out = {}
    for unit in stages:
        status = by_unit.get(unit)
        out[unit] = ("current" if status in ("SUCCEEDED", "SKIPPED")
                     else "failed" if status == "FAILED" else "not run")
    return out


def sample_labels(column: str | None, samples: Sequence[Mapping[str, str]]) -> list[str]:
    return [c.sample_label(row[column]) for row in samples] if column else []
