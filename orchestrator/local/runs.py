"""Local runs for `orchestrator.runs`: the records the engine writes in the workspace
(``<workspace>/runs/<run id>.json``, see runrecord) and each attempt's log file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from orchestrator.local import runrecord
from orchestrator.runs import (
    Backend,
    Run,
    RunNotFound,
    RunSummary,
    count_rows,
    parse_time,
    sort_rows,
)


def looks_local(run_id: str) -> bool:
    """A local run id is ``YYYYmmdd-HHMMSS-<6 hex>`` (engine.py); execution ARNs and names
    are not."""
    parts = run_id.split("-")
    return (len(parts) == 3 and len(parts[0]) == 8 and parts[0].isdigit()
            and len(parts[1]) == 6 and parts[1].isdigit() and len(parts[2]) == 6)


def summary(doc: Mapping[str, Any]) -> RunSummary:
    rows = doc.get("jobs") or []
    return RunSummary(
        run_id=str(doc.get("run_id", "")), name=str(doc.get("run_id", "")),
        workflow=str(doc.get("workflow", "")), backend="local",
        status=str(doc.get("status", "")), started_at=parse_time(doc.get("started_at")),
        ended_at=parse_time(doc.get("ended_at")), started_by="cli",
        counts=count_rows(rows), error=str(doc.get("error") or ""),
        cause=str(doc.get("cause") or ""))


class LocalRuns:
    backend: Backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def list_runs(self, workflow: str | None = None,
                  limit: int | None = None) -> list[RunSummary]:
        docs = [d for d in runrecord.runs(self.root)
                if workflow is None or d.get("workflow") == workflow]
        found = sorted((summary(d) for d in docs),
                       key=lambda s: (s.started_at is not None, s.started_at, s.run_id),
                       reverse=True)
        return found[:limit] if limit else found

    def get_run(self, run_id: str) -> Run:
        doc = runrecord.load(self.root / runrecord.RUNS / f"{run_id}.json")
        if doc is None:
            raise RunNotFound(f"no local run {run_id!r} in {self.root}/{runrecord.RUNS}: "
                              "`orchestrator runs --local --workdir DIR` lists them")
        rows = [dict(r, source="record") for r in doc.get("jobs") or []]
        return Run(summary(doc), sort_rows(rows), str(doc.get("logs") or ""))

    def log_location(self, row: Mapping[str, Any], attempt: int) -> str:
        files = [str(f) for f in row.get("log_files") or []]
        return files[attempt - 1] if 1 <= attempt <= len(files) else ""

    def log_lines(self, row: Mapping[str, Any], attempt: int) -> Iterator[str]:
        where = self.log_location(row, attempt)
        label = f"{row.get('stage')}/{row.get('sample')} attempt {attempt}"
        if not where:
            raise RunNotFound(f"{label}: no log file (the job has "
                              f"{len(row.get('log_files') or [])} attempt log(s))")
        try:
            with open(where, encoding="utf-8", errors="replace") as f:
                for line in f:
                    yield line.rstrip("\n")
        except OSError as exc:
            raise RunNotFound(f"{label}: cannot read {where}: {exc.strerror}") from None
