"""Runners forked from the warm zygote behave as runners started cold: same exit codes,
streams, environment, working directory and process group, killed the same way; and a
zygote that is gone never fails a job."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.local.warmstart import DISABLE_ENV, JobProcess, WarmProcess, WarmStart
from orchestrator_runtime import contracts

RUNNER = [contracts.RUNNER_COMMAND, "--task", "task.json"]  # relative: read from the cwd


@pytest.fixture(params=["warm", "cold"])
def starter(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[WarmStart]:
    if request.param == "cold":
        monkeypatch.setenv(DISABLE_ENV, "1")
    else:
        monkeypatch.delenv(DISABLE_ENV, raising=False)
    ws = WarmStart(env(), tmp_path / "logs" / "warm.log")
    yield ws
    ws.close()


def env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    return {**os.environ, "PATH": path, **extra}


def job(tmp_path: Path, script: str) -> Path:
    """A working directory with a task whose shell command is ``script``."""
    task: dict[str, Any] = {
        "version": contracts.CONTRACT_VERSION, "workflow": "wf", "stage": "st",
        "sample": "S1", "execution": "exec-1", "image": "img", "command": [script],
        "environment": {}, "shell": True, "stdout": None, "values": {}, "inputs": {},
        "outputs": {}, "allow_empty": False, "marker": f"{tmp_path}/marker/"}
    task["fingerprint_basis"] = contracts.fingerprint_basis(
        task["image"], task["command"], {}, {}, {}, {})
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    (cwd / "task.json").write_text(json.dumps(task))
    return cwd


def finish(proc: JobProcess) -> tuple[int, str, str]:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    return proc.wait(timeout=30), out, err


def test_a_runner_gets_its_own_environment_directory_streams_and_exit_code(
        starter: WarmStart, tmp_path: Path) -> None:
    cwd = job(tmp_path, 'echo "out:$FOO"; echo "err:$FOO" >&2; exit 3')
    proc = starter.popen(RUNNER, env(FOO="bar", ORCH_SCRATCH=str(tmp_path)), cwd)
    code, out, err = finish(proc)
    assert code == 3, err
    assert "out:bar" in out
    assert "err:bar" in err
    assert "command failed with exit code 3" in err.strip().splitlines()[-1]
    assert not (tmp_path / "marker").exists()


def test_a_runner_is_the_leader_of_its_group_and_dies_with_it(
        starter: WarmStart, tmp_path: Path) -> None:
    cwd = job(tmp_path, "echo started; sleep 60")
    proc = starter.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd)
    assert os.getpgid(proc.pid) == proc.pid  # what the executor kills
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    os.killpg(proc.pid, signal.SIGTERM)  # at once: the runner's handlers came first
    code = proc.wait(timeout=30)
    assert code == 128 + signal.SIGTERM  # the runner reports its command's death
    with contextlib.suppress(ProcessLookupError):  # the group may be gone already: the
        os.killpg(proc.pid, signal.SIGKILL)  # executor does this after every attempt
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the group is gone once the kernel has reaped it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


def test_sigkill_of_the_group_reads_as_killed(starter: WarmStart, tmp_path: Path) -> None:
    cwd = job(tmp_path, "echo started; sleep 60")
    proc = starter.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_wait_with_a_timeout_raises_as_popen_does(starter: WarmStart, tmp_path: Path) -> None:
    cwd = job(tmp_path, "sleep 60")
    proc = starter.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_only_runners_are_forked_warm_and_a_dead_zygote_falls_back_to_cold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    ws = WarmStart(env(), tmp_path / "warm.log")
    try:
        other = ws.popen(["sh", "-c", "exit 5"], env(), tmp_path)
        assert isinstance(other, subprocess.Popen) and other.wait(timeout=30) == 5
        assert ws._zygote is None  # nothing warm was started for it

        cwd = job(tmp_path, "exit 0")
        warm = ws.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd)
        assert isinstance(warm, WarmProcess) and finish(warm)[0] == 0

        assert ws._zygote is not None
        ws._zygote.kill()
        ws._zygote.wait()
        cold = ws.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd)
        assert isinstance(cold, subprocess.Popen)
        code, _, err = finish(cold)
        assert code == 0, err
    finally:
        ws.close()


def test_close_stops_the_zygote_and_removes_its_socket(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    ws = WarmStart(env(), tmp_path / "warm.log")
    cwd = job(tmp_path, "exit 0")
    assert finish(ws.popen(RUNNER, env(ORCH_SCRATCH=str(tmp_path)), cwd))[0] == 0
    zygote, folder = ws._zygote, ws._folder
    assert zygote is not None and folder is not None
    ws.close()
    assert zygote.poll() is not None
    assert not Path(folder).exists()
    assert isinstance(ws.popen(["true"], env(), tmp_path), subprocess.Popen)
