"""The warm engine (orchestrator.local.warmengine, engined): `orchestrator run --local` served
by a process that loaded the engine already, with the behaviour of a run in the CLI's own
process: output, exit codes, files, signals, and no job left when the CLI dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_local_safety import chain, no_job_survives, started, statuses, wait_for

from orchestrator.local import runrecord, warmengine

WARM_UP_SECONDS = 120  # the warm engine's own first run, on a loaded machine


def _engines(socket: Path) -> list[int]:
    """Pids of warm engines serving ``socket``."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if warmengine.SERVER.encode() in cmdline and str(socket).encode() in cmdline:
                pids.append(int(name))
    return pids


@pytest.fixture
def warm_env(warm_runtime: Path) -> Iterator[Path]:
    """Warm engines on, in a runtime folder of this test; every engine stopped after it."""
    socket = warmengine.socket_path()
    yield socket
    for pid in _engines(socket):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def warm(warm_env: Path) -> Path:
    """A warm engine, loaded and listening."""
    assert warmengine.start_background() == warm_env
    wait_for(warm_env.exists, WARM_UP_SECONDS, "the warm engine to load")
    return warm_env


def cli(path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", str(path),
                             "--local", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=path.parent)


def test_a_run_is_served_warm_with_the_same_files_and_exit_code(warm: Path,
                                                                tmp_path: Path) -> None:
    path, wd = chain(tmp_path, samples=2), tmp_path / "wd"
    first = cli(path, "--workdir", str(wd), "--out", str(tmp_path / "out"))
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    assert "local processes, warm)" in out  # served by the warm engine, not this process
    assert "chain: SUCCEEDED" in out
    [record] = runrecord.runs(wd)
    assert statuses(record["jobs"]) == {
        (s, f"S{i}"): "SUCCEEDED" for s in ("prep", "check") for i in (1, 2)} | {
        ("merge", "_once"): "SUCCEEDED"}
    assert (tmp_path / "out" / "merged.txt").read_text() == "S1 OK\nS2 OK\n"
    again = cli(path, "--workdir", str(wd))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert "(0 job(s) ran, 5 skipped" in out, out
    [first_record, second_record] = runrecord.runs(wd)[:2]
    # each run is its own process, forked from the warm engine (which stays up)
    assert first_record["pid"] != second_record["pid"]
    assert _engines(warm)


def test_failures_and_bad_input_keep_their_exit_codes_and_messages(warm: Path,
                                                                   tmp_path: Path) -> None:
    path = chain(tmp_path, samples=2, bad="S2")
    failed = cli(path, "--workdir", str(tmp_path / "wd"))
    out, err = failed.communicate(timeout=120)
    assert failed.returncode == 1, out + err
    assert "cause:" in out and "check" in out
    missing = cli(tmp_path / "nowhere.py")
    out, err = missing.communicate(timeout=60)
    assert missing.returncode == 2, out + err
    assert "error:" in err and "nowhere.py" in err and "Traceback" not in out + err


def test_sigterm_of_the_cli_stops_the_run_and_its_jobs(warm: Path, tmp_path: Path) -> None:
    proc, wd = started(tmp_path, cli)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, out + err
    assert "terminated" in err
    no_job_survives(wd)
    [record] = runrecord.runs(wd)
    assert record["status"] == "INTERRUPTED"


def test_sigkill_of_the_cli_stops_the_run_and_leaves_no_job(warm: Path, tmp_path: Path) -> None:
    proc, wd = started(tmp_path, cli)
    [served] = [r["pid"] for r in runrecord.runs(wd)]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    no_job_survives(wd, within=10)  # the run saw its CLI's connection close
    wait_for(lambda: not Path(f"/proc/{served}").exists(), 10, "the served run to end")
    wait_for(lambda: runrecord.runs(wd)[0]["status"] == "INTERRUPTED", 5, "the record")
    assert _engines(warm)  # the warm engine itself serves on


def test_without_a_warm_engine_the_run_is_here_and_starts_one(warm_env: Path,
                                                              tmp_path: Path) -> None:
    path = chain(tmp_path, samples=1)
    cold = cli(path, "--workdir", str(tmp_path / "wd1"))
    out, err = cold.communicate(timeout=120)
    assert cold.returncode == 0, out + err
    assert "local processes)" in out  # run by the CLI itself
    assert "a warm engine is loading in the background" in err
    wait_for(warm_env.exists, WARM_UP_SECONDS, "the warm engine to load")
    served = cli(path, "--workdir", str(tmp_path / "wd2"), "--quiet")
    out, err = served.communicate(timeout=120)
    assert served.returncode == 0, out + err
    assert "warm engine is loading" not in err
    assert [r["status"] for r in runrecord.runs(tmp_path / "wd2")] == ["SUCCEEDED"]


def test_turned_off_it_neither_serves_nor_starts(warm: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warmengine.ENV, "0")
    path = chain(tmp_path, samples=1)
    proc = cli(path, "--workdir", str(tmp_path / "wd"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "local processes)" in out and "warm engine" not in err
    [record] = runrecord.runs(tmp_path / "wd")
    assert record["pid"] == proc.pid  # the CLI's own process ran it
