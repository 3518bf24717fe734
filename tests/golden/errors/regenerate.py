"""Rewrite the expected diagnostics of every broken workflow in this folder.

    .venv/bin/python tests/golden/errors/regenerate.py

Each ``<case>.py`` is a workflow with mistakes on purpose; ``<case>.txt`` holds exactly what
the CLI prints for it: one ``Diagnostic.text()`` per problem, paths relative to the repo.
Review the diff before committing: a changed golden is a changed user-facing message.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def cases() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name != "regenerate.py"
                  and not p.name.startswith(("test_", "conftest")))


def render_case(case: Path) -> str:
    from orchestrator.loader import load_file
    from orchestrator.validate import duplicate_names, validate

    workflows = load_file(case)
    diagnostics = [d for wf in workflows for d in validate(wf)] + duplicate_names(workflows)
    lines = [replace(d, file=os.path.relpath(d.file, ROOT)).text() if d.file else d.text()
             for d in diagnostics]
    return "\n".join(lines) + "\n"


SHEETS = HERE / "sheets"
SHEET_COLUMN, SHEET_REQUIRED = "sample_id", ("sample_id", "condition")
# Too large to keep as a file: built here, its golden kept beside the others.
GENERATED_SHEETS = {"huge_cell.csv": "sample_id,condition\nS1,treated\nS2," + "x" * 131_073 + "\n"}


def sheet_cases() -> list[Path]:
    """Every bad sample sheet (.csv) and bad JSON input (.json), generated ones included."""
    kept = [p for p in SHEETS.iterdir() if p.suffix in (".csv", ".json")]
    return sorted(kept + [SHEETS / name for name in GENERATED_SHEETS])


def render_sheet(case: Path) -> str:
    """The one-line error a bad sheet or input gets (the text the CLI and trigger print)."""
    import json

    from orchestrator_runtime import samplesheet

    name = os.path.relpath(case, ROOT)
    text = GENERATED_SHEETS.get(case.name) or case.read_text(encoding="utf-8")
    try:
        if case.suffix == ".json":
            samplesheet.check_rows(json.loads(text)["samples"], SHEET_COLUMN, SHEET_REQUIRED,
                                   where=samplesheet.Locator(name))
        else:
            samplesheet.parse(text, name, SHEET_COLUMN, SHEET_REQUIRED)
    except samplesheet.SampleSheetError as exc:
        return f"{exc}\n"
    return "accepted\n"


def main() -> int:
    for case in sheet_cases():
        expected = case.with_suffix(case.suffix + ".txt")
        text = render_sheet(case)
        changed = not expected.exists() or expected.read_text(encoding="utf-8") != text
        expected.write_text(text, encoding="utf-8")
        print(f"{'updated' if changed else 'unchanged'}: {expected.relative_to(ROOT)}")
    for case in cases():
        expected = case.with_suffix(".txt")
        text = render_case(case)
        changed = not expected.exists() or expected.read_text(encoding="utf-8") != text
        expected.write_text(text, encoding="utf-8")
        print(f"{'updated' if changed else 'unchanged'}: {expected.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
