"""Sample sheets (CSV) and run parameters: read, check against the workflow, build the input."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.errors import OrchestratorError
from orchestrator_runtime import contracts as c


class SampleSheetError(OrchestratorError):
    """A sample sheet that does not fit the workflow; the message names file, line, column."""

    exit_code = 2


def read_sheet(path: Path, wf: model.Workflow) -> list[dict[str, str]]:
    if not path.is_file():
        raise SampleSheetError(f"{path}: no such sample sheet")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SampleSheetError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse_sheet(text, wf, str(path))


def parse_sheet(text: str, wf: model.Workflow, name: str) -> list[dict[str, str]]:
    """Rows of a CSV sample sheet; every problem names the file, line and column."""
    if wf.foreach is None:
        raise SampleSheetError(f"{name}: workflow {wf.name!r} does not fan out over samples "
                               "(no wf.foreach); leave out the sample sheet")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise SampleSheetError(f"{name}:1: empty sample sheet; the first line names the columns")
    missing = [col for col in wf.foreach.all_columns if col not in header]
    if missing:
        raise SampleSheetError(
            f"{name}:1: missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(header)} (workflow {wf.name!r} uses {', '.join(wf.foreach.all_columns)})")
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    key = wf.foreach.column
    for row in reader:
        line = reader.line_num
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise SampleSheetError(f"{name}:{line}: more fields than columns in the header")
        if not clean.get(key):
            raise SampleSheetError(f"{name}:{line}: column {key!r} is empty")
        if clean[key] in seen:
            raise SampleSheetError(f"{name}:{line}: {key} {clean[key]!r} repeats line "
                                   f"{seen[clean[key]]}; sample ids must be unique")
        seen[clean[key]] = line
        rows.append(clean)
    if not rows:
        raise SampleSheetError(f"{name}: no samples below the header")
    return rows


def parse_params(pairs: list[str], wf: model.Workflow) -> dict[str, str]:
    """``["k=v", ...]`` from the command line; unknown names are an error naming the known."""
    known = {p.name for p in wf.params}
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SampleSheetError(f"--param {pair!r}: write it as NAME=VALUE")
        if name not in known:
            raise SampleSheetError(f"--param {name}: workflow {wf.name!r} declares no such "
                                   f"parameter (known: {', '.join(sorted(known)) or 'none'})")
        out[name] = value
    missing = [p.name for p in wf.params if p.default is None and p.name not in out]
    if missing:
        raise SampleSheetError(f"missing --param for {', '.join(missing)} (no default)")
    return out


def execution_input(samples: list[dict[str, str]], params: dict[str, str]) -> dict[str, Any]:
    return {c.SAMPLES_KEY: samples, c.PARAMS_KEY: params}
