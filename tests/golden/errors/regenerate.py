"""Rewrite the expected diagnostics of every broken workflow in this folder.

    .venv/bin/python tests/golden/errors/regenerate.py

Each ``<case>.py`` is a workflow with mistakes on purpose; ``<case>.txt`` holds exactly what
the CLI prints for it: one ``Diagnostic.text()`` per problem, paths relative to the repo.
Review the diff before committing: a changed golden is a changed user-facing message.

``cli/<case>.txt`` holds what the CLI prints (exit code, then stderr) for one hostile input of
each class of command-line error: each case in CLI_CASES prepares a fresh folder, may inject
a fault the test machine cannot produce on demand (a full disk; an unwritable folder, since
tests may run as root) or hide an extra, and runs the CLI there in a new interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CLI = HERE / "cli"
DIAMOND = str(ROOT / "examples" / "diamond.py")

# Code run before the CLI in the case's interpreter, by name.
HIDE_EXTRAS = """
import sys
class _Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("moto", "aws_lambda_powertools"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Hidden())
"""
DISK_FULL = """
import errno, os
def _full(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
os.fsync = _full
"""
LOCKED = """
import errno, os, pathlib
_open = os.open
def _locked(path, *args, **kwargs):
    if "locked" in pathlib.Path(path).parts:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
    return _open(path, *args, **kwargs)
os.open = _locked
"""
PRELUDES = {"": "", "hide-extras": HIDE_EXTRAS, "disk-full": DISK_FULL, "locked": LOCKED}


class CliCase(NamedTuple):  # not a dataclass: this file is loaded without a module entry
    """``files`` and ``folders`` are made in a fresh folder, then ``argv`` runs there."""

    argv: tuple[str, ...]
    files: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    prelude: str = ""


CLI_CASES: dict[str, CliCase] = {
    "file_in_the_way": CliCase(("compile", DIAMOND, "-o", "out"), files=("out",)),
    "folder_in_the_way": CliCase(("template", DIAMOND, "-o", "template.yaml"),
                                 folders=("template.yaml",)),
    "parent_is_a_file": CliCase(("template", DIAMOND, "-o", "notes.txt/template.yaml"),
                                files=("notes.txt",)),
    "not_writable": CliCase(("compile", DIAMOND, "-o", "locked/out"), folders=("locked",),
                            prelude="locked"),
    "disk_full": CliCase(("compile", DIAMOND, "-o", "out"), prelude="disk-full"),
    "run_out_is_a_file": CliCase(("run", DIAMOND, "--local", "--out", "results",
                                  "--workdir", "ws"), files=("results",)),
    "run_workdir_is_a_file": CliCase(("run", DIAMOND, "--local", "--workdir", "ws"),
                                     files=("ws",)),
    "missing_extra": CliCase(("run", DIAMOND, "--local", "--workdir", "ws"),
                             prelude="hide-extras"),
    "cores_below_one": CliCase(("run", DIAMOND, "--local", "--cores", "0.5")),
}


def run_cli_case(case: CliCase) -> tuple[str, list[str]]:
    """(what the user sees, files left in the case's folder afterwards)."""
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        for folder in case.folders:
            (where / folder).mkdir(parents=True)
        for file in case.files:
            (where / file).write_text("not yours to overwrite\n")
        before = sorted(str(p.relative_to(where)) for p in where.rglob("*"))
        code = (PRELUDES[case.prelude] + "\nimport sys\nfrom orchestrator.cli import main\n"
                f"sys.exit(main({list(case.argv)!r}))\n")
        done = subprocess.run([sys.executable, "-c", code], cwd=where, capture_output=True,
                              text=True, timeout=120, check=False)
        after = sorted(str(p.relative_to(where)) for p in where.rglob("*"))
        left = sorted(set(after) - set(before))
        text = f"exit {done.returncode}\n{done.stderr}{done.stdout}"
        text = text.replace(str(where.resolve()), "<tmp>").replace(str(ROOT), "<repo>")
        return text, left


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
    CLI.mkdir(exist_ok=True)
    for name, cli_case in CLI_CASES.items():
        expected = CLI / f"{name}.txt"
        text, _ = run_cli_case(cli_case)
        changed = not expected.exists() or expected.read_text(encoding="utf-8") != text
        expected.write_text(text, encoding="utf-8")
        print(f"{'updated' if changed else 'unchanged'}: {expected.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
