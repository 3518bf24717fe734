"""Golden pairs: each workflow in tests/golden/workflows/ compiles to exactly the committed
definition in tests/golden/expected/state_machines/, the set to expected/template.yaml, and
outside validators accept every committed definition. Regenerate with
scripts/regen_goldens.py (it also lists the shapes the compiler rejects today)."""

from __future__ import annotations

import difflib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import statelint_gaps

ROOT = Path(__file__).resolve().parents[2]


def _load_regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_regen_goldens",
                                                  ROOT / "scripts" / "regen_goldens.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


regen = _load_regen()
REGENERATE = f"if the change is intended, run: {regen.COMMAND} (and review the diff)"
EXPECTED_ASL = sorted((regen.EXPECTED / "state_machines").glob("*.asl.json"))


class KnownCompilerBug(Exception):
    """A golden shape failed to compile with exactly the error its known bug produces."""


def _case_param(case: Path) -> object:
    known = regen.KNOWN_FAILURES.get(case.stem)
    if known is None:
        return pytest.param(case, id=case.stem)
    return pytest.param(case, id=case.stem, marks=pytest.mark.xfail(
        strict=True, raises=KnownCompilerBug,
        reason=f"known compiler bug: {known.bug}: {known.error}"))


def _mismatch(name: str, expected: str, actual: str) -> str:
    diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                     f"{name} (committed)", f"{name} (compiled now)",
                                     lineterm="", n=2))
    shown = diff[:60] + ([f"... {len(diff) - 60} more diff lines"] if len(diff) > 60 else [])
    return "\n".join([f"{name} differs from a fresh compile:", *shown, REGENERATE])


def test_golden_set_covers_the_shapes() -> None:
    stems = {c.stem for c in regen.cases()}
    assert {"two_fanouts", "n_shaped", "gpus_retries", "params", "triggers"} <= stems
    assert set(regen.KNOWN_FAILURES) <= stems, "a known failure names no golden workflow"


@pytest.mark.parametrize("case", [_case_param(c) for c in regen.cases()])
def test_definition_matches_golden(case: Path) -> None:
    try:
        name, actual = regen.fresh_asl(case)
    except regen.CompileFailed as exc:
        known = regen.KNOWN_FAILURES.get(case.stem)
        assert known is not None and known.error in str(exc), f"{case.name}: {exc}"
        raise KnownCompilerBug(str(exc)) from exc
    assert case.stem not in regen.KNOWN_FAILURES, (
        f"{case.name} compiles now: remove it from KNOWN_FAILURES and regenerate")
    expected = regen.EXPECTED / "state_machines" / name
    assert expected.is_file(), f"{expected.relative_to(ROOT)} is missing; {REGENERATE}"
    text = expected.read_text(encoding="utf-8")
    assert actual == text, _mismatch(str(expected.relative_to(ROOT)), text, actual)


def test_template_matches_golden() -> None:
    expected = regen.EXPECTED / "template.yaml"
    assert expected.is_file(), f"{expected.relative_to(ROOT)} is missing; {REGENERATE}"
    actual = regen.fresh_template(regen.compiling_cases())
    text = expected.read_text(encoding="utf-8")
    assert actual == text, _mismatch(str(expected.relative_to(ROOT)), text, actual)


def test_no_golden_without_a_workflow() -> None:
    wanted = {f"{regen.fresh_asl(c)[0]}" for c in regen.compiling_cases()}
    stale = {p.name for p in EXPECTED_ASL} - wanted
    assert not stale, f"expected definitions no golden workflow produces: {sorted(stale)}"


@pytest.mark.parametrize("path", EXPECTED_ASL, ids=lambda p: p.name)
def test_statelint_accepts_golden(path: Path) -> None:
    assert statelint_gaps.problems(path) == []


def test_statelint_gap_reader_config_input_type(tmp_path: Path) -> None:
    """statelint rejects a documented field (see tests/statelint_gaps.py); asl-validator
    accepts the same definition."""
    doc = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "b", "Key": "items.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    path = tmp_path / "reader.asl.json"
    path.write_text(json.dumps(doc))
    exe = Path(sys.executable).with_name("statelint")
    result = subprocess.run([str(exe), str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert 'Field "InputType" not allowed in State Machine.States.M.ItemReader.ReaderConfig' \
        in result.stdout + result.stderr
    assert statelint_gaps.problems(path) == []
    validator = ROOT / "node_modules" / ".bin" / "asl-validator"
    accepted = subprocess.run([str(validator) if validator.exists() else "asl-validator",
                               "--json-path", str(path)], capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


@pytest.mark.parametrize("path", EXPECTED_ASL, ids=lambda p: p.name)
def test_asl_validator_accepts_golden(path: Path) -> None:
    exe = ROOT / "node_modules" / ".bin" / "asl-validator"
    assert exe.exists() or shutil.which("asl-validator"), "asl-validator missing: run `npm ci`"
    result = subprocess.run([str(exe) if exe.exists() else "asl-validator", "--json-path",
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
