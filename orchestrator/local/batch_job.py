"""One Batch job of the local engine, as moto stores it and as DescribeJobs reports it.

moto's Job is reused (it puts the job in moto's table, tags and ARN) with a status that only
the executor moves and a description shaped like AWS's: attempts with exit codes, reasons
and log stream names, epoch-millisecond times, the merged retry strategy and timeout.

An array job (``arrayProperties.size`` N) is a parent :class:`LocalJob` that runs nothing and
N :class:`ChildJob` units ``<parent id>:<index>``, each run like a job of its own. As the
Batch API reference describes them (``ArrayPropertiesDetail``): the parent's description has
``arrayProperties.size`` and ``statusSummary`` (children per status), a child's has
``arrayProperties.index``; a child is otherwise described with its parent's details (name,
queue, definition, container, tags, retry strategy, timeout).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from moto.batch.models import BatchBackend, Job, JobDefinition, JobQueue

from orchestrator.local.batch_spec import RunSpec
from orchestrator.local.warmstart import JobProcess
from orchestrator_runtime import contracts

EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
START_FAILED = "Task failed to start"
ENGINE_STOPPED = "Local engine stopped"
BATCH_FINAL = frozenset({"SUCCEEDED", "FAILED"})
# Every status a job can have, in the order the API reference lists them.
BATCH_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                  "FAILED")
STARTED = frozenset({"STARTING", "RUNNING", *BATCH_FINAL})


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Attempt:
    number: int
    log_stream: str
    log_path: Path
    tail: collections.deque[str]
    started_at: int | None = None
    stopped_at: int | None = None
    exit_code: int | None = None
    reason: str | None = None  # container reason, e.g. "CannotStartContainerError: ..."
    status_reason: str = ""

    def describe(self) -> dict[str, Any]:
        container: dict[str, Any] = {"logStreamName": self.log_stream}
        if self.exit_code is not None:
            container["exitCode"] = self.exit_code
        if self.reason:
            container["reason"] = self.reason
        out: dict[str, Any] = {"container": container, "statusReason": self.status_reason}
        if self.started_at is not None:
            out["startedAt"] = self.started_at
        if self.stopped_at is not None:
            out["stoppedAt"] = self.stopped_at
        return out


class Unit(Protocol):
    """What the executor runs: an ordinary job or one child of an array job."""

    job_id: str
    spec: RunSpec
    runs: list[Attempt]
    status: str
    reason: str | None
    stop_reason: str | None  # set by TerminateJob/CancelJob/shutdown
    process: JobProcess | None
    started_ms: int | None
    stopped_ms: int | None

    @property
    def log_group(self) -> str:
        """The first part of its log stream names: the job definition's name."""
        ...

    @property
    def queue_name(self) -> str: ...

    @property
    def parent(self) -> LocalJob | None: ...

    def environment(self) -> dict[str, str]:
        """Batch's own variables for this unit, beyond AWS_BATCH_JOB_ID/ATTEMPT."""
        ...

    def describe(self) -> dict[str, Any]: ...


def _run_fields(unit: Unit, out: dict[str, Any]) -> dict[str, Any]:
    """The parts of a description that the unit's own runs decide."""
    last = unit.runs[-1] if unit.runs else None
    if last is not None:
        out["container"] = {**out["container"], **last.describe()["container"]}
    out["status"] = unit.status
    out["attempts"] = [a.describe() for a in unit.runs if a.stopped_at is not None]
    for key, value in (("statusReason", unit.reason), ("startedAt", unit.started_ms),
                       ("stoppedAt", unit.stopped_ms)):
        if value is not None:
            out[key] = value
    return out


class LocalJob(Job):
    """moto's Job, described as AWS describes it, with a status that only we move."""

    def __init__(self, backend: BatchBackend, definition: JobDefinition, queue: JobQueue,
                 name: str, spec: RunSpec, submitted: Mapping[str, Any]) -> None:
        super().__init__(
            name, definition, queue, backend, log_backend=backend.logs_backend,
            container_overrides=submitted.get("containerOverrides"),
            eks_properties_override=None, depends_on=None,
            parameters=submitted.get("parameters"), all_jobs=backend._jobs,
            timeout=submitted.get("timeout"), array_properties={},
            tags=submitted.get("tags"),
        )
        self.spec = spec
        self.runs: list[Attempt] = []
        self.created_ms = now_ms()
        self.started_ms: int | None = None
        self.stopped_ms: int | None = None
        self.reason: str | None = None
        self.stop_reason: str | None = None  # set by TerminateJob/CancelJob/shutdown
        self.process: JobProcess | None = None
        self.propagate = bool(submitted.get("propagateTags"))
        self._status = "SUBMITTED"
        size = int((submitted.get("arrayProperties") or {}).get("size") or 0)
        self.children: list[ChildJob] = [ChildJob(self, i) for i in range(size)]
        self.summary: dict[str, int] = dict.fromkeys(BATCH_STATUSES, 0)
        self.summary["SUBMITTED"] = size
        self._child_jobs = self.children  # type: ignore[assignment]  # ListJobs(arrayJobId)

    @property
    def status(self) -> str:
        return str(self._status)

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    @property
    def is_array(self) -> bool:
        return bool(self.children)

    @property
    def log_group(self) -> str:
        return str(self.job_definition.name)

    @property
    def queue_name(self) -> str:
        return str(self.job_queue.name)

    @property
    def parent(self) -> LocalJob | None:
        return None

    def environment(self) -> dict[str, str]:
        return {}

    def details(self) -> dict[str, Any]:
        """What this job and its children share: everything but status, runs and times."""
        out: dict[str, Any] = {
            "jobArn": self.arn, "jobName": self.job_name, "jobId": self.job_id,
            "jobQueue": self.job_queue.arn, "createdAt": self.created_ms,
            "retryStrategy": self.spec.retry_strategy,
            "dependsOn": [], "jobDefinition": self.job_definition.arn,
            "parameters": dict(self.parameters), "container": {
                "image": self.spec.image,
                "command": self.spec.command,
                "environment": [{"name": k, "value": v}
                                for k, v in self.spec.environment.items()],
                "resourceRequirements": self.spec.resource_requirements,
            },
            "tags": self.backend.list_tags_for_resource(self.arn),
            "propagateTags": self.propagate, "platformCapabilities": [],
        }
        if self.spec.timeout_seconds:
            out["timeout"] = {"attemptDurationSeconds": self.spec.timeout_seconds}
        return out

    def describe(self) -> dict[str, Any]:
        out = _run_fields(self, self.details())
        if self.is_array:
            out["arrayProperties"] = {"size": len(self.children),
                                      "statusSummary": dict(self.summary)}
        return out

    def derived_status(self) -> str:
        """An array parent's status from its children's: PENDING while they wait, RUNNING
        once any has started, then SUCCEEDED when all succeeded or FAILED when all finished
        and any failed. (The user guide names SUBMITTED, PENDING, FAILED and SUCCEEDED for
        parents; DescribeJobs shows RUNNING while children run, and the local engine follows
        that.)"""
        done = self.summary["SUCCEEDED"] + self.summary["FAILED"]
        if done == len(self.children):
            return "FAILED" if self.summary["FAILED"] else "SUCCEEDED"
        started = sum(self.summary[s] for s in STARTED)
        return "RUNNING" if started else "PENDING"


class ChildJob:
    """Child ``index`` of an array job: its own runs, its parent's details."""

    def __init__(self, parent: LocalJob, index: int) -> None:
        self._parent = parent
        self.index = index
        self.job_id = f"{parent.job_id}:{index}"
        self.arn = f"{parent.arn}:{index}"
        self.spec = parent.spec
        self.runs: list[Attempt] = []
        self.status = "SUBMITTED"
        self.reason: str | None = None
        self.stop_reason: str | None = None
        self.process: JobProcess | None = None
        self.started_ms: int | None = None
        self.stopped_ms: int | None = None

    @property
    def job_name(self) -> str:
        return str(self._parent.job_name)

    @property
    def log_group(self) -> str:
        return self._parent.log_group

    @property
    def queue_name(self) -> str:
        return self._parent.queue_name

    @property
    def parent(self) -> LocalJob:
        return self._parent

    def environment(self) -> dict[str, str]:
        return {contracts.ARRAY_INDEX_ENV: str(self.index)}

    def describe(self) -> dict[str, Any]:
        out = self._parent.details()
        out.update(jobArn=self.arn, jobId=self.job_id, arrayProperties={"index": self.index})
        return _run_fields(self, out)

    def describe_short(self) -> dict[str, Any]:
        """ListJobs' JobSummary of a child."""
        full = self.describe()
        keys = ("jobArn", "jobId", "jobName", "createdAt", "status", "jobDefinition",
                "arrayProperties", "statusReason", "startedAt", "stoppedAt")
        out: dict[str, Any] = {k: full[k] for k in keys if k in full}
        if self.runs and self.runs[-1].exit_code is not None:
            out["container"] = {"exitCode": self.runs[-1].exit_code}
        return out
