"""Rows that the CLI would refuse, given to the state machine directly (console, boto3): one
bad row fails its own sample, never the whole execution through States.Runtime, and a run
without samples stops at its first state. The compiled ASL on the embedded engine."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.local import engine
from orchestrator.local.engine import RunOptions, run

WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("rows", bucket="s3://local-tests/rows")
samples = wf.foreach("sample_id", strategy="{strategy}", max_samples=100)
copy = wf.job("copy", image="img", command=["cp {inputs.x} {outputs.y}"], shell=True,
              inputs={"x": "in/{sample_id}.txt"}, outputs={"y": "out/{sample_id}.txt"},
              per=samples, timeout="5m")
merge = wf.job("merge", image="img", command=["cat", "{inputs.y}"], stdout="all",
               inputs={"y": "out/{sample_id}.txt"}, outputs={"all": "merged.txt"},
               after=[copy], timeout="5m")
"""


def workflow(tmp_path: Path, strategy: str = "inline") -> Path:
    data = tmp_path / "data" / "rows"
    (data / "in").mkdir(parents=True)
    for s in ("S1", "S2", "S3"):
        (data / "in" / f"{s}.txt").write_text(f"{s}\n")
    (data / "samples.csv").write_text("sample_id\nS1\nS2\nS3\n")
    path = tmp_path / "rows.py"
    path.write_text(textwrap.dedent(WORKFLOW).replace("{strategy}", strategy))
    return path


def as_given(monkeypatch: pytest.MonkeyPatch, samples: list[Any]) -> None:
    """Start the execution with ``samples`` as they are, the way a console user could."""
    monkeypatch.setattr(engine, "execution_input",
                        lambda *_, **__: {"samples": samples, "params": {}})


@pytest.mark.parametrize("bad", [{"name": "S2"}, "S2", {"sample_id": "../S2"},
                                 {"sample_id": ["S2"]}])
def test_one_bad_row_fails_only_its_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           bad: Any) -> None:
    as_given(monkeypatch, [{"sample_id": "S1"}, bad, {"sample_id": "S3"}])

    result = run(RunOptions(workflow(tmp_path), workdir=tmp_path / "wd"))

    assert result.status == "FAILED"
    assert result.error == "SamplesFailed", result.cause  # not States.Runtime
    assert result.cause.startswith("1 of 3 samples failed: samples[1] (copy: ")
    done = {(r["stage"], r["sample"]): r["status"] for r in result.rows}
    assert done == {("copy", "S1"): "SUCCEEDED", ("copy", "S3"): "SUCCEEDED"}
    assert (tmp_path / "wd").exists()


@pytest.mark.parametrize(("bad", "named"), [
    ({"name": "S2"}, "samples[1] has no 'sample_id'"), ("S2", "samples[1] is a string"),
    ({"sample_id": "../S2"}, "samples[1].sample_id contains '/'")])
def test_under_the_array_strategy_a_bad_row_stops_the_run_at_once_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: Any, named: str) -> None:
    """The array strategy reads the rows once, first: a bad one fails the run before any job,
    in one readable line (no Lambda stack trace)."""
    as_given(monkeypatch, [{"sample_id": "S1"}, bad, {"sample_id": "S3"}])

    result = run(RunOptions(workflow(tmp_path, "array"), workdir=tmp_path / "wd"))

    assert (result.status, result.error) == ("FAILED", "BadSampleSheet")
    assert result.cause.startswith("the run of rows: BadSampleSheet: the execution input: ")
    assert named in result.cause and "stackTrace" not in result.cause
    assert result.rows == []


def test_a_run_without_samples_stops_at_once_saying_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_given(monkeypatch, [])

    result = run(RunOptions(workflow(tmp_path), workdir=tmp_path / "wd"))

    assert result.status == "FAILED"
    assert result.error == "NoSamples"
    assert "runs once per sample, but the execution input has no samples" in result.cause
    assert result.rows == []  # the gathering stage never started
