"""Sample sheets and run parameters: read them, check them against the workflow, and build
the execution input. Used by `orchestrator start` (AWS) and `orchestrator run --local`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.errors import UsageError
from orchestrator_runtime import contracts as c
from orchestrator_runtime import samplesheet

SampleSheetError = UsageError


def read_sheet(path: Path, wf: model.Workflow) -> list[dict[str, str]]:
    if not path.is_file():
        raise UsageError(f"{path}: no such sample sheet")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse_sheet(text, wf, str(path))


def parse_sheet(text: str, wf: model.Workflow | None, name: str) -> list[dict[str, str]]:
    """Rows of a CSV sample sheet; every problem names the file, line and column."""
    if wf is not None and wf.foreach is None:
        raise UsageError(f"{name}: workflow {wf.name!r} does not fan out over samples "
                         "(no wf.foreach); leave out the sample sheet")
    fe = wf.foreach if wf else None
    try:
        return samplesheet.parse(text, name, fe.column if fe else None,
                                 fe.all_columns if fe else ())
    except samplesheet.SampleSheetError as exc:
        raise UsageError(str(exc)) from None


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["genome=GRCh38", ...]`` -> ``{"genome": "GRCh38"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r}: write it as NAME=VALUE, e.g. --param top=10")
        out[key.strip()] = value
    return out


def only_samples(wf: model.Workflow, rows: list[dict[str, str]],
                 only: Sequence[str]) -> list[str]:
    """``--only`` sample ids, checked against the sheet's rows. The rows stay whole: a stage
    that gathers over samples still reads every sample's outputs."""
    if not only:
        return []
    if wf.foreach is None:
        raise UsageError(f"--only: workflow {wf.name!r} does not fan out over samples")
    column = wf.foreach.column
    present = {str(r.get(column)) for r in rows}
    unknown = [s for s in only if s not in present]
    if unknown:
        shown = ", ".join(sorted(present)[:10]) + (" ..." if len(present) > 10 else "")
        raise UsageError(f"--only {unknown[0]}: no sample with {column} {unknown[0]!r} in the "
                         f"sheet (samples: {shown})")
    return sorted(set(only), key=list(only).index)


def forced_stages(wf: model.Workflow, force: Sequence[str]) -> list[str]:
    """``--force`` stage names, checked (each must be a job of ``wf``), with every stage that
    runs after them: what reads a forced stage's outputs is run again too."""
    names = [j.name for j in wf.jobs]
    for stage in force:
        if stage not in names:
            raise UsageError(f"--force {stage}: workflow {wf.name!r} has no stage {stage!r}; "
                             f"its stages are: {', '.join(names)}")
    chosen = set(force)
    grew = True
    while grew:  # a valid workflow is acyclic, so this ends
        later = {j.name for j in wf.jobs if chosen & set(j.after)} - chosen
        chosen |= later
        grew = bool(later)
    return [n for n in names if n in chosen]


def execution_input(wf: model.Workflow | None, *, base: Mapping[str, Any] | None = None,
                    samples: list[dict[str, str]] | None = None,
                    params: Mapping[str, str] | None = None,
                    force: Sequence[str] = (), only: Sequence[str] = (),
                    source: str = "input") -> dict[str, Any]:
    """The execution input ``{"samples": [...], "params": {...}}``, checked against ``wf``;
    ``source`` names where it came from in messages (``--input``, a file)."""
    doc: dict[str, Any] = dict(base or {})
    if samples is not None:
        doc[c.SAMPLES_KEY] = samples
    if force:
        if wf is None:
            raise UsageError("--force needs the workflow file (.py) to check the stage names")
        doc[c.FORCE_KEY] = forced_stages(wf, force)
    if only:
        doc[c.ONLY_KEY] = list(only)
    if params:
        merged = dict(doc.get(c.PARAMS_KEY) or {})
        merged.update(params)
        doc[c.PARAMS_KEY] = merged
    if wf is not None:
        _check_against(wf, doc, source)
    elif doc.get(c.SAMPLES_KEY) is not None:  # no workflow to compare with: the shape only
        try:
            samplesheet.check_rows(doc[c.SAMPLES_KEY], None,
                                   where=samplesheet.Locator(source))
        except samplesheet.SampleSheetError as exc:
            raise UsageError(str(exc)) from None
    return doc


def _check_against(wf: model.Workflow, doc: Mapping[str, Any], source: str) -> None:
    """The input's shape, as ``run --local`` checks a sheet: params known and given, samples
    a list of rows with valid, unique ids and every declared column."""
    given = doc.get(c.PARAMS_KEY) or {}
    if not isinstance(given, dict):
        raise UsageError(f"input: {c.PARAMS_KEY!r} must be an object of name: value")
    declared = {p.name: p for p in wf.params}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(f"workflow {wf.name!r} has no parameter(s) {', '.join(unknown)}; "
                         f"its parameters are: {known}")
    missing = [p.name for p in wf.params if p.default is None and p.name not in given]
    if missing:
        raise UsageError(f"workflow {wf.name!r} needs parameter(s) {', '.join(missing)}: pass "
                         + " ".join(f"--param {m}=VALUE" for m in missing))
    samples = doc.get(c.SAMPLES_KEY)
    sheet = doc.get(c.SHEET_KEY)
    if sheet is not None and not (isinstance(sheet, str) and sheet.startswith("s3://")):
        raise UsageError(f"{source}: {c.SHEET_KEY!r} must be the s3:// URI of a sample sheet "
                         "(CSV with a header, or .jsonl)")
    if wf.foreach is not None and not samples and not sheet:
        raise UsageError(f"workflow {wf.name!r} runs once per sample: give --samples "
                         f"SHEET.csv (a column {wf.foreach.column!r}) or an input with "
                         f"{c.SAMPLES_KEY!r}")
    if samples is None:
        return
    fe = wf.foreach
    if fe is None:
        if samples:
            raise UsageError(f"{source}: workflow {wf.name!r} does not fan out over samples "
                             f"(no wf.foreach); leave out {c.SAMPLES_KEY!r}")
        return
    try:
        samplesheet.check_rows(samples, fe.column, fe.all_columns,
                               where=samplesheet.Locator(source))
    except samplesheet.SampleSheetError as exc:
        raise UsageError(str(exc)) from None


def run_input(text: str) -> tuple[dict[str, Any], str]:
    """``--input JSON`` (or ``@file.json``) as an execution input object, and where it came
    from for messages; UsageError naming the file, line and column otherwise."""
    where = "--input"
    if text.startswith("@"):
        where = text[1:]
        try:
            text = Path(where).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise UsageError(f"{where}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: the input must be a JSON object like "
                         '{"samples": [...], "params": {...}}')
    return doc, where
