"""The map strategy end to end on the embedded engine: a Distributed Map over the run's
sheet, one child execution per sample running its stages (issue 12, section 2).

Ten samples with trivial commands keep it within the suite's budget."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fanoutcase import COPY, FAILING, STAGES, by_stage, write_data

from orchestrator.local import progress
from orchestrator.local.engine import RunOptions, run

WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("mp", bucket="s3://local-tests/mp")
samples = wf.foreach("sample_id", strategy="map", max_concurrency=4,
                     tolerated_failure_percentage={tolerated})
""" + STAGES
N = 10


def ids(n: int = N) -> list[str]:
    return [f"S{i:02d}" for i in range(n)]


def workflow(tmp_path: Path, command: str = COPY, bad: str = "", n: int = N,
             tolerated: float = 0) -> Path:
    write_data(tmp_path / "data" / "mp", ids(n), bad)
    path = tmp_path / "mp.py"
    path.write_text(textwrap.dedent(WORKFLOW.format(a=command, tolerated=tolerated)))
    return path



def bucket(tmp_path: Path) -> Path:
    return tmp_path / "wd" / "s3" / "local-tests" / "mp"


def test_each_sample_runs_its_stages_then_a_rerun_skips_them_all(tmp_path: Path) -> None:
    opts = RunOptions(workflow(tmp_path), workdir=tmp_path / "wd", cores=2)
    first = run(opts)
    assert first.succeeded, first.cause
    for stage in ("a", "b"):
        rows = by_stage(first, stage)
        assert sorted(rows) == ids()
        assert {r["status"] for r in rows.values()} == {"SUCCEEDED"}
    merged = (bucket(tmp_path) / "merged.txt").read_text()
    assert merged.splitlines() == ids()

    second = run(opts)
    assert second.succeeded, second.cause
    assert {r["status"] for r in second.rows} == {"SKIPPED"}
    assert not second.logs  # nothing was submitted


def test_one_failing_sample_fails_alone_is_named_and_resume_runs_only_it(
        tmp_path: Path) -> None:
    opts = RunOptions(workflow(tmp_path, FAILING, bad="S04"), workdir=tmp_path / "wd",
                      cores=2)
    failed = run(opts)
    assert failed.status == "FAILED" and failed.error == "SamplesFailed"
    assert failed.cause.startswith(f"1 of {N} samples failed: S04 (a: failed after 1 attempt")
    assert "exit code 3" in failed.cause
    a, b = by_stage(failed, "a"), by_stage(failed, "b")
    assert a["S04"]["status"] == "FAILED"
    others = set(ids()) - {"S04"}
    assert {s for s, r in a.items() if r["status"] == "SUCCEEDED"} == others
    assert {s for s, r in b.items() if r["status"] == "SUCCEEDED"} == others  # they finished
    assert "S04" not in b
    assert not any(r["stage"] == "merge" for r in failed.rows)  # never on partial results

    workflow(tmp_path, FAILING)  # the data is repaired
    fixed = run(opts)
    assert fixed.succeeded, fixed.cause
    ran = {(r["stage"], r["sample"]) for r in fixed.rows if r["status"] == "SUCCEEDED"}
    assert ran == {("a", "S04"), ("b", "S04"), ("merge", "_once")}


def test_a_tolerated_failure_is_reported_and_the_gathering_stage_reads_the_survivors(
        tmp_path: Path) -> None:
    opts = RunOptions(workflow(tmp_path, FAILING, bad="S04", n=6, tolerated=20),
                      workdir=tmp_path / "wd", cores=2)
    result = run(opts)
    assert result.succeeded, result.cause  # 1 of 6 (17%) may fail
    survivors = [s for s in ids(6) if s != "S04"]
    assert (bucket(tmp_path) / "merged.txt").read_text().splitlines() == survivors
    assert by_stage(result, "a")["S04"]["status"] == "FAILED"  # the failed job stays listed
    assert by_stage(result, "merge")["_once"]["status"] == "SUCCEEDED"
    line = progress.summarize(result.workflow, result.rows, status=result.status,
                              seconds=result.seconds).line()
    assert line.startswith("mp: SUCCEEDED in ")
    assert line.endswith("; 1 sample failed and was tolerated: S04")

    workflow(tmp_path, FAILING, bad="S04", n=6, tolerated=10)  # now 17% is too many
    strict = run(opts)
    assert strict.status == "FAILED" and strict.error == "SamplesFailed"
    assert strict.cause.startswith("1 of 6 samples failed: S04 (a: ")
    assert not any(r["stage"] == "merge" for r in strict.rows)
