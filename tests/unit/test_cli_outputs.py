"""Where the CLI writes: every output location is checked before any work starts, files are
written all or nothing, and an OSError is one line naming the path and the fix (exit 2).
The message of each class is pinned by tests/golden/errors/cli/."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import atomic
from orchestrator.cli import build, main, outpaths

ROOT = Path(__file__).resolve().parents[2]
DIAMOND = str(ROOT / "examples" / "diamond.py")
RNASEQ = str(ROOT / "examples" / "rnaseq.py")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its text, and every folder (as "/")."""
    return {str(p.relative_to(folder)): p.read_text() if p.is_file() else "/"
            for p in sorted(folder.rglob("*"))}


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.sampled_from(["a.json", "b.json", "sub/c.json", "sub/deep/d.json"]),
                      min_size=1, max_size=4, unique=True),
       fail_at=st.integers(min_value=0, max_value=4))
def test_write_all_changes_every_file_or_none(tmp_path_factory: pytest.TempPathFactory,
                                              names: list[str], fail_at: int) -> None:
    folder = tmp_path_factory.mktemp("out")
    (folder / "a.json").write_text("old a")
    before = tree(folder)
    calls: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == fail_at + 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    files = {folder / n: f"new {n}".encode() for n in names}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", fsync)
        if fail_at < len(names):
            with pytest.raises(OSError) as raised:
                outpaths.write_all(files)
            assert raised.value.filename == str(folder / names[fail_at])
            assert tree(folder) == before  # no temporary file, no new folder, old bytes
        else:
            outpaths.write_all(files)
            assert {n: tree(folder)[n] for n in names} == {n: f"new {n}" for n in names}
            assert not [p for p in folder.rglob("*") if p.name.startswith(atomic.TMP)]


def test_a_file_the_kernel_refuses_keeps_the_old_output(tmp_path: Path) -> None:
    """A real write error (the file-size limit: EFBIG, as a full disk gives ENOSPC)."""
    out = tmp_path / "sm"
    out.mkdir()
    (out / "diamond.asl.json").write_text("old\n")
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
            "from orchestrator.cli import main\n"
            f"sys.exit(main(['compile', {DIAMOND!r}, '-o', 'sm']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("error: sm/diamond.asl.json: File too large; the file is larger "
                           "than this location allows: write elsewhere\n")
    assert tree(out) == {"diamond.asl.json": "old\n"}


def test_compile_writes_none_when_one_target_is_a_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "rnaseq.asl.json").mkdir(parents=True)
    code, err = cli(capsys, "compile", DIAMOND, RNASEQ, "-o", "out")
    assert code == 2
    assert err == ("error: -o out/rnaseq.asl.json: is a folder, and a file is written there; "
                   "move it or choose another file name\n")
    assert tree(tmp_path) == {"out": "/", "out/rnaseq.asl.json": "/"}


def test_the_output_folder_is_checked_before_the_workflows_are_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("mine")

    def never(files: list[str]) -> dict[str, str]:
        raise AssertionError("compiled before the output was checked")

    monkeypatch.setattr(build, "compiled", never)
    assert cli(capsys, "compile", DIAMOND, "-o", "out")[0] == 2
    assert cli(capsys, "template", DIAMOND, "-o", "out/template.yaml")[0] == 2
    assert tree(tmp_path) == {"out": "mine"}


def test_check_mode_writes_nothing_so_it_needs_no_writable_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = cli(capsys, "compile", DIAMOND, "-o", str(ROOT / "state_machines"), "--check")
    assert code == 0, err
    assert tree(tmp_path) == {}


@pytest.mark.parametrize(("exc", "line"), [
    (IsADirectoryError(errno.EISDIR, "Is a directory", "x/y.json"),
     "error: x/y.json: Is a directory; a folder is in the way where a file is written: move "
     "it or choose another location"),
    (PermissionError(errno.EACCES, "Permission denied", "/etc/x"),
     "error: /etc/x: Permission denied; not writable: choose a location you can write to, or "
     "fix its permissions"),
    (OSError(errno.EIO, "Input/output error"),
     "error: Input/output error; check the path and try again"),
])
def test_any_oserror_is_one_line_and_exit_2(exc: OSError, line: str,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    def failing(args: Any) -> int:
        raise exc

    monkeypatch.setattr(build, "cmd_graph", failing)
    assert cli(capsys, "graph", DIAMOND) == (2, line + "\n")


def test_run_checks_its_out_folder_before_the_engine_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.local import engine

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the engine started")

    monkeypatch.setattr(engine, "run", never)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "RUN.json").mkdir(parents=True)
    code, err = cli(capsys, "run", DIAMOND, "--local", "--out", "results", "--workdir", "ws")
    assert code == 2
    assert err == ("error: --out results/RUN.json: is a folder, and a file is written there; "
                   "move it or choose another file name\n")
    assert tree(tmp_path) == {"results": "/", "results/RUN.json": "/"}


def test_an_oserror_during_a_run_says_finished_stages_are_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.local import engine

    def disk_full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "ws" / "s3"))

    monkeypatch.setattr(engine, "run", disk_full)
    monkeypatch.chdir(tmp_path)
    code, err = cli(capsys, "run", DIAMOND, "--local", "--workdir", "ws")
    assert code == 2
    assert err == (f"error: {tmp_path}/ws/s3: No space left on device; the disk is full: free "
                   f"some space or write elsewhere; finished stages are kept in {tmp_path}/ws: "
                   "fix it and run the same command again\n")


def test_a_reader_that_stops_early_gets_no_error_and_no_traceback(tmp_path: Path) -> None:
    """`orchestrator graph FILE | head -1`: the closed pipe is the reader's choice."""
    code = ("import sys\nfrom orchestrator.cli import build, main\n"
            "def big(args):\n    for i in range(200000):\n        print('line', i)\n"
            "    return 0\n"
            "build.cmd_graph = big\n"
            f"sys.exit(main(['graph', {DIAMOND!r}]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_write_all_names_the_target_not_its_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "b.json").mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        outpaths.write_all({tmp_path / "a.json": b"a", tmp_path / "b.json": b"b"})
    assert raised.value.filename == str(tmp_path / "b.json")
    assert tree(tmp_path) == {"b.json": "/"}


def test_deploy_checks_its_staging_folder_before_copying_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".orchestrator" / "sam" / "template.yaml").mkdir(parents=True)
    code, err = cli(capsys, "deploy", DIAMOND)
    assert code == 2
    assert err == ("error: staging folder .orchestrator/sam/template.yaml: is a folder, and a "
                   "file is written there; move it or run deploy from another folder\n")
    assert tree(tmp_path) == {".orchestrator": "/", ".orchestrator/sam": "/",
                              ".orchestrator/sam/template.yaml": "/"}


def test_deploy_refuses_a_stack_name_too_long_for_a_map_workflow_before_staging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.chdir(tmp_path)
    workflow = Path(__file__).resolve().parents[1] / "golden" / "workflows" / "map_strategy.py"
    stack = "s" * 70
    code, err = cli(capsys, "deploy", str(workflow), "--stack-name", stack)
    assert code == 2
    assert err.startswith(f"error: stack '{stack}': workflow 'map-strategy' fans out with "
                          "strategy 'map'")
    assert "(83 characters; Step Functions allows 80): use --stack-name with at most 67" in err
    assert tree(tmp_path) == {}  # nothing staged
