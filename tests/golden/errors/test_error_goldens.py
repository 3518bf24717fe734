"""The diagnostics users see for a few broken workflows, compared with committed text."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
REGENERATE = "run: .venv/bin/python scripts/regen_goldens.py (and review the diff)"


def _load_regenerate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_error_goldens", HERE / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


goldens = _load_regenerate()
CASES = goldens.cases()


def test_there_are_cases() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_diagnostics_match_golden(case: Path) -> None:
    expected = case.with_suffix(".txt")
    assert expected.exists(), f"{expected.name} is missing; {REGENERATE}"
    actual = goldens.render_case(case)
    assert actual == expected.read_text(encoding="utf-8"), REGENERATE


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_case_has_an_error_on_a_line_of_its_file(case: Path) -> None:
    text = goldens.render_case(case)
    assert " error " in text
    n_lines = len(case.read_text(encoding="utf-8").splitlines())
    for line in text.splitlines():
        if not line.startswith("    hint: "):
            where = line.split(": ", 1)[0]
            assert where.startswith(f"tests/golden/errors/{case.name}:"), line
            assert 1 <= int(where.rsplit(":", 1)[1]) <= n_lines, line


def test_no_golden_without_a_case() -> None:
    stale = {p.stem for p in HERE.glob("*.txt")} - {p.stem for p in CASES}
    assert not stale, f"goldens without a case: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(goldens.CLI_CASES))
def test_cli_errors_match_golden_and_leave_nothing_behind(name: str) -> None:
    expected = goldens.CLI / f"{name}.txt"
    assert expected.exists(), f"{expected.name} is missing; {REGENERATE}"
    text, left = goldens.run_cli_case(goldens.CLI_CASES[name])
    assert text == expected.read_text(encoding="utf-8"), REGENERATE
    assert "Traceback" not in text and text.startswith("exit 2\n")
    assert left == [], f"left behind: {left}"


def test_no_cli_golden_without_a_case() -> None:
    stale = {p.stem for p in goldens.CLI.glob("*.txt")} - set(goldens.CLI_CASES)
    assert not stale, f"goldens without a case: {sorted(stale)}"
