"""The warm engine: ``orchestrator run --local`` served by a process that has loaded it already.

A cold run spends about 4 s before its first job: the interpreter imports the emulator, the
Lambda handlers and botocore's models, and moto builds its responses, templates and backends
on first use. None of that depends on the workflow. So after a cold run the CLI starts a
*warm engine* in the background (:mod:`orchestrator.cli.engined`): a process that has done
one small run of its own to load all of it, then waits on a Unix socket. The next
``orchestrator run --local`` connects, hands over its arguments, environment, working folder
and standard streams, and the warm engine forks a process that runs the command exactly as
the CLI would, in that folder and with those streams, so the progress display, exit code and
files are the same. The CLI here only waits for it and passes signals on:

* Ctrl-C, SIGTERM and SIGHUP are sent to the run, which stops its jobs as a cold run does;
* if the CLI itself dies (SIGKILL), the run sees its connection close and stops the same way.

Only the same installation is served: the socket's name is a digest of the interpreter, the
package's folder and every source file's size and modification time, so an upgrade or an
edit starts a new warm engine. The socket lives in a folder only this user can open, and the
warm engine serves only this user's processes. It exits after :data:`IDLE_SECONDS` unused.
``ORCHESTRATOR_WARM_ENGINE=0`` turns all of it off. Standard library only: the CLI imports
this before anything heavy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestrator.local import wire

ENV = "ORCHESTRATOR_WARM_ENGINE"  # "0": never start or use a warm engine
DIR_ENV = "ORCHESTRATOR_RUNTIME_DIR"  # where sockets and logs go (default: see runtime_dir)
IDLE_SECONDS = 600.0
SOCKET_PATH_BYTES = 108  # sun_path on Linux, its final NUL included
CONNECT_SECONDS = 5.0  # to connect and hear that the run's process has started
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SERVER = "orchestrator.cli.engined"  # the warm engine's module (python -m)
PACKAGES = ("orchestrator", "orchestrator_runtime", "orchestrator_lambdas")
SERVED = False  # True in a run the warm engine forked: it runs here, not remotely


class Unavailable(Exception):
    """No warm engine can take this run; run it in this process."""


def enabled() -> bool:
    return not SERVED and os.environ.get(ENV, "1") != "0"


def runtime_dir() -> Path:
    """A folder only this user can use: $ORCHESTRATOR_RUNTIME_DIR, $XDG_RUNTIME_DIR/orchestrator
    or <temp>/orchestrator-<uid>; raises Unavailable when it is anyone else's to open."""
    base = os.environ.get(DIR_ENV) or (
        os.path.join(os.environ["XDG_RUNTIME_DIR"], "orchestrator")
        if os.environ.get("XDG_RUNTIME_DIR")
        else os.path.join(tempfile.gettempdir(), f"orchestrator-{os.getuid()}"))
    folder = Path(base)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise Unavailable(f"{folder}: {exc.strerror}") from exc
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not folder.is_dir():
        raise Unavailable(f"{folder} is not a private folder of this user")
    return folder


def installation_key() -> str:
    """A digest of what a run executes: the environment and its interpreter (``python`` and
    ``python3`` are one), the ``PYTHON*`` variables (a warm engine's ``sys.path`` is fixed),
    where the packages are, and each of their source files' path, size and modification
    time."""
    digest = hashlib.sha256(f"{sys.prefix}\0{os.path.realpath(sys.executable)}".encode())
    for name, value in sorted(os.environ.items()):  # PYTHONPATH and the like shape sys.path
        if name.startswith("PYTHON"):
            digest.update(f"{name}={value}\0".encode())
    for name in PACKAGES:
        module = sys.modules.get(name) or __import__(name)
        for root in getattr(module, "__path__", []):
            digest.update(root.encode())
            for path, size, mtime in _sources(root):
                digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:20]


def _sources(folder: str) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime in ns) of every .py file under ``folder``, in a stable order."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                yield from _sources(entry.path)
            elif entry.name.endswith(".py"):
                info = entry.stat()
                yield entry.path, info.st_size, info.st_mtime_ns


def socket_path(key: str | None = None) -> Path:
    path = runtime_dir() / f"engine-{key or installation_key()}.sock"
    if len(os.fsencode(path)) + len(".4194304") >= SOCKET_PATH_BYTES:  # with the staging suffix
        raise Unavailable(f"{path.parent} is too deep for a socket (set {DIR_ENV} shorter)")
    return path


def run_remote(argv: Sequence[str]) -> int | None:
    """Run ``orchestrator <argv>`` in the warm engine and return its exit code; None when
    there is no warm engine (or it cannot take the run): then nothing was started."""
    if not enabled():
        return None
    try:
        conn = _connect(socket_path())
    except Unavailable:
        return None
    with conn:
        buffer = bytearray()
        try:
            _hand_over(conn, argv, buffer)
        except (OSError, ValueError, Unavailable):
            return None
        return _wait(conn, buffer)


def _connect(path: Path) -> socket.socket:
    if not path.exists():
        raise Unavailable("no warm engine")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CONNECT_SECONDS)
    try:
        conn.connect(str(path))
    except OSError as exc:
        conn.close()
        if isinstance(exc, ConnectionRefusedError):  # its engine is gone: the file is stale
            with contextlib.suppress(OSError):
                path.unlink()
        raise Unavailable(str(exc)) from exc
    return conn


def _hand_over(conn: socket.socket, argv: Sequence[str], buffer: bytearray) -> None:
    """Send the request with our standard streams; returns once the run has started."""
    umask = os.umask(0o022)
    os.umask(umask)
    request = {"argv": list(argv), "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask}
    fds, opened = [], []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:  # a closed stream: the run gets /dev/null there
            null = os.open(os.devnull, os.O_RDWR)
            opened.append(null)
            fds.append(null)
    try:
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], fds)
    finally:
        for fd in opened:
            os.close(fd)
    if "pid" not in wire.receive(conn, buffer):
        raise Unavailable("the warm engine did not start the run")
    wire.send(conn, {"go": True})  # only now: a client that gave up runs it itself


def _wait(conn: socket.socket, buffer: bytearray) -> int:
    """Pass signals on until the run says how it ended."""
    conn.settimeout(None)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            wire.send(conn, {"signal": signum})

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        while True:
            try:
                message = wire.receive(conn, buffer)
            except InterruptedError:
                continue
            if not message:
                print("error: the warm engine's run ended without an exit status",
                      file=sys.stderr)
                return 1
            if "exit" in message:
                return int(message["exit"])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def loading_lock(path: Path) -> int | None:
    """Hold the lock of the warm engine loading for ``path``: a descriptor (closing it, or the
    process ending, releases the lock), or None when another process holds it."""
    fd = os.open(path.with_suffix(".loading"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def start_background() -> Path | None:
    """Start a warm engine for this installation unless one runs; returns its socket path.
    It loads in the background (a few seconds of one core) and serves the next run."""
    if not enabled():
        return None
    try:
        path = socket_path()
        with contextlib.suppress(Unavailable):
            _connect(path).close()
            return path  # already running
        held = loading_lock(path)
        if held is None:
            return path  # another one is loading
        os.close(held)  # the engine takes it (it may lose it to another one starting now)
        log = path.with_suffix(".log")
        with log.open("ab") as out:
            subprocess.Popen(
                [sys.executable, "-m", SERVER, str(path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                close_fds=True)
    except (OSError, Unavailable):
        return None
    return path
