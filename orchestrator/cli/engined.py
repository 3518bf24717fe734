"""The warm engine's process (``python -m orchestrator.cli.engined SOCKET``); see warmengine.

It loads the engine by doing one small run of its own (so every import, botocore model, moto
response class and template a run needs is loaded), checks that no thread of that run is
left (a fork copies only the thread that forks), and only then binds its socket, so a client
never finds an engine that is still loading. For each connection from this user it forks a
process that becomes the client's command: the client's standard streams, folder,
environment and arguments, the CLI's ``main``; it reports ``{"pid"}`` when it starts and
``{"exit"}`` when it ends. A ``{"signal"}`` from the client is raised in the run; the
client's connection closing (the CLI was killed) is a SIGTERM. It exits after
``warmengine.IDLE_SECONDS`` without a connection, or soon after its socket file is removed or
taken by another warm engine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from orchestrator.local import warmengine, wire

WARM_UP = '''
from orchestrator import Workflow

wf = Workflow("warm", bucket="s3://warm-engine/warm")
wf.job("one", image="img", command=["cp {inputs.x} {outputs.y}"], shell=True,
       inputs={"x": "in.txt"}, outputs={"y": "out.txt"}, timeout="5m")
'''
THREADS_SECONDS = 10.0  # for the warm-up run's threads to end
LOOK_SECONDS = 15.0  # how often an idle warm engine checks that its socket is still its own


def warm_up() -> None:
    """One real local run of a one-job workflow, in a folder that is then removed."""
    from orchestrator import cli
    from orchestrator.cli import local  # noqa: F401  (the command module a run needs)
    from orchestrator.local.engine import RunOptions, run

    cli.parser()  # every command module, as the CLI imports them
    with tempfile.TemporaryDirectory(prefix="orch-warm-engine-") as tmp:
        folder = Path(tmp)
        (folder / "data" / "warm").mkdir(parents=True)
        (folder / "data" / "warm" / "in.txt").write_text("warm\n")
        (folder / "warm.py").write_text(WARM_UP)
        result = run(RunOptions(folder / "warm.py", workdir=folder / "wd"))
    if not result.succeeded:
        raise RuntimeError(f"the warm-up run ended {result.status}: {result.cause}")
    deadline = time.monotonic() + THREADS_SECONDS
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    if threading.active_count() > 1:
        names = ", ".join(t.name for t in threading.enumerate())
        raise RuntimeError(f"threads left after the warm-up run: {names}")


def serve(path: Path, loading: int) -> None:
    """Listen on ``path`` (then let go of the ``loading`` lock) and answer until idle."""
    listener = _bind(path)
    identity = path.stat().st_ino
    os.close(loading)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runs are reaped by the kernel
    last = time.monotonic()
    try:
        while _still_ours(path, identity) and time.monotonic() - last < warmengine.IDLE_SECONDS:
            ready, _, _ = select.select([listener], [], [], LOOK_SECONDS)
            if not ready:
                continue
            last = time.monotonic()
            conn, _ = listener.accept()
            with conn:
                _answer(conn, listener, path)
    finally:
        if _still_ours(path, identity):
            with contextlib.suppress(OSError):
                path.unlink()


def _answer(conn: socket.socket, listener: socket.socket, path: Path) -> None:
    """One connection: a run to fork, or definitions a run used, to parse and keep here."""
    if _peer_uid(conn) != os.getuid():
        return
    conn.settimeout(warmengine.CONNECT_SECONDS)
    try:
        message, fds, _, _ = socket.recv_fds(conn, 1 << 24, 3)
    except OSError:
        return
    try:
        request = json.loads(message)
        if not isinstance(request, dict):
            return
        if "learn" in request:
            from orchestrator.local import aslcache

            aslcache.learn([d for d in request["learn"] if isinstance(d, str)])
        elif len(fds) == 3 and os.fork() == 0:
            listener.close()
            _run(conn, request, fds, path)
    except ValueError:
        return
    finally:
        for fd in fds:
            os.close(fd)


def _bind(path: Path) -> socket.socket:
    """Listen on ``path``, which appears only now that the engine is warm."""
    staging = path.with_name(f"{path.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        staging.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(staging))
    listener.listen(16)
    os.replace(staging, path)
    return listener


def _still_ours(path: Path, identity: int) -> bool:
    try:
        return path.stat().st_ino == identity
    except OSError:
        return False


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _run(conn: socket.socket, request: dict[str, Any], fds: list[int], path: Path) -> NoReturn:
    """In the forked process: become the client's command, run it, report its exit code.
    Nothing escapes this function: the process ends here, whatever happens (an exception
    that reached the server's code would run its clean-up in this process)."""
    from orchestrator.local import aslcache

    code = 1
    known = set(aslcache.kept())
    try:
        code = _command(conn, request, fds)
    except SystemExit as exc:
        code = wire.exit_status(exc)
    except BaseException:  # show why, as the CLI would (the stream may be gone)
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        with contextlib.suppress(BaseException):
            wire.send(conn, {"exit": code})
        with contextlib.suppress(BaseException):
            _teach(path, [d for d in aslcache.kept() if d not in known])
        os._exit(code & 0xFF if isinstance(code, int) else 1)


def _teach(path: Path, definitions: list[str]) -> None:
    """Tell the warm engine the definitions this run parsed: its next runs skip the parse."""
    if not definitions:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as teacher:
        teacher.settimeout(warmengine.CONNECT_SECONDS)
        teacher.connect(str(path))
        wire.send(teacher, {"learn": definitions})


def _command(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _become(request, fds)
    wire.send(conn, {"pid": os.getpid()})
    buffer = bytearray()
    if not wire.receive(conn, buffer).get("go"):  # the client gave up: it runs it itself
        os._exit(1)
    conn.settimeout(None)
    threading.Thread(target=_follow, args=(conn, buffer), daemon=True,
                     name="warm-engine-client").start()
    from orchestrator import cli

    return cli.main(list(request["argv"]))


def _become(request: dict[str, Any], fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.umask(int(request.get("umask", 0o022)))
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["orchestrator", *request["argv"]]
    for stream in (sys.stdout, sys.stderr):  # a terminal now, perhaps: flush by line there
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(Exception):
                stream.reconfigure(line_buffering=stream.isatty())
    from orchestrator_runtime import envcache

    envcache.clear_all()  # clients of the warm-up run's emulator
    warmengine.SERVED = True


def _follow(conn: socket.socket, buffer: bytearray) -> None:
    """The client's signals, raised here; its connection closing is a SIGTERM."""
    while True:
        try:
            message = wire.receive(conn, buffer)
        except (OSError, ValueError):
            message = {}
        if not message:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signum = message.get("signal")
        if signum in {int(s) for s in warmengine.FORWARDED}:
            os.kill(os.getpid(), int(signum))


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    loading = warmengine.loading_lock(path)
    if loading is None:
        return 0  # another warm engine for this installation is loading
    try:
        warm_up()
    except Exception:
        traceback.print_exc()
        return 1
    serve(path, loading)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
