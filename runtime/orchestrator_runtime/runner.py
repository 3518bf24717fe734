"""The job runner: the container command of every Batch job (``orchestrator-runner``).

It executes one :class:`~orchestrator_runtime.contracts.RunnerTask`: read the task document
(``$ORCH_TASK_URI`` or ``--task``), download the inputs into a scratch directory, run the
command there with placeholders filled (see :mod:`orchestrator_runtime.runner_template`),
check the outputs, upload them, and write the completion marker LAST, so that a crash at
any point leaves a stage that does not look complete.

Exit codes: the command's own code when it fails (128 + N when it dies from signal N), so
Batch's ``evaluateOnExit`` sees the real code; 3 when the command succeeded but a declared
output is missing (or empty without ``allow_empty``); 4 when the task cannot be read or is
invalid; 5 when S3 fails (download, upload, marker); 126/127 when the program cannot be
executed / does not exist; 70 for a bug in the runner itself (its traceback is printed).
Under AWS Batch a failure that the job retries ends with 199 instead (see
:mod:`orchestrator_runtime.runner_retry`): that is how the runner asks Batch for an attempt.
Each failure ends with one line starting ``orchestrator-runner:`` on standard error; only a
bug comes with a traceback.

Array stages (:mod:`orchestrator_runtime.runner_manifest`): without a task, a job whose
environment names a manifest (``$ORCH_MANIFEST_URI``) runs one line of it, picked by
``$ORCH_MANIFEST_OFFSET`` + ``$AWS_BATCH_JOB_ARRAY_INDEX``; a line that cannot be read or
resolved is a task error (4).

Debugging by hand: ``orchestrator-runner --task task.json --keep-scratch``, or
``orchestrator-runner --manifest s3://.../manifest.jsonl --line 7``; inputs, outputs and
the marker in the task may be local paths (or ``file://`` URIs) instead of ``s3://``.
S3 is reached through boto3's default credential chain; ``AWS_ENDPOINT_URL`` points it
elsewhere (the local engine's emulator).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from orchestrator_runtime import contracts, runner_manifest
from orchestrator_runtime.runner_errors import (
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    EXIT_OUTPUT_MISSING,
    RunnerError,
    task_error,
)
from orchestrator_runtime.runner_io import (
    STORAGE_ERRORS,
    Store,
    describe,
    input_layout,
    output_layout,
)
from orchestrator_runtime.runner_retry import exit_status
from orchestrator_runtime.runner_task import check_task, parse_task
from orchestrator_runtime.runner_template import TemplateError, argv, environment, values_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCRATCH_ENV = "ORCH_SCRATCH"  # parent of the per-run scratch directories
EXIT_INTERNAL = 70  # a bug in the runner itself (EX_SOFTWARE)
_PREFIX = f"{contracts.RUNNER_COMMAND}: ".encode()
_CHUNK = 64 * 1024  # longest piece of a line forwarded at once


def execute(
    task: str | Mapping[str, Any] | runner_manifest.LineSource,
    *,
    scratch: str | os.PathLike[str] | None = None,
    keep_scratch: bool = False,
    s3: S3Client | None = None,
    out: BinaryIO | None = None,
    err: BinaryIO | None = None,
) -> int:
    """Run one task and return the exit code the process should end with.

    ``task`` is a task document or its location (``s3://``, ``file://`` or a path), or a
    line of an array stage's manifest.
    ``scratch`` is the directory under which a fresh working directory is made (default:
    the system temp dir); it is removed afterwards unless ``keep_scratch``. ``out``/``err``
    receive the command's output and the runner's messages (default: this process's).
    """
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr.buffer
    store = Store(s3)
    try:
        doc = _load(task, store, err)
        with _workdir(scratch, keep_scratch, err) as work:
            return _run(doc, work, store, out, err)
    except RunnerError as exc:
        _say(err, exc.message)
        return exc.code


def _load(task: str | Mapping[str, Any] | runner_manifest.LineSource, store: Store,
          err: BinaryIO) -> contracts.RunnerTask:
    if isinstance(task, runner_manifest.LineSource):
        doc, which = runner_manifest.load(task, store)
        _say(err, which)
        return doc
    if not isinstance(task, str):
        return check_task(dict(task), "document")
    try:
        raw = store.read(task)
    except RunnerError as exc:
        raise task_error(f"cannot read task {task}: {exc.message}") from None
    except STORAGE_ERRORS as exc:
        raise task_error(f"cannot read task {task}: {describe(exc)}") from None
    return parse_task(raw, task)


def _run(task: contracts.RunnerTask, work: Path, store: Store, out: BinaryIO, err: BinaryIO) -> int:
    where = f"{task['stage']}/{task['sample']}"
    inputs = input_layout(work, task["inputs"])
    outputs = output_layout(work, task["outputs"])
    table = values_for(
        task["values"],
        {name: [str(p) for p in paths] for name, paths in inputs.items()},
        {name: str(p) for name, p in outputs.items()},
        {name: str(p.parent) for name, p in outputs.items()},
    )
    try:
        command = argv(task["command"], table, shell=task["shell"])
        env = environment(task["environment"], table)
    except TemplateError as exc:
        raise task_error(str(exc)) from None

    count = sum(len(u) for u in task["inputs"].values())
    _say(err, f"{where}: downloading {count} input object(s)")
    etags: dict[str, list[str]] = {}
    for name, uris in task["inputs"].items():
        etags[name] = [store.fetch(uri, dest)
                       for uri, dest in zip(uris, inputs[name], strict=True)]
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)

    _say(err, f"{where}: running {command[0] if not task['shell'] else 'shell command'}")
    stdout_file = outputs[task["stdout"]] if task["stdout"] else None
    status = run_command(command, {**os.environ, "PYTHONUNBUFFERED": "1", **env}, work,
                         stdout_file, out, err)
    if status < 0:
        _say(err, f"{where}: command killed by signal {_signame(-status)}; "
                  f"exiting {128 - status}")
        return 128 - status
    if status != 0:
        _say(err, f"{where}: command failed with exit code {status}")
        return status

    missing = [
        f"{name} ({'absent' if not p.exists() else 'empty'}, expected at {p})"
        for name, p in outputs.items()
        if not p.is_file() or (p.stat().st_size == 0 and not task["allow_empty"])
    ]
    if missing:
        hint = "" if task["allow_empty"] else "; set allow_empty=True if empty is valid"
        raise RunnerError(EXIT_OUTPUT_MISSING, f"{where}: command succeeded but output(s) "
                          f"missing: {'; '.join(missing)}{hint}")

    recorded: dict[str, contracts.MarkerOutput] = {}
    for name, path in outputs.items():
        uri = task["outputs"][name]
        etag = store.put(path, uri)
        recorded[name] = {"uri": uri, "etag": etag, "size": path.stat().st_size}
    fingerprint = contracts.fingerprint(task["fingerprint_basis"], etags)
    marker: contracts.Marker = {
        "version": contracts.CONTRACT_VERSION,
        "fingerprint": fingerprint,
        "stage": task["stage"],
        "sample": task["sample"],
        "execution": task["execution"],
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "outputs": recorded,
        "basis": task["fingerprint_basis"],
        "input_etags": etags,
    }
    name = contracts.marker_name(
        fingerprint, contracts.outputs_digest({n: r["etag"] for n, r in recorded.items()}))
    store.put_bytes(contracts.canonical_json(marker).encode(), task["marker"] + name)
    _say(err, f"{where}: uploaded {len(recorded)} output(s); marker written")
    _drop_old_markers(store, task["marker"], name, err)
    return 0


def _drop_old_markers(store: Store, folder: str, keep: str, err: BinaryIO) -> None:
    """Remove the markers the new one supersedes (only after it is written): they vouch for
    nothing now, and each would cost the stage's listing a key. Failing here loses nothing."""
    try:
        for old in store.names(folder):
            if old != keep and contracts.parse_marker_name(old) is not None:
                store.remove(folder + old)
    except STORAGE_ERRORS as exc:
        _say(err, f"could not remove superseded markers in {folder}: {describe(exc)}")


def run_command(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    stdout_file: Path | None,
    out: BinaryIO,
    err: BinaryIO,
) -> int:
    """Run ``command`` streaming its output line by line; returns its exit status.

    The status is the exit code, or -N for a death by signal N (as subprocess reports it).
    With ``stdout_file`` the standard output goes to that file instead of ``out``.
    """
    with contextlib.ExitStack() as stack:
        target: IO[bytes] | int = (
            stack.enter_context(stdout_file.open("wb")) if stdout_file else subprocess.PIPE
        )
        # handlers first: a SIGTERM while the command starts is kept and passed on to it
        started = stack.enter_context(_forward_signals())
        try:
            proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env),
                                    stdin=subprocess.DEVNULL, stdout=target,
                                    stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise RunnerError(EXIT_NOT_FOUND, f"program {command[0]!r} not found "
                              "(is it installed in the image and on PATH?)") from None
        except PermissionError:
            raise RunnerError(EXIT_NOT_EXECUTABLE,
                              f"program {command[0]!r} is not executable") from None
        started(proc)
        pumps = [threading.Thread(target=_pump, args=(src, dst), daemon=True)
                 for src, dst in ((proc.stdout, out), (proc.stderr, err)) if src is not None]
        for pump in pumps:
            pump.start()
        status = proc.wait()
        for pump in pumps:
            pump.join()
    return status


def _pump(src: IO[bytes], dst: BinaryIO) -> None:
    with src:
        for line in iter(lambda: src.readline(_CHUNK), b""):
            dst.write(line)
            dst.flush()


@contextlib.contextmanager
def _forward_signals() -> Iterator[Callable[[subprocess.Popen[bytes]], None]]:
    """Pass SIGTERM/SIGINT (Batch stopping the container) on to the command. The handlers
    are in place before the command starts; what it yields is told the command once it runs,
    and a signal that came before is sent on then (never lost, never the runner's death)."""
    pending: list[int] = []
    running: list[subprocess.Popen[bytes]] = []

    def started(proc: subprocess.Popen[bytes]) -> None:
        running.append(proc)
        while pending:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(pending.pop(0))

    if threading.current_thread() is not threading.main_thread():
        yield started
        return

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not running:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            running[0].send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield started
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _workdir(parent: str | os.PathLike[str] | None, keep: bool, err: BinaryIO) -> Iterator[Path]:
    if parent is not None:
        Path(parent).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="orch-", dir=parent)).resolve()
    try:
        yield work
    finally:
        if keep:
            _say(err, f"scratch kept at {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _signame(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _say(err: BinaryIO, message: str) -> None:
    err.write(_PREFIX + message.encode("utf-8", "replace") + b"\n")
    err.flush()


def main(argv_: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=contracts.RUNNER_COMMAND,
        description="Run one orchestrator task: inputs from S3, command, outputs to S3, "
                    "marker last.")
    parser.add_argument("--task", help=f"task location: s3://, file:// or a path "
                                       f"(default: ${contracts.TASK_ENV})")
    parser.add_argument("--manifest", help="run one line of an array stage's manifest "
                                           f"(default: ${contracts.MANIFEST_ENV})")
    parser.add_argument("--line", type=int, help="the manifest line to run, from 0 (default: "
                        f"${contracts.MANIFEST_OFFSET_ENV} + ${contracts.ARRAY_INDEX_ENV})")
    parser.add_argument("--width", type=int, help="bytes per manifest line (default: "
                        f"${contracts.MANIFEST_WIDTH_ENV}, or read from the first line)")
    parser.add_argument("--scratch", default=os.environ.get(SCRATCH_ENV),
                        help=f"directory for working files (default: ${SCRATCH_ENV} or "
                             "the system temp dir)")
    parser.add_argument("--keep-scratch", action="store_true",
                        help="leave the working directory in place for inspection")
    args = parser.parse_args(argv_)
    err = sys.stderr.buffer
    source: str | runner_manifest.LineSource | None = None
    if args.task and args.manifest:
        _say(err, "pass --task or --manifest, not both")
        return task_error("").code
    if args.manifest or not (args.task or os.environ.get(contracts.TASK_ENV)):
        try:
            source = runner_manifest.line_source(os.environ, manifest=args.manifest,
                                                 line=args.line, width=args.width)
        except RunnerError as exc:
            _say(err, exc.message)
            return exc.code
    if (args.line is not None or args.width is not None) and source is None:
        _say(err, f"--line and --width read a manifest: pass --manifest (or set "
                  f"{contracts.MANIFEST_ENV}) too")
        return task_error("").code
    source = source or args.task or os.environ.get(contracts.TASK_ENV)
    if not source:
        _say(err, f"no task given: set {contracts.TASK_ENV} (or {contracts.MANIFEST_ENV}) or "
                  "pass --task (or --manifest)")
        return task_error("").code
    try:
        code = execute(source, scratch=args.scratch, keep_scratch=args.keep_scratch)
    except Exception as exc:  # top level: a bug in the runner, shown as one (traceback first)
        traceback.print_exc()
        sys.stderr.flush()
        _say(err, f"internal error (a bug in {contracts.RUNNER_COMMAND}, please report it): "
                  f"{type(exc).__name__}: {exc}")
        code = EXIT_INTERNAL
    final, why = exit_status(code, os.environ)
    if why:
        _say(err, why)
    return final


if __name__ == "__main__":
    sys.exit(main())
