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


SHEET_CASES = goldens.sheet_cases()


def test_there_are_sheet_cases() -> None:
    assert len(SHEET_CASES) >= 10


@pytest.mark.parametrize("case", SHEET_CASES, ids=lambda p: p.name)
def test_bad_sheet_error_matches_golden(case: Path) -> None:
    expected = case.with_suffix(case.suffix + ".txt")
    assert expected.exists(), f"{expected.name} is missing; {REGENERATE}"
    actual = goldens.render_sheet(case)
    assert actual == expected.read_text(encoding="utf-8"), REGENERATE


@pytest.mark.parametrize("case", SHEET_CASES, ids=lambda p: p.name)
def test_every_bad_sheet_is_one_line_naming_the_file_and_a_place(case: Path) -> None:
    text = goldens.render_sheet(case)
    assert text.count("\n") == 1 and text != "accepted\n"
    assert text.startswith(f"tests/golden/errors/sheets/{case.name}:")
    place = text.split(": ", 2)[:2]
    assert place[0].rsplit(":", 1)[-1].isdigit() or place[1].startswith("samples"), text


def test_no_sheet_golden_without_a_case() -> None:
    stale = {p.name.removesuffix(".txt") for p in goldens.SHEETS.glob("*.txt")} - {
        p.name for p in SHEET_CASES}
    assert not stale, f"goldens without a case: {sorted(stale)}"
