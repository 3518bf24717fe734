"""Committed definitions are exactly what the compiler writes; outside validators accept them."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest
import statelint_gaps

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "*.py")))
DEFINITIONS = sorted(glob.glob(str(ROOT / "state_machines" / "*.asl.json")))


def test_there_is_a_committed_definition_per_example() -> None:
    assert len(DEFINITIONS) == len(EXAMPLES) >= 2


def test_committed_definitions_match_the_compiler(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compile", *EXAMPLES, "-o", str(ROOT / "state_machines"), "--check"])
    assert code == 0, capsys.readouterr().err


def test_check_reports_drift_and_writes_nothing(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", EXAMPLES[0], "-o", str(tmp_path)]) == 0
    written = next(tmp_path.glob("*.asl.json"))
    written.write_text(written.read_text().replace('"StartAt"', '"StartAtX"'))
    capsys.readouterr()
    assert main(["compile", EXAMPLES[0], "-o", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "is out of date" in err and "StartAtX" in err
    assert "StartAtX" in written.read_text()


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: Path(p).name)
def test_statelint_accepts(path: str) -> None:
    assert statelint_gaps.problems(path) == []


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: Path(p).name)
def test_asl_validator_accepts(path: str) -> None:
    exe = ROOT / "node_modules" / ".bin" / "asl-validator"
    assert exe.exists() or shutil.which("asl-validator"), "asl-validator missing: run `npm ci`"
    result = subprocess.run([str(exe) if exe.exists() else "asl-validator", "--json-path", path],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
