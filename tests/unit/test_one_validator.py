"""One validator per trust boundary: each rule is checked where its data enters, once.

The boundaries: the workflow file (orchestrator/checks), the check function's events (its
request model in lambdas/check_outputs) and the task document (the runner's runner_task).
Everything behind them takes typed values. These tests fail when a copy of a rule reappears
in another module (as far as a pattern can see it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from orchestrator_runtime import contracts

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for d in ("orchestrator", "runtime", "lambdas")
                 for p in (ROOT / d).rglob("*.py"))
WORKFLOW = "orchestrator/checks"
EVENT = "lambdas/check_outputs/app.py"
TASK = "runtime/orchestrator_runtime/runner_task.py"


def where(pattern: str) -> set[str]:
    """The source files (relative; orchestrator/checks as one) whose code matches ``pattern``."""
    found = set()
    for path in SOURCES:
        if re.search(pattern, path.read_text()):
            rel = path.relative_to(ROOT).as_posix()
            found.add(WORKFLOW if rel.startswith(WORKFLOW + "/") else rel)
    return found


@pytest.mark.parametrize(("rule", "pattern"), [
    ("a shell command is one string", r"len\([^)]*command[^)]*\)\s*(!=|==)\s*1"),
    ("stdout names an output", r"stdout\S*\s+(not\s+)?in\s+\S*outputs\b"),
])
def test_each_rule_is_checked_once_per_boundary(rule: str, pattern: str) -> None:
    assert where(pattern) == {WORKFLOW, EVENT, TASK}, rule


def test_the_check_actions_are_listed_once() -> None:
    actions = set(get_args(contracts.Action))
    listed = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if actions <= names:
                    listed.add(path.relative_to(ROOT).as_posix())
    assert listed == {"runtime/orchestrator_runtime/contracts.py"}
