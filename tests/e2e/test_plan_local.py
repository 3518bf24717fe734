"""`orchestrator plan FILE --local`: what the next `run --local` would skip and run, and why,
checked against what that run then does (examples/rnaseq.py, copied so a test may edit it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from docschemas import check

from orchestrator.cli import main
from orchestrator.local.engine import RunOptions, RunResult, run

ROOT = Path(__file__).resolve().parents[2]
FOREACH = 'wf.foreach("sample_id", columns=["condition"], max_concurrency=8)'


@pytest.fixture
def rnaseq(tmp_path: Path) -> Path:
    """A copy of the example with its data. It compiles to the inline strategy here (at most
    100 samples): the local engine does not run Batch array jobs yet."""
    text = (ROOT / "examples" / "rnaseq.py").read_text()
    assert FOREACH in text
    (tmp_path / "rnaseq.py").write_text(text.replace(FOREACH, FOREACH[:-1] + ", max_samples=100)"))
    shutil.copytree(ROOT / "examples" / "data" / "rnaseq", tmp_path / "data" / "rnaseq")
    return tmp_path / "rnaseq.py"


def plan(capsys: pytest.CaptureFixture[str], workflow: Path, *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["plan", str(workflow), "--local", "--workdir", str(workflow.parent / "wd"),
                 "--json", *extra]) == 0
    doc: dict[str, Any] = check("plan", json.loads(capsys.readouterr().out))
    return doc


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(i["stage"], i["sample"]): (i["status"], i["reason"]) for i in doc["items"]}


def to_run(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["stage"], i["sample"]) for i in doc["items"] if i["runs"]}


def ran(result: RunResult) -> set[tuple[str, str]]:
    assert result.succeeded, result.cause
    return {(r["stage"], r["sample"]) for r in result.rows if r["status"] == "SUCCEEDED"}


def test_plan_names_what_changed_and_counts_what_the_next_run_submits(
        rnaseq: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opts = RunOptions(rnaseq, workdir=rnaseq.parent / "wd")
    first = plan(capsys, rnaseq)
    assert first["submits"] == {"total": 10, "by_stage": {"qc": 3, "trim": 3, "count": 3,
                                                          "report": 1}}
    assert verdicts(first)[("qc", "S1")] == ("missing", "no outputs yet")
    assert verdicts(first)[("count", "S1")] == ("upstream", "its input(s) are not made yet")
    assert not (rnaseq.parent / "wd").exists()  # a plan creates no workspace
    # --only S2 on a fresh workspace: the report gathers every sample, and nothing makes S1's
    # and S3's counts, so the run would fail there
    only = plan(capsys, rnaseq, "--only", "S2")
    assert to_run(only) == {("qc", "S2"), ("trim", "S2"), ("count", "S2")}
    assert verdicts(only)[("report", "_once")] == (
        "blocked", "input(s) missing: counts/S1.tsv, counts/S3.tsv, qc/S1.tsv and 1 more; no "
        "stage of the run makes them")
    assert ran(run(opts)) == to_run(first)

    capsys.readouterr()
    assert main(["plan", str(rnaseq), "--local", "--workdir", str(rnaseq.parent / "wd")]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("a run would submit 0 jobs: everything is complete")
    assert "complete (skip)" in out and "stale" not in out

    # --force trim runs trim and what runs after it; --only S2 leaves the other samples alone
    forced = plan(capsys, rnaseq, "--force", "trim", "--only", "S2")
    assert to_run(forced) == {("trim", "S2"), ("count", "S2"), ("report", "_once")}
    assert verdicts(forced)[("trim", "S2")] == ("stale", "forced (--force trim)")
    assert verdicts(forced)[("qc", "S1")][0] == "unselected"

    rnaseq.write_text(rnaseq.read_text().replace("| sort > {outputs.counts}",
                                                 "| sort -r > {outputs.counts}"))
    edited = plan(capsys, rnaseq)
    got = verdicts(edited)
    assert {got[("count", s)] for s in ("S1", "S2", "S3")} == {("stale", "command changed")}
    assert got[("report", "_once")] == ("upstream",
                                        "outputs current, but its input(s) will be rewritten")
    assert [i["after"] for i in edited["items"] if i["stage"] == "report"] == [["count"]]
    assert edited["submits"]["by_stage"] == {"qc": 0, "trim": 0, "count": 3, "report": 1}
    assert ran(run(opts)) == to_run(edited)

    reads = rnaseq.parent / "data" / "rnaseq" / "raw"
    (reads / "S2.fastq.gz").write_bytes((reads / "S1.fastq.gz").read_bytes())
    new_bytes = plan(capsys, rnaseq)
    got = verdicts(new_bytes)
    changed = ("stale", "input reads: bytes of raw/S2.fastq.gz changed")
    assert got[("qc", "S2")] == changed and got[("trim", "S2")] == changed
    assert got[("count", "S2")][0] == "upstream" and got[("qc", "S1")][0] == "complete"
    assert to_run(new_bytes) == {("qc", "S2"), ("trim", "S2"), ("count", "S2"),
                                 ("report", "_once")}
    assert ran(run(opts)) == to_run(new_bytes)


@pytest.mark.parametrize(("extra", "message"), [
    (["--param", "genome=x"], "error: workflow 'rnaseq' has no parameter(s) genome; its "
                              "parameters are: none\n"),
    (["--only", "S9"], "error: --only S9: no sample with sample_id 'S9' in the sheet "
                       "(samples: S1, S2, S3)\n"),
    (["--force", "align"], "error: --force align: workflow 'rnaseq' has no stage 'align'; its "
                           "stages are: qc, trim, count, report\n"),
    (["--samples", "nope.csv"], "error: nope.csv: no such sample sheet\n"),
], ids=["param", "only", "force", "sheet"])
def test_bad_input_is_one_line_and_exit_2(rnaseq: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, extra: list[str],
                                         message: str) -> None:
    monkeypatch.chdir(rnaseq.parent)
    assert main(["plan", str(rnaseq), "--local", "--workdir", "wd", *extra]) == 2
    assert capsys.readouterr().err == message
    assert not (rnaseq.parent / "wd").exists()


def test_a_missing_input_file_is_refused_as_run_refuses_it(
        rnaseq: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rnaseq.parent / "data" / "rnaseq" / "raw" / "S3.fastq.gz").unlink()
    assert main(["plan", str(rnaseq), "--local", "--workdir", str(rnaseq.parent / "wd")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: missing input data: ") and "S3.fastq.gz" in err
    assert err.count("\n") == 1


def test_an_array_workflow_is_planned_from_its_sheet(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The example as shipped compiles to the array strategy: its once-stage gathers over the
    rows the run's sheet holds, and every per-sample stage counts one array child each."""
    shutil.copy(ROOT / "examples" / "rnaseq.py", tmp_path / "rnaseq.py")
    shutil.copytree(ROOT / "examples" / "data" / "rnaseq", tmp_path / "data" / "rnaseq")
    doc = plan(capsys, tmp_path / "rnaseq.py")
    assert doc["strategy"] == "array"
    assert doc["submits"]["by_stage"] == {"qc": 3, "trim": 3, "count": 3, "report": 1}
    assert verdicts(doc)[("report", "_once")] == ("upstream", "its input(s) are not made yet")
