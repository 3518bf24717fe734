"""Regenerate every golden file in the repository, then review the diff before committing.

    .venv/bin/python scripts/regen_goldens.py

It rewrites, through the same CLI a user runs:
  - state_machines/*.asl.json and template.yaml from examples/*.py (the committed artifacts
    that `compile --check` and `template --check` guard), and runtime/Makefile (the layer's
    build, which the template's BuildMethod: makefile runs);
  - tests/golden/expected/: for each workflow in tests/golden/workflows/, its compiled
    definition (state_machines/<workflow>.asl.json), and one template.yaml for the whole set;
  - tests/golden/errors/*.txt: the diagnostics printed for each deliberately broken workflow.

A golden workflow that does not compile today because of a known compiler bug is listed in
KNOWN_FAILURES: it gets no expected files, and tests/golden/test_golden_pairs.py expects it
to fail with exactly that error (strict xfail), so a fix shows up as a test to update.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
WORKFLOWS = GOLDEN / "workflows"
EXPECTED = GOLDEN / "expected"
EXAMPLES = ROOT / "examples"
COMMAND = ".venv/bin/python scripts/regen_goldens.py"


@dataclass(frozen=True)
class KnownFailure:
    """A golden shape the compiler rejects today: ``error`` is a line it prints."""

    bug: str
    error: str


KNOWN_FAILURES: dict[str, KnownFailure] = {}


class CompileFailed(Exception):
    """The CLI exited non-zero; the message is what it printed to stderr."""


def cases() -> list[Path]:
    """Every golden workflow file, in a stable order."""
    return sorted(WORKFLOWS.glob("*.py"))


def compiling_cases() -> list[Path]:
    return [c for c in cases() if c.stem not in KNOWN_FAILURES]


def _cli(*argv: str) -> str:
    """Run the orchestrator CLI in-process; return stdout, raise CompileFailed on failure."""
    from orchestrator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        raise CompileFailed(err.getvalue().strip() or f"exit code {code}")
    return out.getvalue()


def compile_to(files: list[Path], out_dir: Path) -> dict[str, str]:
    """Compile ``files`` into the new folder ``out_dir``; file name -> ASL text."""
    out_dir.mkdir(parents=True)
    _cli("compile", *map(str, files), "-o", str(out_dir))
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out_dir.glob("*.asl.json"))}


def fresh_asl(case: Path) -> tuple[str, str]:
    """(file name, ASL text) of one golden workflow compiled now."""
    with tempfile.TemporaryDirectory() as tmp:
        ((name, text),) = compile_to([case], Path(tmp) / "out").items()
    return name, text


def fresh_template(files: list[Path]) -> str:
    """The SAM template the CLI writes for ``files`` (with their definitions beside it)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        compile_to(files, out / "state_machines")
        _cli("template", *map(str, files), "-o", str(out / "template.yaml"))
        return (out / "template.yaml").read_text(encoding="utf-8")


def expected_files() -> dict[Path, str]:
    """Every file tests/golden/expected/ should hold, with its content, generated now."""
    files: dict[Path, str] = {}
    for case in compiling_cases():
        name, text = fresh_asl(case)
        files[EXPECTED / "state_machines" / name] = text
    files[EXPECTED / "template.yaml"] = fresh_template(compiling_cases())
    return files


def _write(path: Path, text: str) -> None:
    """Write atomically; print whether it changed."""
    changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    print(f"{'updated' if changed else 'unchanged'}: {path.relative_to(ROOT)}")


def regen_examples() -> None:
    """state_machines/ and template.yaml, exactly as the README's commands write them."""
    examples = sorted(EXAMPLES.glob("*.py"))
    rel = [str(p.relative_to(ROOT)) for p in examples]
    cwd = Path.cwd()
    os.chdir(ROOT)  # the CLI prints and checks paths relative to where it runs
    try:
        print(_cli("compile", *rel, "-o", "state_machines"), end="")
        print(_cli("template", *rel, "-o", "template.yaml"), end="")
    finally:
        os.chdir(cwd)
    from orchestrator.template.functions import LAYER_MAKEFILE, layer_makefile

    _write(ROOT / "runtime" / LAYER_MAKEFILE, layer_makefile())  # the layer's build


def regen_golden_pairs() -> None:
    files = expected_files()  # everything is generated before anything is written
    for path, text in sorted(files.items()):
        _write(path, text)
    for stale in sorted(set(EXPECTED.rglob("*.*")) - set(files)):
        stale.unlink()
        print(f"removed: {stale.relative_to(ROOT)} (no golden workflow produces it)")
    for stem, known in sorted(KNOWN_FAILURES.items()):
        print(f"skipped: tests/golden/workflows/{stem}.py (known bug: {known.bug})")


def regen_error_goldens() -> None:
    spec = importlib.util.spec_from_file_location("_error_goldens",
                                                  GOLDEN / "errors" / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


def main() -> int:
    try:
        regen_examples()
        regen_golden_pairs()
        regen_error_goldens()
    except CompileFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
