"""The warm engine's client side: which installation it serves, where its socket lives, and
that a missing or dead warm engine means running in this process (nothing started)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

from orchestrator.local import warmengine


@pytest.fixture
def runtime(warm_runtime: Path) -> Path:
    return warm_runtime


def test_the_key_changes_with_any_source_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 1\n")
    monkeypatch.setitem(sys.modules, "fakepkg", types.SimpleNamespace(__path__=[str(package)]))
    monkeypatch.setattr(warmengine, "PACKAGES", ("fakepkg",))
    first = warmengine.installation_key()
    assert warmengine.installation_key() == first
    (package / "sub" / "b.py").write_text("B = 22\n")  # an edit deep in the package
    second = warmengine.installation_key()
    assert second != first
    os.utime(package / "a.py", ns=(1, 1))  # touched, same bytes
    assert warmengine.installation_key() not in (first, second)
    (package / "notes.txt").write_text("not code")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.py").write_text("")
    third = warmengine.installation_key()
    (package / "notes.txt").write_text("still not code")
    assert warmengine.installation_key() == third
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # another sys.path: another warm engine
    assert warmengine.installation_key() != third


def test_the_socket_folder_is_private(runtime: Path) -> None:
    path = warmengine.socket_path("k")
    assert path.parent == runtime
    assert runtime.stat().st_mode & 0o777 == 0o700
    runtime.chmod(0o777)  # anyone could put a socket there: not ours to trust
    with pytest.raises(warmengine.Unavailable, match="not a private folder"):
        warmengine.socket_path("k")


def test_no_warm_engine_means_run_here(runtime: Path) -> None:
    assert warmengine.run_remote(["run", "wf.py", "--local"]) is None


def test_a_dead_engines_socket_is_removed_and_the_run_is_here(runtime: Path) -> None:
    path = warmengine.socket_path()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.close()  # the file stays; nobody listens: what a killed engine leaves
    assert path.exists()
    assert warmengine.run_remote(["run", "wf.py", "--local"]) is None
    assert not path.exists()


def test_turned_off_nothing_is_asked_or_started(runtime: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warmengine.ENV, "0")
    assert not warmengine.enabled()
    assert warmengine.start_background() is None
    assert not runtime.exists()


def test_the_warm_engine_keeps_the_definitions_a_run_taught_it(tmp_path: Path) -> None:
    from orchestrator.cli import engined
    from orchestrator.local import aslcache

    definition = json.dumps({"Comment": "taught", "StartAt": "A",
                             "States": {"A": {"Type": "Pass", "End": True}}})
    server, client = socket.socketpair()
    with server, client:
        client.sendall(json.dumps({"learn": [definition, 42]}).encode() + b"\n")
        client.shutdown(socket.SHUT_WR)
        engined._answer(server, server, tmp_path / "unused.sock")  # served in this process
    assert definition in aslcache.kept()


def test_one_warm_engine_loads_at_a_time(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen",
                        lambda argv, **_: started.append(argv))
    path = warmengine.socket_path()
    held = warmengine.loading_lock(path)  # as a loading warm engine holds it
    assert held is not None
    assert warmengine.loading_lock(path) is None
    assert warmengine.start_background() == path
    assert started == []  # the loading one will serve
    os.close(held)  # it died, or finished loading and lost its socket
    assert warmengine.start_background() == path
    assert [argv[-2:] for argv in started] == [[warmengine.SERVER, str(path)]]


def test_a_folder_too_deep_for_a_socket_means_run_here(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warmengine.ENV, "1")
    monkeypatch.setenv(warmengine.DIR_ENV, str(tmp_path / ("d" * 90)))
    with pytest.raises(warmengine.Unavailable, match="too deep for a socket"):
        warmengine.socket_path()
    assert warmengine.run_remote(["run", "wf.py", "--local"]) is None
    assert warmengine.start_background() is None
