"""The warm start of job runners: a process that has imported the runner and boto3 once and
forks a runner for each job (``python -m orchestrator.local.zygote SOCKET``).

A fresh ``orchestrator-runner`` spends about 0.7 s of CPU importing boto3 and loading the S3
model before it reads its task; on 2 cores that was most of a trivial job's cost. Here it is
paid once per run. Each job is still a real process of its own: a new session (so its group
is killed with it, as a container's is), its own environment, working directory, standard
streams and exit code, and it runs the runner's ``main`` exactly as the console script does.

The protocol, one connection per job (see :mod:`orchestrator.local.warmstart`): the engine
sends one JSON line ``{"argv", "env", "cwd"}`` with two descriptors (the write ends of the
job's stdout and stderr pipes); the zygote forks a *keeper*, which starts a new session,
answers ``{"pid": <its pid>}``, forks the runner, waits for it and answers its exit status
(``-N`` for signal N) before it exits. The keeper ignores SIGTERM and SIGINT so that it can
report how the runner ended when the engine stops the group; SIGKILL of the group ends both,
and the engine reads the closed connection as killed.

The zygote exits when its standard input closes (the engine stopped or died). Every process
it forks carries its environment, so the run's reaper finds and sweeps them like any job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any, NoReturn

from orchestrator.local import wire

READY = b"ready\n"
EXIT_INTERNAL = 70  # as the runner's own: a bug, with its traceback


def _warm() -> None:
    """Import what every runner imports and load the S3 model into the shared loader."""
    import boto3
    import boto3.s3.transfer  # uploads import it lazily
    from botocore.config import Config

    from orchestrator.local import botodata
    from orchestrator_runtime import runner  # noqa: F401

    botodata.share_loader()  # every session the runners create reads the same cache
    boto3.session.Session().client(
        "s3", region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url="http://127.0.0.1:9", aws_access_key_id="warm",
        aws_secret_access_key="warm", config=Config(retries={"mode": "standard"}))


def _runner(request: dict[str, Any], out: int, err: int) -> NoReturn:
    """In the runner process: become the job and run the runner's main."""
    code = EXIT_INTERNAL
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as a new interpreter's
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (null, out, err):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        from orchestrator_runtime import runner

        code = runner.main(sys.argv[1:])
    except SystemExit as exc:
        code = wire.exit_status(exc)
    except BaseException:  # the process ends here either way: show why
        traceback.print_exc()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe: nothing left to say
                stream.flush()
    os._exit(code & 0xFF)


def _keeper(conn: socket.socket) -> NoReturn:
    """In the forked keeper: start the job's session, run it, report how it ended."""
    status = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):  # not the engine's pipes: they are the zygote's
            os.dup2(null, fd)
        os.close(null)
        message, fds, _, _ = socket.recv_fds(conn, 1 << 22, 2)
        request = json.loads(message)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        pid = os.fork()
        if pid == 0:
            conn.close()
            _runner(request, *fds)
        for fd in fds:
            os.close(fd)
        wire.send(conn, {"pid": os.getpid()})
        _, wait_status = os.waitpid(pid, 0)
        wire.send(conn, {"exit": os.waitstatus_to_exitcode(wait_status)})
        status = 0
    except BaseException:  # the engine reads a closed connection
        traceback.print_exc()
    os._exit(status)


def serve(path: str) -> NoReturn:
    _warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(socket.SOMAXCONN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([listener, stdin], [], [])
        if stdin in readable and not os.read(stdin, 4096):  # the engine closed the pipe
            listener.close()  # (or died): nothing here to finalise, and the interpreter's
            os._exit(0)  # own teardown of boto3's modules took 0.17 s the engine waited for
        if listener in readable:
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _keeper(conn)
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
