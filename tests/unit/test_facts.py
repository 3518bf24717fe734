"""Each fact is written once: a second copy of a limit, a contract name or a pattern fails here.

The scan reads the code of orchestrator/, runtime/ and lambdas/ (string and number literals,
not docstrings or comments) and allows each fact only in the module that owns it:
orchestrator_runtime/limits.py for AWS limits, orchestrator_runtime/contracts.py for the names
and patterns of the contract.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator_runtime import contracts

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("orchestrator", "runtime/orchestrator_runtime", "lambdas")
LIMITS = "runtime/orchestrator_runtime/limits.py"
CONTRACTS = "runtime/orchestrator_runtime/contracts.py"

Literal = str | int


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _number(node: ast.AST) -> int | None:
    """The value of an integer expression made of literals only (``256 * 1024``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Add | ast.Pow):
        left, right = _number(node.left), _number(node.right)
        if left is not None and right is not None:
            ops: dict[type, Callable[[int, int], int]] = {
                ast.Mult: lambda a, b: a * b, ast.Add: lambda a, b: a + b,
                ast.Pow: lambda a, b: a**b}
            return ops[type(node.op)](left, right)
    return None


def literals(tree: ast.AST) -> Iterator[tuple[int, Literal]]:
    """(line, value) of every string literal that is not a docstring, and of every whole
    integer expression (``256 * 1024`` counts once, as 262144)."""
    docs = _docstrings(tree)

    def visit(node: ast.AST) -> Iterator[tuple[int, Literal]]:
        value = _number(node)
        if value is not None:
            yield node.lineno, value  # type: ignore[attr-defined]
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docs:
            yield node.lineno, node.value
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(tree)


def scan(root: Path, sources: tuple[str, ...] = SOURCES) -> list[tuple[str, int, Literal]]:
    out: list[tuple[str, int, Literal]] = []
    for folder in sources:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            out.extend((rel, line, value) for line, value in literals(tree))
    return out


def _text(pred: Callable[[str], bool]) -> Callable[[Literal], bool]:
    return lambda v: isinstance(v, str) and pred(v)


def _int(n: int) -> Callable[[Literal], bool]:
    return lambda v: type(v) is int and v == n


# fact -> (does this literal write it?, {file allowed to hold it: why})
FACTS: dict[str, tuple[Callable[[Literal], bool], dict[str, str]]] = {
    "runner command": (_text(lambda s: "orchestrator-runner" in s), {CONTRACTS: "owner"}),
    "event sources": (_text(lambda s: s in {"aws.batch", "aws.states", "aws.s3"}),
                      {CONTRACTS: "owner"}),
    "event detail types": (
        _text(lambda s: s in {"Batch Job State Change", "Object Created",
                              "Step Functions Execution Status Change"}),
        {CONTRACTS: "owner"}),
    "tag names": (_text(lambda s: re.fullmatch(r"orchestrator:[a-z]+", s) is not None),
                  {CONTRACTS: "owner"}),
    "${...} pattern": (_text(lambda s: "\\$\\{" in s), {CONTRACTS: "owner"}),
    "${ placeholder opening": (_text(lambda s: s == "${"), {
        CONTRACTS: "owner",
        "orchestrator/template/": "CloudFormation !Sub references (${Resource.Arn}), not ours"}),
    "80 characters (names)": (_int(80), {LIMITS: "owner"}),
    "1 MiB (definition)": (_int(1024 * 1024), {
        LIMITS: "owner", "orchestrator/units.py": "MiB per TiB, a unit conversion"}),
    "256 KiB (payload)": (_int(256 * 1024), {LIMITS: "owner"}),
    "8192 (container overrides)": (_int(8192), {LIMITS: "owner"}),
    "128 (Batch names)": (_int(128), {
        LIMITS: "owner",
        "runtime/orchestrator_runtime/runner.py": "128 + N: exit status after signal N",
        "orchestrator/local/batch.py": "128 + N: exit status after signal N",
        "orchestrator/local/lambdas.py": "memory_limit_in_mb of the fake Lambda context",
        "orchestrator/aws/capacity.py": "vCPUs of instance sizes (32xlarge)"}),
}


def _allowed(path: str, allowed: dict[str, str]) -> bool:
    """``allowed`` names files, or folders when the name ends in "/"."""
    return any(path == a or (a.endswith("/") and path.startswith(a)) for a in allowed)


def copies(found: list[tuple[str, int, Literal]], fact: str) -> list[str]:
    wrote, allowed = FACTS[fact]
    return [f"{f}:{line}: {value!r}" for f, line, value in found
            if wrote(value) and not _allowed(f, allowed)]


@pytest.fixture(scope="module")
def found() -> list[tuple[str, int, Literal]]:
    return scan(ROOT)


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_each_fact_is_written_only_by_its_owner(
        fact: str, found: list[tuple[str, int, Literal]]) -> None:
    assert copies(found, fact) == [], f"use the owner's name for {fact} instead"


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_the_owner_still_writes_each_fact(
        fact: str, found: list[tuple[str, int, Literal]]) -> None:
    wrote, allowed = FACTS[fact]
    owners = [f for f, why in allowed.items() if why == "owner"]
    assert any(wrote(v) for f, _, v in found if f in owners), f"nobody writes {fact}"


def test_a_second_copy_is_found(tmp_path: Path) -> None:
    (tmp_path / "orchestrator").mkdir()
    (tmp_path / "orchestrator" / "copy.py").write_text(
        '"""Mentions orchestrator-runner in a docstring: fine."""\n'
        'RUNNER = ["orchestrator-runner"]\n'
        'PATTERN = {"source": ["aws.batch"]}\n'
        'LIMIT = 256 * 1024\n'
        'NAME = name[:80]\n'
        'MULTIPART = 256 * 1024 * 1024\n')
    found = scan(tmp_path, ("orchestrator",))
    assert copies(found, "runner command") == ["orchestrator/copy.py:2: 'orchestrator-runner'"]
    assert copies(found, "event sources") == ["orchestrator/copy.py:3: 'aws.batch'"]
    assert copies(found, "256 KiB (payload)") == ["orchestrator/copy.py:4: 262144"]
    assert copies(found, "80 characters (names)") == ["orchestrator/copy.py:5: 80"]


@pytest.mark.parametrize("pyproject", ["pyproject.toml", "runtime/pyproject.toml"])
def test_the_runner_is_installed_under_the_contracts_name(pyproject: str) -> None:
    scripts = tomllib.loads((ROOT / pyproject).read_text())["project"]["scripts"]
    assert scripts[contracts.RUNNER_COMMAND] == "orchestrator_runtime.runner:main"

