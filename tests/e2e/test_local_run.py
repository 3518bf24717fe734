"""`orchestrator run --local` end to end: the compiled state machine on the embedded engine,
jobs as real processes, job state read from the table that Batch events feed."""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.local.engine import RunOptions, RunResult, run

ROOT = Path(__file__).resolve().parents[2]


def statuses(result: RunResult) -> dict[tuple[str, str], str]:
    return {(r["stage"], r["sample"]): r["status"] for r in result.rows}


@pytest.fixture
def rnaseq(tmp_path: Path) -> Path:
    """A copy of the example (workflow file + data) that a test may edit."""
    shutil.copy(ROOT / "examples" / "rnaseq.py", tmp_path / "rnaseq.py")
    shutil.copytree(ROOT / "examples" / "data" / "rnaseq", tmp_path / "data" / "rnaseq")
    return tmp_path / "rnaseq.py"


def test_first_run_runs_everything_then_a_rerun_skips_everything(rnaseq: Path,
                                                                 tmp_path: Path) -> None:
    opts = RunOptions(rnaseq, out_dir=tmp_path / "out", workdir=tmp_path / "wd")
    first = run(opts)
    assert first.succeeded, first.cause
    assert set(statuses(first).values()) == {"SUCCEEDED"} and len(first.rows) == 10
    for row in first.rows:  # what the Batch events put in the job-state table
        assert row["attempts"] == 1 and row["exit_code"] == 0 and row["job_id"]
        assert Path(first.logs[row["job_id"]]).is_file()
    counts = (tmp_path / "out" / "report" / "counts.tsv").read_text().splitlines()
    assert counts[0] == "sample\tcondition\tgene\tcount"
    assert {line.split("\t")[0] for line in counts[1:]} == {"S1", "S2", "S3"}
    assert "S2\ttreated\tMYC\t" in "\n".join(counts)

    second = run(opts)
    assert second.succeeded
    assert set(statuses(second).values()) == {"SKIPPED"} and len(second.rows) == 10
    assert not second.logs  # no job ran


def test_changing_one_command_reruns_that_stage_and_what_reads_its_outputs(
        rnaseq: Path, tmp_path: Path) -> None:
    opts = RunOptions(rnaseq, workdir=tmp_path / "wd")
    assert run(opts).succeeded
    text = rnaseq.read_text()
    rnaseq.write_text(text.replace('| sort > {outputs.counts}', '| sort -r > {outputs.counts}'))
    again = run(opts)
    assert again.succeeded, again.cause
    by_stage = {stage: {s for (st, _), s in statuses(again).items() if st == stage}
                for stage in ("qc", "trim", "count", "report")}
    assert by_stage == {"qc": {"SKIPPED"}, "trim": {"SKIPPED"}, "count": {"SUCCEEDED"},
                        "report": {"SUCCEEDED"}}


FLAKY = """
from orchestrator import Workflow

wf = Workflow("flaky", bucket="s3://local-tests/flaky")
samples = wf.foreach("sample_id")
prep = wf.job("prep", image="img", command=["cp {{inputs.x}} {{outputs.y}}"], shell=True,
              inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "prep/{{sample_id}}.txt"}},
              per=samples, timeout="5m")
check = wf.job("check", image="img", command=[{check!r}], shell=True,
               inputs={{"y": "prep/{{sample_id}}.txt"}}, outputs={{"z": "ok/{{sample_id}}.txt"}},
               per=samples, after=[prep], retries=2, retry_exit_codes=["3"], timeout="5m",
               cpus={cpus})
merge = wf.job("merge", image="img", command=["cat", "{{inputs.z}}"], stdout="all",
               inputs={{"z": "ok/{{sample_id}}.txt"}}, outputs={{"all": "merged.txt"}},
               after=[check], timeout="5m")
"""
FAILING = ("if grep -q corrupt {inputs.y}; then echo '{sample_id} is corrupt' >&2; exit 3; fi; "
           "cp {inputs.y} {outputs.z}")
FIXED = "cp {inputs.y} {outputs.z}"


def flaky(tmp_path: Path, command: str, samples: int = 3, cpus: int = 1,
          extra: str = "", corrupt: str = "") -> Path:
    data = tmp_path / "data" / "flaky"
    (data / "in").mkdir(parents=True, exist_ok=True)
    ids = [f"S{i}" for i in range(1, samples + 1)]
    for s in ids:
        (data / "in" / f"{s}.txt").write_text(f"{s} corrupt\n" if s == corrupt else f"{s}\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(ids) + "\n")
    path = tmp_path / "flaky.py"
    path.write_text(textwrap.dedent(FLAKY.format(check=command + extra, cpus=cpus)))
    return path


def test_failure_is_retried_then_fails_readably_then_a_fixed_rerun_resumes(
        tmp_path: Path) -> None:
    opts = RunOptions(flaky(tmp_path, FAILING, corrupt="S2"), workdir=tmp_path / "wd")
    failed = run(opts)
    assert failed.status == "FAILED"
    assert failed.error == "SamplesFailed"
    assert "1 of 3" in failed.cause and "S2" in failed.cause and "check" in failed.cause
    st = statuses(failed)
    assert st[("check", "S2")] == "FAILED" and st[("check", "S1")] == "SUCCEEDED"
    assert ("merge", "_once") not in st  # never runs on partial results
    bad = next(r for r in failed.rows if r["status"] == "FAILED")
    assert bad["attempts"] == 3 and bad["exit_code"] == 3  # retries=2 -> 3 attempts
    assert any("S2 is corrupt" in line for line in failed.failed_tails[bad["job_id"]])

    flaky(tmp_path, FAILING)  # the data is repaired; the workflow is unchanged
    fixed = run(opts)
    assert fixed.succeeded, fixed.cause
    st = statuses(fixed)
    assert {k: v for k, v in st.items() if v != "SKIPPED"} == {  # only S2's chain and merge
        ("prep", "S2"): "SUCCEEDED", ("check", "S2"): "SUCCEEDED",
        ("merge", "_once"): "SUCCEEDED"}


def test_vcpus_bound_how_many_jobs_run_at_once(tmp_path: Path) -> None:
    path = flaky(tmp_path, FIXED, samples=4, extra="; sleep 0.6")
    result = run(RunOptions(path, workdir=tmp_path / "wd", cores=2))
    assert result.succeeded, result.cause
    spans = [(datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["stopped_at"]))
             for r in result.rows if r["stage"] == "check"]
    assert len(spans) == 4
    most = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert most == 2  # 4 one-vCPU jobs, 2 cores: two at a time, never more


def test_bad_inputs_are_one_line_errors_before_anything_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = flaky(tmp_path, FIXED)
    (tmp_path / "data" / "flaky" / "in" / "S3.txt").unlink()
    assert main(["run", str(path), "--local", "--workdir", str(tmp_path / "wd")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "in/S3.txt" in err and "prep" in err

    sheet = tmp_path / "bad.csv"
    sheet.write_text("name\nS1\n")
    assert main(["run", str(path), "--local", "--samples", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert f"{sheet}:1: no column 'sample_id'" in err

    assert main(["run", str(tmp_path / "nope.py"), "--local"]) == 2
    assert "no such workflow file" in capsys.readouterr().err
    assert not (tmp_path / "wd").exists()  # nothing started, nothing written
