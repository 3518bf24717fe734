"""Job runners started from a warm process instead of a new interpreter each.

:class:`WarmStart` starts the zygote (:mod:`orchestrator.local.zygote`) on the first job that
runs ``orchestrator-runner`` and asks it for one runner process per job. What the executor
gets back, :class:`WarmProcess`, behaves as the ``subprocess.Popen`` it would otherwise get:
a pid that is its own process group, stdout and stderr pipes, ``wait(timeout)`` and
``returncode`` (``-N`` when signal N ended it). Any other command, or a zygote that cannot be
started or has died, is started with ``subprocess.Popen`` as before, so a job never fails
because of the warm start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from orchestrator.local import zygote
from orchestrator_runtime import contracts

LOG = logging.getLogger(__name__)
START_TIMEOUT = 60.0  # seconds for the zygote to import the runner (a loaded machine)
DISABLE_ENV = "ORCHESTRATOR_COLD_RUNNERS"  # set to 1: every runner a new interpreter


class JobProcess(Protocol):
    """What the executor needs of a job's process (``subprocess.Popen`` has it)."""

    pid: int
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    @property
    def returncode(self) -> int | Any: ...

    def wait(self, timeout: float | None = None) -> int: ...


class WarmProcess:
    """A runner forked by the zygote; ``pid`` is its keeper, the leader of its group."""

    def __init__(self, conn: socket.socket, args: Sequence[str], stdout: IO[bytes],
                 stderr: IO[bytes]) -> None:
        self._conn = conn
        self._buffer = b""
        self._lock = threading.Lock()
        self.args = list(args)
        self.stdout: IO[bytes] | None = stdout
        self.stderr: IO[bytes] | None = stderr
        self.returncode: int | None = None
        self.pid = int(self._message(None)["pid"])

    def _message(self, timeout: float | None) -> dict[str, Any]:
        """The keeper's next line; ``{}`` when it closed the connection without one."""
        self._conn.settimeout(timeout)
        while b"\n" not in self._buffer:
            try:
                chunk = self._conn.recv(4096)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            if not chunk:
                return {}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    def wait(self, timeout: float | None = None) -> int:
        with self._lock:
            if self.returncode is None:
                message = self._message(timeout)
                # Without an answer the keeper died with its runner: only SIGKILL does that.
                self.returncode = int(message.get("exit", -signal.SIGKILL))
                self._conn.close()
            return self.returncode


class WarmStart:
    """The zygote of one engine, started on first use; :meth:`close` stops it."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self._env = dict(env)
        self._log_path = log_path
        self._lock = threading.Lock()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._folder: str | None = None
        self._broken = os.environ.get(DISABLE_ENV) == "1"

    def prestart(self) -> None:
        """Start the zygote now, on a thread of its own, so that its imports (a process of
        their own) overlap whatever the engine does before the first job."""
        threading.Thread(target=self._ready, daemon=True, name="warm-runner-start").start()

    @staticmethod
    def serves(argv: Sequence[str]) -> bool:
        return bool(argv) and Path(argv[0]).name == contracts.RUNNER_COMMAND

    def popen(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> JobProcess:
        """The job's process: forked warm for the runner, else a new one."""
        if self.serves(argv):
            socket_path = self._ready()
            if socket_path is not None:
                try:
                    return self._spawn(socket_path, argv, env, cwd)
                except (OSError, ValueError) as exc:
                    LOG.warning("warm start failed (%s); starting runners cold", exc)
                    self._broken = True
        return subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)

    def _ready(self) -> str | None:
        with self._lock:
            if self._broken:
                return None
            if self._zygote is None:
                try:
                    self._start()
                except (OSError, ValueError) as exc:
                    LOG.warning("could not start the warm runner (%s); starting runners cold",
                                exc)
                    self._broken = True
                    self._stop()
                    return None
            if self._zygote is None or self._zygote.poll() is not None:
                self._broken = True
                return None
            assert self._folder is not None
            return os.path.join(self._folder, "s")

    def _start(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="orch-warm-")
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._zygote = subprocess.Popen(
                [sys.executable, "-m", zygote.__name__, os.path.join(self._folder, "s")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=self._env,
                start_new_session=True)
        assert self._zygote.stdout is not None
        ready = _read_line(self._zygote.stdout, START_TIMEOUT)
        if ready != zygote.READY:
            raise ValueError(f"the warm runner did not start (see {self._log_path})")

    def _spawn(self, socket_path: str, argv: Sequence[str], env: Mapping[str, str],
               cwd: Path) -> WarmProcess:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(socket_path)
            request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd)}
            socket.send_fds(conn, [json.dumps(request).encode()], [out_w, err_w])
        except BaseException:
            conn.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        try:
            return WarmProcess(conn, argv, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))
        except (OSError, ValueError, KeyError):
            conn.close()
            raise ValueError("the warm runner closed the connection") from None

    def close(self) -> None:
        with self._lock:
            self._broken = True
            self._stop()

    def _stop(self) -> None:
        zygote_ = self._zygote
        self._zygote = None
        if zygote_ is not None:
            if zygote_.stdin is not None:
                with contextlib.suppress(OSError):
                    zygote_.stdin.close()
            try:
                zygote_.wait(timeout=5)
            except subprocess.TimeoutExpired:
                zygote_.kill()
                zygote_.wait()
            if zygote_.stdout is not None:
                zygote_.stdout.close()
        if self._folder is not None:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self._folder, "s"))
            with contextlib.suppress(OSError):
                os.rmdir(self._folder)
            self._folder = None


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """One line from a pipe, or b"" after ``timeout`` seconds or at its end."""
    line = b""
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            return b""
        chunk = os.read(fd, 1)
        if not chunk:
            return b""
        line += chunk
    return line
