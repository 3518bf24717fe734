"""CI runs the README's test command, and that command runs every check: lint, types, the
two drift checks and the tests, stopping at the first failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("ruff", "python", "orchestrator")


def readme_test_command() -> str:
    """Line 2 of the first code block under '## Quickstart', as a reader sees it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("\n## Quickstart", 1)[1]
    block = re.search(r"^```[a-z]*\n(.*?)^```", quickstart, re.S | re.M)
    assert block, "README.md Quickstart has no code block"
    lines = block.group(1).splitlines()
    assert len(lines) >= 2, "README.md Quickstart code block has no line 2"
    return lines[1]


def test_ci_runs_the_readme_test_command() -> None:
    printed = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--print"],
                             capture_output=True, text=True, check=True).stdout
    assert printed == readme_test_command() + "\n"


def test_readme_test_command_sets_up_then_runs_every_check() -> None:
    assert readme_test_command() == "bash scripts/dev-setup.sh && bash scripts/check.sh"


def _fake_repo(tmp_path: Path, failing: str | None = None) -> Path:
    """A copy of scripts/check.sh whose .venv tools only log their arguments; the call that
    starts with ``failing`` exits 1."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "check.sh", tmp_path / "scripts" / "check.sh")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "a.py").write_text("")
    (tmp_path / "examples" / "b.py").write_text("")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in TOOLS:
        fail = f'case "{tool} $*" in "{failing}"*) exit 1;; esac' if failing else ""
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "$LOG"\n{fail}\nexit 0\n')
        script.chmod(0o755)
    return tmp_path


def _run(repo: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = repo / "calls.log"
    result = subprocess.run(["bash", str(repo / "scripts" / "check.sh"), *args],
                            capture_output=True, text=True, cwd="/",
                            env={**os.environ, "LOG": str(log)})
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


ALL_CHECKS = [
    "ruff check .",
    "python -m mypy",
    "orchestrator compile examples/a.py examples/b.py --check",
    "orchestrator template examples/a.py examples/b.py -o template.yaml --check",
    "python -m pytest -q -n 2",
]


def test_check_runs_lint_types_drift_and_tests_in_order(tmp_path: Path) -> None:
    result, calls = _run(_fake_repo(tmp_path), "-x", "-k", "golden")
    assert result.returncode == 0, result.stderr
    assert calls == [*ALL_CHECKS[:-1], "python -m pytest -q -n 2 -x -k golden"]
    shown = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert shown == [f"+ .venv/bin/{call}" for call in calls]


@pytest.mark.parametrize("step", range(len(ALL_CHECKS)))
def test_a_failing_check_stops_ci(tmp_path: Path, step: int) -> None:
    result, calls = _run(_fake_repo(tmp_path, failing=ALL_CHECKS[step]))
    assert result.returncode != 0
    assert calls == ALL_CHECKS[:step + 1]


def test_mypy_is_strict_over_the_tests_too() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    assert {"orchestrator", "runtime", "lambdas", "tests"} <= set(config["files"])
