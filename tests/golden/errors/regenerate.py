"""Rewrite the expected diagnostics of every broken workflow in this folder.

    .venv/bin/python tests/golden/errors/regenerate.py

Each ``<case>.py`` is a workflow with mistakes on purpose; ``<case>.txt`` holds exactly what
the CLI prints for it: one ``Diagnostic.render()`` per problem, paths relative to the repo.
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
    lines = [replace(d, file=os.path.relpath(d.file, ROOT)).render() if d.file else d.render()
             for d in diagnostics]
    return "\n".join(lines) + "\n"


def main() -> int:
    for case in cases():
        expected = case.with_suffix(".txt")
        text = render_case(case)
        changed = not expected.exists() or expected.read_text(encoding="utf-8") != text
        expected.write_text(text, encoding="utf-8")
        print(f"{'updated' if changed else 'unchanged'}: {expected.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
