"""Data safety of `orchestrator run --local`: interruptions, orphans, the workspace lock,
where state lives, and what `--out` holds (issue 10, items 1-7)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cli import main
from orchestrator.local import reaper, runlock, runrecord, s3store
from orchestrator.local.engine import RunOptions, run
from orchestrator_runtime import contracts as c

CHAIN = """
from orchestrator import Workflow

wf = Workflow("chain", bucket="s3://local-tests/chain")
samples = wf.foreach("sample_id")
prep = wf.job("prep", image="img", command=["{prep}"], shell=True,
              inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "prep/{{sample_id}}.txt"}},
              per=samples, timeout="5m")
check = wf.job("check", image="img", command=["{check}"], shell=True,
               inputs={{"y": "prep/{{sample_id}}.txt"}}, outputs={{"z": "ok/{{sample_id}}.txt"}},
               per=samples, after=[prep], timeout="5m")
merge = wf.job("merge", image="img", command=["cat", "{{inputs.z}}"], stdout="all",
               inputs={{"z": "ok/{{sample_id}}.txt"}}, outputs={{"all": "merged.txt"}},
               after=[check], timeout="5m")
"""
PREP = "sleep 0.4; tr a-z A-Z < {inputs.x} > {outputs.y}"
CHECK = ("if grep -q BAD {inputs.y}; then echo bad >&2; exit 3; fi; sleep 0.4; "
         "cp {inputs.y} {outputs.z}")


def chain(folder: Path, samples: int = 3, prep: str = PREP, bad: str = "") -> Path:
    data = folder / "data" / "chain"
    (data / "in").mkdir(parents=True, exist_ok=True)
    ids = [f"S{i}" for i in range(1, samples + 1)]
    for s in ids:
        (data / "in" / f"{s}.txt").write_text(f"{s} bad\n" if s == bad else f"{s} ok\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(ids) + "\n")
    path = folder / "chain.py"
    path.write_text(textwrap.dedent(CHAIN.format(prep=prep, check=CHECK)))
    return path


def statuses(rows: list[dict[str, object]]) -> dict[tuple[str, str], str]:
    return {(str(r["stage"]), str(r["sample"])): str(r["status"]) for r in rows}


def markers(workdir: Path) -> set[tuple[str, str]]:
    """(stage, sample) of every finished stage: its marker is a file in the folder
    ``contracts.marker_folder`` names."""
    key = c.marker_folder("chain", "chain", "STAGE", "SAMPLE")
    base = workdir / "s3" / "local-tests" / key.split("/STAGE/")[0]
    return {(p.parent.parent.name, p.parent.name) for p in base.glob("*/*/*.json")}


def kept_files(workdir: Path) -> dict[str, bytes]:
    base = workdir / "s3" / "local-tests" / "chain"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*")
            if p.is_file() and "_orchestrator" not in p.parts}


def cli(path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", str(path),
                             "--local", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd="/")


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def no_job_survives(workdir: Path, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while reaper.marked_processes(workdir.resolve()):
        if time.monotonic() > deadline:
            pids = reaper.marked_processes(workdir.resolve())
            pytest.fail(f"job processes survived the CLI: {pids}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What an uninterrupted run keeps: every output, byte for byte."""
    folder = tmp_path_factory.mktemp("reference")
    result = run(RunOptions(chain(folder), workdir=folder / "wd"))
    assert result.succeeded, result.cause
    # every stage's marker is found (the kill test's "no finished stage recomputed" reads them)
    assert markers(folder / "wd") == {(st, f"S{i}") for st in ("prep", "check")
                                      for i in (1, 2, 3)} | {("merge", "_once")}
    return kept_files(folder / "wd")


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delay=st.floats(min_value=0.0, max_value=6.0),
       sig=st.sampled_from([signal.SIGKILL, signal.SIGTERM, signal.SIGINT]))
def test_killing_the_cli_at_any_moment_keeps_every_finished_stage(
        tmp_path_factory: pytest.TempPathFactory, reference: dict[str, bytes],
        delay: float, sig: signal.Signals) -> None:
    folder = tmp_path_factory.mktemp("kill")
    path, wd = chain(folder), folder / "wd"
    proc = cli(path, "--workdir", str(wd))
    wait_for(lambda: list((wd / "runs").glob("*.json")) if (wd / "runs").is_dir() else False,
             60, "the run to start")
    time.sleep(delay)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    no_job_survives(wd)
    finished = markers(wd)
    before = kept_files(wd)

    again = run(RunOptions(path, workdir=wd))
    assert again.succeeded, again.cause
    st_again = statuses(again.rows)
    for unit in finished:  # no finished stage is recomputed
        assert st_again[unit] == "SKIPPED", (unit, sig, delay, out)
    after = kept_files(wd)
    assert after == reference  # byte-identical to an uninterrupted run
    for key, body in before.items():  # no kept byte lost (outputs are deterministic)
        assert after[key] == body
    assert not [p for p in wd.rglob("*") if p.name.startswith(".orch-tmp-")]
    assert not list((wd / "scratch").glob("*"))
    records = {d["run_id"]: d["status"] for d in runrecord.runs(wd)}
    assert len(records) == 2 and "RUNNING" not in records.values()


def started(tmp_path: Path, start: Callable[..., subprocess.Popen[str]] = cli
            ) -> tuple[subprocess.Popen[str], Path]:
    """A CLI running a 2-sample chain whose first jobs sleep; returns once both run."""
    path, wd = chain(tmp_path, samples=2, prep="sleep 120; cp {inputs.x} {outputs.y}"), \
        tmp_path / "wd"
    proc = start(path, "--workdir", str(wd))
    wait_for(lambda: len(reaper.marked_processes(wd.resolve())) >= 2, 90, "jobs to start")
    return proc, wd


def test_sigkill_of_the_cli_leaves_no_job_process(tmp_path: Path) -> None:
    proc, wd = started(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    no_job_survives(wd)  # the watchdog saw the CLI die
    wait_for(lambda: not list((wd / "scratch").glob("*")), 5, "scratch folders removed")


def test_sigterm_stops_jobs_and_exits_143(tmp_path: Path) -> None:
    proc, wd = started(tmp_path)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143, out
    assert "terminated" in out
    assert reaper.marked_processes(wd.resolve()) == []
    assert not list((wd / "scratch").glob("*"))
    [record] = runrecord.runs(wd)
    assert record["status"] == "INTERRUPTED"


def test_a_second_run_in_the_workspace_is_refused_naming_the_first(tmp_path: Path) -> None:
    path, wd = chain(tmp_path, samples=1), tmp_path / "wd"
    first = cli(path, "--workdir", str(wd))
    wait_for(lambda: list((wd / "runs").glob("*.json")) if (wd / "runs").is_dir() else False,
             60, "the first run to start")
    started = time.monotonic()
    second = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", str(path),
                             "--local", "--workdir", str(wd)], capture_output=True, text=True)
    assert second.returncode == 2
    assert f"pid {first.pid}" in second.stderr and "--wait-for-lock" in second.stderr
    assert time.monotonic() - started < 20  # at once (this includes interpreter start-up)
    waiting = cli(path, "--workdir", str(wd), "--wait-for-lock")
    out_first, _ = first.communicate(timeout=120)
    out_wait, _ = waiting.communicate(timeout=120)
    assert first.returncode == 0 and waiting.returncode == 0, out_first + out_wait
    assert "waiting for run" in out_wait
    assert "0 job(s) ran" in out_wait  # after the first one: nothing left to do


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from orchestrator.local import runlock
        with runlock.hold(Path({str(tmp_path)!r}), "r-dead", "wf"):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(runlock.WorkspaceBusy, match=f"pid {holder.pid}"), \
            runlock.hold(tmp_path, "r-2", "wf"):
        pass
    holder.kill()
    holder.wait()
    with runlock.hold(tmp_path, "r-3", "wf") as stale:
        assert stale is not None and stale.pid == holder.pid and stale.run_id == "r-dead"


def test_state_lives_next_to_the_workflow_whatever_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = chain(project, samples=1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(project)
    assert main(["run", "chain.py", "--local"]) == 0
    first = capsys.readouterr().out
    assert f"state: {project / '.orchestrator'}" in first.splitlines()[1]
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(path), "--local"]) == 0
    again = capsys.readouterr().out
    assert "0 job(s) ran, 3 skipped" in again
    assert not (elsewhere / ".orchestrator").exists()


def test_out_after_a_failure_holds_only_current_outputs_and_a_manifest(
        tmp_path: Path) -> None:
    path, wd, out = chain(tmp_path), tmp_path / "wd", tmp_path / "out"
    opts = RunOptions(path, workdir=wd, out_dir=out)
    assert run(opts).succeeded
    assert (out / "merged.txt").is_file() and (out / "ok" / "S2.txt").is_file()
    (out / "mine.txt").write_text("the user's own file")

    chain(tmp_path, bad="S2")  # S2's input changes: its chain reruns and fails
    failed = run(opts)
    assert failed.status == "FAILED"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "RUN.json", "mine.txt", "ok/S1.txt", "ok/S3.txt",
        "prep/S1.txt", "prep/S2.txt", "prep/S3.txt"]
    assert (out / "prep" / "S2.txt").read_text() == "S2 BAD\n"  # the current one
    manifest = json.loads((out / "RUN.json").read_text())
    assert manifest["status"] == "FAILED" and manifest["run_id"] == failed.run_id
    states = {(s["stage"], s["sample"]): s["state"] for s in manifest["stages"]}
    assert states[("check", "S2")] == "failed" and states[("merge", "_once")] == "not run"
    assert states[("check", "S1")] == "current"
    assert failed.published is not None and ("merge", "_once", "not run") in \
        failed.published.missing


def test_runs_are_recorded_with_every_row_and_stage_sample_logs(tmp_path: Path) -> None:
    path, wd = chain(tmp_path, samples=2), tmp_path / "wd"
    first = run(RunOptions(path, workdir=wd))
    second = run(RunOptions(path, workdir=wd))
    docs = {d["run_id"]: d for d in runrecord.runs(wd)}
    assert set(docs) == {first.run_id, second.run_id}
    one, two = docs[first.run_id], docs[second.run_id]
    assert one["status"] == "SUCCEEDED" and one["workflow"] == "chain"
    assert one["started_at"] and one["ended_at"] and one["execution_arn"]
    assert statuses(two["jobs"]) == {u: "SKIPPED" for u in statuses(one["jobs"])}
    # states entered (what Step Functions bills): skipping every job enters fewer
    assert one["state_transitions"] > two["state_transitions"] > 0
    row = next(r for r in one["jobs"] if r["stage"] == "prep" and r["sample"] == "S1")
    assert row["attempts"] == 1 and row["exit_code"] == 0 and row["pk"] == one["execution_arn"]
    log = wd / "logs" / first.run_id / "prep" / "S1.attempt1.log"
    assert row["log_files"] == [str(log)]
    lines = log.read_text().splitlines()
    assert lines and all(line[:4].isdigit() and "T" in line.split(" ")[0] for line in lines)
    assert os.environ.get(reaper.MARKER) is None  # the engine restored the environment


def test_a_full_disk_fails_only_the_stage_that_wrote_and_keeps_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, wd = chain(tmp_path), tmp_path / "wd"
    real = s3store.write_atomic  # type: ignore[attr-defined]

    def full_for_s2(target: Path, source: Callable[[IO[bytes]], None]) -> None:
        if target.name == "S2.txt" and target.parent.name == "ok":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(target, source)

    monkeypatch.setattr(s3store, "write_atomic", full_for_s2)
    failed = run(RunOptions(path, workdir=wd))
    assert failed.status == "FAILED"
    st = statuses(failed.rows)
    assert st[("check", "S2")] == "FAILED" and st[("check", "S1")] == "SUCCEEDED"
    kept = kept_files(wd)
    assert "ok/S2.txt" not in kept and kept["ok/S1.txt"] == b"S1 OK\n"
    monkeypatch.setattr(s3store, "write_atomic", real)  # space is freed
    again = run(RunOptions(path, workdir=wd))
    assert again.succeeded, again.cause
    assert {u: s for u, s in statuses(again.rows).items() if s != "SKIPPED"} == {
        ("check", "S2"): "SUCCEEDED", ("merge", "_once"): "SUCCEEDED"}
    assert kept_files(wd)["ok/S1.txt"] == kept["ok/S1.txt"]


def test_an_unusable_workspace_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = chain(tmp_path, samples=1)
    (tmp_path / "afile").write_text("")
    assert main(["run", str(path), "--local", "--workdir", str(tmp_path / "afile" / "wd")]) == 2
    err = capsys.readouterr().err.strip()
    # said by the CLI before the engine loads (tests/golden/errors/cli/ pins the wording)
    assert err.count("\n") == 0 and "afile/wd" in err and "is a file, not a folder" in err
    assert "--workdir" in err
