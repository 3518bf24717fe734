"""The array strategy end to end on the embedded engine: Batch array jobs whose children are
real processes, one per sample that needs it (issue 11's acceptance tests).

The suite runs 200 samples over two stages (trivial commands; 1,000 take longer than the two
minutes the issue allows a suite test, so benchmarks/history.py and benchmarks/local_array.py
run those)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from fanoutcase import COPY, FAILING, STAGES, by_stage, write_data

from orchestrator.local.engine import RunOptions, run

WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("arr", bucket="s3://local-tests/arr")
samples = wf.foreach("sample_id", strategy="array")
""" + STAGES


def ids(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def workflow(tmp_path: Path, n: int, command: str = COPY, bad: str = "") -> Path:
    write_data(tmp_path / "data" / "arr", ids(n), bad)
    path = tmp_path / "arr.py"
    path.write_text(textwrap.dedent(WORKFLOW.format(a=command)))
    return path



def test_200_samples_run_as_arrays_then_skip_then_rerun_exactly_what_is_gone(
        tmp_path: Path) -> None:
    n = 200
    opts = RunOptions(workflow(tmp_path, n), workdir=tmp_path / "wd", cores=2)
    first = run(opts)
    assert first.succeeded, first.cause
    for stage in ("a", "b"):
        rows = by_stage(first, stage)
        assert sorted(rows) == ids(n)  # one row per sample: array children, mapped to samples
        assert {r["status"] for r in rows.values()} == {"SUCCEEDED"}
    parents = {str(r["job_id"]).split(":")[0] for r in by_stage(first, "a").values()}
    assert len(parents) == 1  # the whole stage was one array job
    merged = (tmp_path / "wd" / "s3" / "local-tests" / "arr" / "merged.txt").read_text()
    assert merged.splitlines() == ids(n)

    second = run(opts)
    assert second.succeeded, second.cause
    assert {r["status"] for r in second.rows} == {"SKIPPED"}
    assert not second.logs  # nothing was submitted

    gone = [ids(n)[i] for i in (7, 142, 199)]
    for s in gone:
        (tmp_path / "wd" / "s3" / "local-tests" / "arr" / "b" / f"{s}.txt").unlink()
    third = run(opts)
    assert third.succeeded, third.cause
    ran = {s: r for s, r in by_stage(third, "b").items() if r["status"] == "SUCCEEDED"}
    assert sorted(ran) == gone
    assert sorted(str(r["job_id"]).split(":")[1] for r in ran.values()) == ["0", "1", "2"]
    assert {r["status"] for r in by_stage(third, "a").values()} == {"SKIPPED"}


def test_one_failing_sample_fails_alone_is_named_and_blocks_only_its_own_later_stages(
        tmp_path: Path) -> None:
    opts = RunOptions(workflow(tmp_path, 12, FAILING, bad="S005"), workdir=tmp_path / "wd",
                      cores=2)
    failed = run(opts)
    assert failed.status == "FAILED" and failed.error == "SamplesFailed"
    assert failed.cause.startswith("1 of 12 samples failed: S005 (a: failed after 1 attempt")
    assert "exit code 3" in failed.cause
    a, b = by_stage(failed, "a"), by_stage(failed, "b")
    assert a["S005"]["status"] == "FAILED"
    assert {s for s, r in a.items() if r["status"] == "SUCCEEDED"} == set(ids(12)) - {"S005"}
    assert "S005" not in b or b["S005"]["status"] != "SUCCEEDED"  # blocked, never run
    assert {s for s, r in b.items() if r["status"] == "SUCCEEDED"} == set(ids(12)) - {"S005"}
    assert not any(r["stage"] == "merge" for r in failed.rows)  # never on partial results

    workflow(tmp_path, 12, FAILING)  # the data is repaired
    fixed = run(opts)
    assert fixed.succeeded, fixed.cause
    ran = {(r["stage"], r["sample"]) for r in fixed.rows if r["status"] == "SUCCEEDED"}
    assert ran == {("a", "S005"), ("b", "S005"), ("merge", "_once")}

    forced = run(dataclasses.replace(opts, force=("b",), only=("S001", "S002")))
    assert forced.succeeded, forced.cause
    ran = {(r["stage"], r["sample"]) for r in forced.rows if r["status"] == "SUCCEEDED"}
    # b for the two selected samples, and merge, which reads b's outputs (of every sample)
    assert ran == {("b", "S001"), ("b", "S002"), ("merge", "_once")}
