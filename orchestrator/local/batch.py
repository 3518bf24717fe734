"""Batch jobs as local processes: the executor behind the embedded engine's SubmitJob.

A submitted job goes RUNNABLE and waits in line until the machine has room for its vCPUs
(``cores``, first come first served; a job asking for more than the machine has runs alone),
goes STARTING and RUNNING while its command runs as a process group, then SUCCEEDED (exit 0)
or FAILED. A failed attempt is retried as the job's retry strategy says
(:func:`should_retry`), going back to the end of the line; an attempt that outlives
``attemptDurationSeconds`` is killed (SIGTERM, then SIGKILL after ``kill_grace``) and, as on
AWS, not retried. TerminateJob kills a running job the same way; a job still in line leaves
it FAILED.

An array job (``arrayProperties.size`` 2 to 10,000) is a parent that runs nothing and as many
children (:class:`~orchestrator.local.batch_job.ChildJob`), each a job of its own in the
line above: its own attempts, retries, timeout and log streams, with
``AWS_BATCH_JOB_ARRAY_INDEX`` set. The parent's status follows its children's
(:meth:`~orchestrator.local.batch_job.LocalJob.derived_status`); terminating or cancelling
the parent does the same to each child.

Job processes that run ``orchestrator-runner`` are forked from a warm interpreter
(:mod:`~orchestrator.local.warmstart`) rather than started cold: still one process group per
attempt, with its own environment, directory, pipes and exit code.

Only units holding vCPUs have threads (one worker per running attempt, plus its output
pumps): a thousand queued children cost a thousand small objects, not a thousand threads.

Each attempt writes stdout and stderr to ``log_dir / logStreamName`` (the attempt's
``container.logStreamName``), and the last ``tail_lines`` lines of stderr stay in memory
(:meth:`LocalBatch.stderr_tail`). Listeners (:meth:`LocalBatch.add_listener`,
:meth:`~LocalBatch.add_batch_listener`) receive the DescribeJobs description of a job
(parent or child) at every status change after submission, in the order the changes
happened, from one delivery thread: that is where "Batch Job State Change" events come from.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from moto.batch.exceptions import ClientException
from moto.batch.models import BatchBackend

from orchestrator.local.batch_job import (
    BATCH_FINAL,
    ENGINE_STOPPED,
    EXITED,
    START_FAILED,
    TIMED_OUT,
    Attempt,
    ChildJob,
    LocalJob,
    Unit,
    now_ms,
)
from orchestrator.local.batch_spec import run_spec, should_retry
from orchestrator.local.warmstart import JobProcess, WarmStart
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

LOG = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
BatchListener = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class InfrastructureFailure:
    """How AWS ends an attempt the machine, not the command, failed: a Spot reclaim
    (``status_reason`` "Host EC2 (instance i-...) terminated.") or an image that cannot be
    pulled (``reason`` "CannotPullContainerError: ...")."""

    status_reason: str
    reason: str | None = None


def infrastructure_failure(job: Unit, attempt: int) -> InfrastructureFailure | None:
    """Test hook, never set by the engine: tests replace it (monkeypatch) to end attempt number
    ``attempt`` of ``job`` (a job or an array child) as the infrastructure would, instead of
    running its command."""
    return None


class _Line:
    """vCPUs of this machine, handed out first come first served to the units in line. A
    unit that gets its vCPUs is passed to ``start`` (outside the lock)."""

    def __init__(self, cores: float, start: Callable[[Unit], None]) -> None:
        self.cores = cores
        self.used = 0.0
        self._start = start
        self._queue: collections.deque[Unit] = collections.deque()
        self._lock = threading.Lock()

    def join(self, unit: Unit) -> None:
        with self._lock:
            self._queue.append(unit)
        self._dispatch()

    def extend(self, units: Iterable[Unit]) -> None:
        with self._lock:
            self._queue.extend(units)
        self._dispatch()

    def leave(self, unit: Unit) -> bool:
        """Take a unit out of the line; False when it is not in it (running, or done)."""
        with self._lock:
            try:
                self._queue.remove(unit)
            except ValueError:
                return False
        self._dispatch()  # the head may have changed
        return True

    def release(self, need: float) -> None:
        with self._lock:
            self.used = max(0.0, self.used - need)
        self._dispatch()

    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def _dispatch(self) -> None:
        ready: list[Unit] = []
        with self._lock:
            while self._queue:
                need = self._queue[0].spec.vcpus
                if self.used + need > self.cores + 1e-9 and self.used > 0:
                    break
                ready.append(self._queue.popleft())
                self.used += need
        for unit in ready:
            self._start(unit)


class _Delivery:
    """Listeners called in order from one thread, so a slow listener (an HTTP call to the
    emulator's EventBridge) never holds up a job. A batch listener gets what has piled up
    since its last call, up to ``BATCH`` descriptions at once, still in order, gathered for
    ``GATHER`` seconds after the first: a job's RUNNABLE, STARTING and RUNNING come within a
    few milliseconds of each other and cost one PutEvents, not three (AWS delivers Batch's
    events seconds late anyway)."""

    BATCH = 10  # PutEvents takes at most 10 entries
    GATHER = 0.03

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.batch_listeners: list[BatchListener] = []
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="batch-events")
        self._thread.start()

    def send(self, description: dict[str, Any]) -> None:
        self._queue.put(description)

    def close(self, timeout: float) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            until = time.monotonic() + self.GATHER
            while len(batch) < self.BATCH:
                try:
                    item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            self._deliver(batch)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for many in self.batch_listeners:
            try:
                many(batch)
            except Exception:
                LOG.exception("listener for Batch jobs %s failed",
                              ", ".join(str(d.get("jobId")) for d in batch))
        for description in batch:
            for listener in self.listeners:
                try:
                    listener(description)
                except Exception:
                    LOG.exception("listener for Batch job %s failed", description.get("jobId"))


class LocalBatch:
    """Runs the Batch jobs of one local engine; see the module docstring for the rules."""

    def __init__(self, *, log_dir: str | os.PathLike[str], cores: float | None = None,
                 env: Mapping[str, str] | None = None, kill_grace: float = 10.0,
                 tail_lines: int = 30, scratch_dir: Path | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.cores = float(cores or os.cpu_count() or 1)
        self.env = dict(env or {})  # added to every job's environment (endpoint, credentials)
        self.kill_grace = kill_grace
        self.tail_lines = tail_lines
        self.lock = threading.RLock()  # guards self.jobs, job states and moto's batch backend
        self.jobs: dict[str, LocalJob | ChildJob] = {}
        self._changed = threading.Condition(self.lock)
        self._delivery = _Delivery()
        self._line = _Line(self.cores, self._start)
        self._workers: set[threading.Thread] = set()
        self.peak_threads = 0  # most worker threads alive at once (for tests and benchmarks)
        if scratch_dir is not None:
            scratch_dir.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix="orch-jobs-", dir=scratch_dir))
        self._warm = WarmStart({**os.environ, **self.env}, self.log_dir / "warm-runner.log")

    def warm_up(self) -> None:
        """Start the runners' zygote before the first job asks for it (see warmstart)."""
        self._warm.prestart()

    def add_listener(self, listener: Listener) -> None:
        """``listener(description)`` at every status change of a job, in order."""
        self._delivery.listeners.append(listener)

    def add_batch_listener(self, listener: BatchListener) -> None:
        """``listener([description, ...])``: the changes since its last call (at most
        ten), in order."""
        self._delivery.batch_listeners.append(listener)

    # --- the API moto's Batch responses are routed to -----------------------------------

    def submit(self, backend: BatchBackend, params: Mapping[str, Any]) -> LocalJob:
        """SubmitJob with the API's camelCase parameters."""
        if params.get("dependsOn"):
            raise ClientException("dependsOn is not supported by the local engine")
        _check_tags(params.get("tags") or {})
        size = (params.get("arrayProperties") or {}).get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or not limits.BATCH_ARRAY_MIN <= size
                                 <= limits.BATCH_ARRAY_MAX):
            raise ClientException(
                f"arrayProperties.size must be between {limits.BATCH_ARRAY_MIN} and "
                f"{limits.BATCH_ARRAY_MAX}, got {size!r}")
        with self.lock:
            definition = backend.get_job_definition(str(params.get("jobDefinition")))
            if definition is None:
                raise ClientException(f"Job definition {params.get('jobDefinition')} does "
                                      "not exist")
            if definition.container_properties is None:
                raise ClientException("the local engine runs container job definitions only")
            queue_ = backend.get_job_queue(str(params.get("jobQueue")))
            if queue_ is None:
                raise ClientException(f"Job queue {params.get('jobQueue')} does not exist")
            spec = run_spec(definition.container_properties, definition.retry_strategy,
                            definition.timeout, definition.parameters,
                            params.get("containerOverrides"), params.get("retryStrategy"),
                            params.get("timeout"), params.get("parameters"))
            job = LocalJob(backend, definition, queue_, str(params.get("jobName")), spec, params)
            backend._jobs[job.job_id] = job
            self.jobs[job.job_id] = job
            units: list[Unit] = list(job.children) or [job]
            for child in job.children:
                self.jobs[child.job_id] = child
            for unit in units:
                self._move(unit, "RUNNABLE")
        self._line.extend(units)
        return job

    def find(self, job: str) -> LocalJob | ChildJob | None:
        """A job (or an array child) by id or ARN."""
        with self.lock:
            return self.jobs.get(job.rsplit("/", 1)[-1])

    def describe(self, jobs: Iterable[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [j.describe() for j in (self.find(i) for i in jobs) if j is not None]

    def terminate(self, job_id: str, reason: str, *, running_too: bool = True) -> None:
        """TerminateJob (``running_too``) or CancelJob (only jobs that have not started); on
        an array parent, each of its children."""
        job = self.find(job_id)
        if job is None:
            return
        units: list[Unit] = list(job.children) if isinstance(job, LocalJob) and job.children \
            else [job]
        # Every unit is marked before any is killed: a killed child frees its vCPUs, and a
        # waiting sibling not yet marked would start in its place.
        stopped = [(u, p) for u in units if (p := self._mark(u, reason, running_too))]
        running = []
        for unit, proc in stopped:
            if self._line.leave(unit):
                self._move(unit, "FAILED", reason)
            elif not isinstance(proc, bool):
                running.append(proc)
        for proc in running:
            threading.Thread(target=self._kill, args=(proc,), daemon=True).start()

    def _mark(self, unit: Unit, reason: str, running_too: bool
              ) -> JobProcess | bool:
        """Set ``unit``'s stop reason; its process (or True) when it is to stop, else False."""
        with self.lock:
            if unit.status in BATCH_FINAL or unit.stop_reason is not None:
                return False
            if not running_too and unit.status in ("STARTING", "RUNNING"):
                return False
            unit.stop_reason = reason
            return unit.process or True

    # --- for the engine ----------------------------------------------------------------

    def stderr_tail(self, job_id: str) -> list[str]:
        """The last lines the job's latest attempt wrote to stderr."""
        job = self.find(job_id)
        return list(job.runs[-1].tail) if job and job.runs else []

    def wait(self, job_id: str, timeout: float | None = None) -> str:
        """Block until the job has finished; returns its status (as it is on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self.find(job_id)
                if job is None or job.status in BATCH_FINAL:
                    return job.status if job else "UNKNOWN"
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return job.status
                self._changed.wait(left)

    def shutdown(self) -> None:
        """Fail every unfinished job, kill running processes, wait for the workers and the
        delivery of the last events."""
        for job_id in list(self.jobs):
            self.terminate(job_id, ENGINE_STOPPED)
        deadline = time.monotonic() + self.kill_grace + 5
        while True:
            with self.lock:
                workers = list(self._workers)
            if not workers or time.monotonic() > deadline:
                break
            workers[0].join(timeout=max(0.0, deadline - time.monotonic()))
        self._warm.close()
        self._delivery.close(timeout=10)
        shutil.rmtree(self._work, ignore_errors=True)

    # --- one unit's life ---------------------------------------------------------------

    def _start(self, unit: Unit) -> None:
        """A unit got its vCPUs: run one attempt on a worker thread of its own."""
        thread = threading.Thread(target=self._work_on, args=(unit,), daemon=True,
                                  name=f"batch-{unit.job_id}")
        with self.lock:
            self._workers.add(thread)
            self.peak_threads = max(self.peak_threads, len(self._workers))
        thread.start()

    def _work_on(self, unit: Unit) -> None:
        again = False
        try:
            again = self._one_attempt(unit)
        except Exception as exc:  # never leave a job (and the .sync task) hanging
            LOG.exception("local Batch job %s failed inside the engine", unit.job_id)
            self._move(unit, "FAILED", f"Local engine error: {type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                self._workers.discard(threading.current_thread())
            self._line.release(unit.spec.vcpus)
        if again:
            self._line.join(unit)

    def _one_attempt(self, unit: Unit) -> bool:
        """Run the unit's next attempt; True when it goes back in line for another."""
        if unit.stop_reason is not None:
            self._move(unit, "FAILED", unit.stop_reason)
            return False
        number = len(unit.runs) + 1
        self._move(unit, "STARTING")
        attempt = self._attempt(unit, number)
        if attempt.exit_code == 0 and unit.stop_reason is None:
            self._move(unit, "SUCCEEDED", attempt.status_reason)
            return False
        final = (unit.stop_reason is not None or attempt.status_reason == TIMED_OUT
                 or not should_retry(unit.spec, number, attempt.exit_code, attempt.reason,
                                     attempt.status_reason))
        if final:
            self._move(unit, "FAILED", attempt.status_reason)
            return False
        self._move(unit, "RUNNABLE")
        return True

    def _attempt(self, unit: Unit, number: int) -> Attempt:
        stream = f"{unit.log_group}/default/{unit.job_id}-{number}"
        attempt = Attempt(number, stream, self.log_dir / stream,
                          collections.deque(maxlen=self.tail_lines))
        with self.lock:
            unit.runs.append(attempt)
        failure = infrastructure_failure(unit, number)
        if failure is not None:
            attempt.reason, attempt.status_reason = failure.reason, failure.status_reason
            attempt.started_at = attempt.stopped_at = now_ms()
            return attempt
        attempt.log_path.parent.mkdir(parents=True, exist_ok=True)
        cwd = self._work / f"{unit.job_id}-{number}"
        cwd.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, **unit.spec.environment, **unit.environment(),
               "AWS_BATCH_JOB_ID": unit.job_id, c.BATCH_ATTEMPT_ENV: str(number),
               "AWS_BATCH_JQ_NAME": unit.queue_name}
        with attempt.log_path.open("wb") as log:
            try:
                if not unit.spec.command:
                    raise FileNotFoundError(2, "the job definition has no command")
                proc = self._warm.popen(unit.spec.command, env, cwd)
            except OSError as exc:
                attempt.reason = (f"CannotStartContainerError: {exc.strerror}: "
                                  f"{unit.spec.command}")
                attempt.status_reason = START_FAILED
                attempt.stopped_at = now_ms()
                shutil.rmtree(cwd, ignore_errors=True)
                return attempt
            with self.lock:
                unit.process = proc
                attempt.started_at = unit.started_ms = now_ms()
            stopped_before_start = unit.stop_reason is not None
            self._move(unit, "RUNNING")
            lock = threading.Lock()
            pumps = [threading.Thread(target=_pump, args=(src, log, lock, tail), daemon=True)
                     for src, tail in ((proc.stdout, None), (proc.stderr, attempt.tail))]
            for pump in pumps:
                pump.start()
            if stopped_before_start:
                self._kill(proc)
            timed_out = False
            try:
                proc.wait(timeout=unit.spec.timeout_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the container stops with its command
            for pump in pumps:
                pump.join()
        shutil.rmtree(cwd, ignore_errors=True)
        status = proc.returncode
        with self.lock:
            unit.process = None
            attempt.exit_code = 128 - status if status < 0 else status
            attempt.stopped_at = now_ms()
            attempt.status_reason = (TIMED_OUT if timed_out else unit.stop_reason or EXITED)
        return attempt

    def _kill(self, proc: JobProcess) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.kill_grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _move(self, unit: Unit, status: str, reason: str | None = None) -> None:
        """Set a unit's status (and its parent's, which follows), and tell the listeners."""
        with self._changed:
            previous = unit.status
            unit.status = status
            if reason is not None or status == "RUNNABLE":
                unit.reason = reason
            if status in BATCH_FINAL:
                unit.stopped_ms = now_ms()
            self._delivery.send(unit.describe())
            parent = unit.parent
            if parent is not None:
                parent.summary[previous] -= 1
                parent.summary[status] += 1
                self._follow(parent)
            self._changed.notify_all()

    def _follow(self, parent: LocalJob) -> None:
        """Move an array parent to the status its children's add up to (under the lock)."""
        status = parent.derived_status()
        if status == parent.status:
            return
        parent.status = status
        if status == "RUNNING" and parent.started_ms is None:
            parent.started_ms = now_ms()
        if status in BATCH_FINAL:
            parent.stopped_ms = now_ms()
            failed = parent.summary["FAILED"]
            parent.reason = (f"{failed} of {len(parent.children)} child jobs failed" if failed
                             else None)
        self._delivery.send(parent.describe())


_TAG_PUNCTUATION = frozenset(" +-=._:/@")


def _check_tags(tags: Mapping[str, Any]) -> None:
    """Refuse tags as AWS does (moto accepts any): keys of 1-128 and values of at most 256
    characters, each letters, digits, spaces and ``+ - = . _ : / @`` (Batch user guide, "Tag
    restrictions")."""
    for key, value in tags.items():
        for what, text, most in (("key", key, limits.TAG_KEY_CHARS),
                                 ("value", value, limits.TAG_VALUE_CHARS)):
            text = str(text)
            if len(text) > most or (what == "key" and not text) or any(
                    not (ch.isalnum() or ch in _TAG_PUNCTUATION) for ch in text):
                raise ClientException(f"tag {what} {text!r} is not a valid tag {what}: "
                                      f"letters, digits, spaces and + - = . _ : / @, at most "
                                      f"{most} characters")


def _pump(src: IO[bytes] | None, log: IO[bytes], lock: threading.Lock,
          tail: collections.deque[str] | None) -> None:
    if src is None:
        return
    with src:
        for line in iter(lambda: src.readline(65536), b""):
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ ").encode()
            with lock:
                log.write(stamp + line)
                log.flush()
            if tail is not None:
                tail.append(line.decode("utf-8", "replace").rstrip("\n"))
