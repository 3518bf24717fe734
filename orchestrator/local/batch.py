"""Batch jobs as local processes: the executor behind the embedded engine's SubmitJob.

A submitted job waits RUNNABLE until the machine has room for its vCPUs (``cores``, first
come first served; a job asking for more than the machine has runs alone), goes STARTING
and RUNNING while its command runs as a process group, then SUCCEEDED (exit 0) or FAILED.
A failed attempt is retried as the job's retry strategy says (:func:`should_retry`);
an attempt that outlives ``attemptDurationSeconds`` is killed (SIGTERM, then SIGKILL after
``kill_grace``) and, as on AWS, not retried. TerminateJob kills a running job the same way.

Each attempt writes stdout and stderr to ``log_dir / logStreamName`` (the attempt's
``container.logStreamName``), and the last ``tail_lines`` lines of stderr stay in memory
(:meth:`LocalBatch.stderr_tail`). Listeners (:meth:`LocalBatch.add_listener`) receive the
DescribeJobs description of a job at every status change after submission, in order, from
the job's own thread: that is where "Batch Job State Change" events come from.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
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
    LocalJob,
    now_ms,
)
from orchestrator.local.batch_spec import run_spec, should_retry
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

LOG = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class InfrastructureFailure:
    """How AWS ends an attempt the machine, not the command, failed: a Spot reclaim
    (``status_reason`` "Host EC2 (instance i-...) terminated.") or an image that cannot be
    pulled (``reason`` "CannotPullContainerError: ...")."""

    status_reason: str
    reason: str | None = None


def infrastructure_failure(job: LocalJob, attempt: int) -> InfrastructureFailure | None:
    """Test hook, never set by the engine: tests replace it (monkeypatch) to end attempt number
    ``attempt`` of ``job`` as the infrastructure would, instead of running its command."""
    return None


class _Capacity:
    """vCPUs of this machine, handed out first come first served."""

    def __init__(self, cores: float) -> None:
        self.cores = cores
        self.used = 0.0
        self._queue: collections.deque[object] = collections.deque()
        self._cond = threading.Condition()

    def acquire(self, ticket: object, need: float, stop: Callable[[], bool]) -> bool:
        with self._cond:
            self._queue.append(ticket)
            while True:
                if stop():
                    self._queue.remove(ticket)
                    self._cond.notify_all()
                    return False
                fits = self.used + need <= self.cores + 1e-9 or self.used == 0
                if self._queue[0] is ticket and fits:
                    self._queue.popleft()
                    self.used += need
                    self._cond.notify_all()
                    return True
                self._cond.wait()

    def release(self, need: float) -> None:
        with self._cond:
            self.used = max(0.0, self.used - need)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


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
        self.lock = threading.RLock()  # guards self.jobs and moto's batch backend
        self.jobs: dict[str, LocalJob] = {}
        self._changed = threading.Condition(self.lock)
        self._listeners: list[Listener] = []
        self._capacity = _Capacity(self.cores)
        self._threads: list[threading.Thread] = []
        if scratch_dir is not None:
            scratch_dir.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix="orch-jobs-", dir=scratch_dir))

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # --- the API moto's Batch responses are routed to -----------------------------------

    def submit(self, backend: BatchBackend, params: Mapping[str, Any]) -> LocalJob:
        """SubmitJob with the API's camelCase parameters."""
        if params.get("dependsOn"):
            raise ClientException("dependsOn is not supported by the local engine")
        if (params.get("arrayProperties") or {}).get("size"):
            raise ClientException("array jobs are not supported by the local engine")
        _check_tags(params.get("tags") or {})
        with self.lock:
            definition = backend.get_job_definition(str(params.get("jobDefinition")))
            if definition is None:
                raise ClientException(f"Job definition {params.get('jobDefinition')} does "
                                      "not exist")
            if definition.container_properties is None:
                raise ClientException("the local engine runs container job definitions only")
            queue = backend.get_job_queue(str(params.get("jobQueue")))
            if queue is None:
                raise ClientException(f"Job queue {params.get('jobQueue')} does not exist")
            spec = run_spec(definition.container_properties, definition.retry_strategy,
                            definition.timeout, definition.parameters,
                            params.get("containerOverrides"), params.get("retryStrategy"),
                            params.get("timeout"), params.get("parameters"))
            job = LocalJob(backend, definition, queue, str(params.get("jobName")), spec, params)
            backend._jobs[job.job_id] = job
            self.jobs[job.job_id] = job
            thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                      name=f"batch-{job.job_id}")
            self._threads.append(thread)
        thread.start()
        return job

    def find(self, job: str) -> LocalJob | None:
        """A job by id or ARN."""
        with self.lock:
            return self.jobs.get(job.rsplit("/", 1)[-1])

    def describe(self, jobs: Iterable[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [j.describe() for j in (self.find(i) for i in jobs) if j is not None]

    def terminate(self, job_id: str, reason: str, *, running_too: bool = True) -> None:
        """TerminateJob (``running_too``) or CancelJob (only jobs that have not started)."""
        job = self.find(job_id)
        if job is None:
            return
        with self.lock:
            if job.status in BATCH_FINAL or job.stop_reason is not None:
                return
            if not running_too and job.status in ("STARTING", "RUNNING"):
                return
            job.stop_reason = reason
            proc = job.process
        self._capacity.wake()
        if proc is not None:
            threading.Thread(target=self._kill, args=(proc,), daemon=True).start()

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
        """Fail every unfinished job, kill running processes, wait for job threads."""
        for job_id in list(self.jobs):
            self.terminate(job_id, ENGINE_STOPPED)
        for thread in self._threads:
            thread.join(timeout=self.kill_grace + 5)
        shutil.rmtree(self._work, ignore_errors=True)

    # --- one job's life ----------------------------------------------------------------

    def _run(self, job: LocalJob) -> None:
        try:
            for number in range(1, job.spec.attempts + 1):
                self._move(job, "RUNNABLE")
                if not self._capacity.acquire(job, job.spec.vcpus,
                                              lambda: job.stop_reason is not None):
                    self._move(job, "FAILED", job.stop_reason)
                    return
                try:
                    self._move(job, "STARTING")
                    attempt = self._attempt(job, number)
                finally:
                    self._capacity.release(job.spec.vcpus)
                if attempt.exit_code == 0 and job.stop_reason is None:
                    self._move(job, "SUCCEEDED", attempt.status_reason)
                    return
                final = (job.stop_reason is not None or attempt.status_reason == TIMED_OUT
                         or not should_retry(job.spec, number, attempt.exit_code,
                                             attempt.reason, attempt.status_reason))
                if final:
                    self._move(job, "FAILED", attempt.status_reason)
                    return
        except Exception as exc:  # never leave a job (and the .sync task) hanging
            LOG.exception("local Batch job %s failed inside the engine", job.job_id)
            self._move(job, "FAILED", f"Local engine error: {type(exc).__name__}: {exc}")

    def _attempt(self, job: LocalJob, number: int) -> Attempt:
        stream = f"{job.job_definition.name}/default/{job.job_id}-{number}"
        attempt = Attempt(number, stream, self.log_dir / stream,
                          collections.deque(maxlen=self.tail_lines))
        with self.lock:
            job.runs.append(attempt)
        failure = infrastructure_failure(job, number)
        if failure is not None:
            attempt.reason, attempt.status_reason = failure.reason, failure.status_reason
            attempt.started_at = attempt.stopped_at = now_ms()
            return attempt
        attempt.log_path.parent.mkdir(parents=True, exist_ok=True)
        cwd = self._work / f"{job.job_id}-{number}"
        cwd.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, **job.spec.environment,
               "AWS_BATCH_JOB_ID": job.job_id, c.BATCH_ATTEMPT_ENV: str(number),
               "AWS_BATCH_JQ_NAME": job.job_queue.name}
        with attempt.log_path.open("wb") as log:
            try:
                if not job.spec.command:
                    raise FileNotFoundError(2, "the job definition has no command")
                proc = subprocess.Popen(job.spec.command, env=env, cwd=cwd,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
            except OSError as exc:
                attempt.reason = f"CannotStartContainerError: {exc.strerror}: {job.spec.command}"
                attempt.status_reason = START_FAILED
                attempt.stopped_at = now_ms()
                return attempt
            with self.lock:
                job.process = proc
                attempt.started_at = job.started_ms = now_ms()
            stopped_before_start = job.stop_reason is not None
            self._move(job, "RUNNING")
            lock = threading.Lock()
            pumps = [threading.Thread(target=_pump, args=(src, log, lock, tail), daemon=True)
                     for src, tail in ((proc.stdout, None), (proc.stderr, attempt.tail))]
            for pump in pumps:
                pump.start()
            if stopped_before_start:
                self._kill(proc)
            timed_out = False
            try:
                proc.wait(timeout=job.spec.timeout_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the container stops with its command
            for pump in pumps:
                pump.join()
        status = proc.returncode
        with self.lock:
            job.process = None
            attempt.exit_code = 128 - status if status < 0 else status
            attempt.stopped_at = now_ms()
            attempt.status_reason = (TIMED_OUT if timed_out else job.stop_reason or EXITED)
        return attempt

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.kill_grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _move(self, job: LocalJob, status: str, reason: str | None = None) -> None:
        with self._changed:
            job.status = status
            if reason is not None or status == "RUNNABLE":
                job.reason = reason
            if status in BATCH_FINAL:
                job.stopped_ms = now_ms()
            description = job.describe()
            self._changed.notify_all()
        for listener in self._listeners:
            try:
                listener(description)
            except Exception:
                LOG.exception("listener for Batch job %s failed", job.job_id)


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
