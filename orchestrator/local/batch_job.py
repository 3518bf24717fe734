"""One Batch job of the local engine, as moto stores it and as DescribeJobs reports it.

moto's Job is reused (it puts the job in moto's table, tags and ARN) with a status that only
the executor moves and a description shaped like AWS's: attempts with exit codes, reasons
and log stream names, epoch-millisecond times, the merged retry strategy and timeout.
"""

from __future__ import annotations

import collections
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.batch.models import BatchBackend, Job, JobDefinition, JobQueue

from orchestrator.local.batch_spec import RunSpec

EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
START_FAILED = "Task failed to start"
ENGINE_STOPPED = "Local engine stopped"
BATCH_FINAL = frozenset({"SUCCEEDED", "FAILED"})


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
        self.process: subprocess.Popen[bytes] | None = None
        self.propagate = bool(submitted.get("propagateTags"))
        self._status = "SUBMITTED"

    @property
    def status(self) -> str:
        return str(self._status)

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    def describe(self) -> dict[str, Any]:
        last = self.runs[-1] if self.runs else None
        container: dict[str, Any] = {
            "image": self.spec.image,
            "command": self.spec.command,
            "environment": [{"name": k, "value": v} for k, v in self.spec.environment.items()],
            "resourceRequirements": self.spec.resource_requirements,
        }
        if last is not None:
            container.update(last.describe()["container"])
        out: dict[str, Any] = {
            "jobArn": self.arn, "jobName": self.job_name, "jobId": self.job_id,
            "jobQueue": self.job_queue.arn, "status": self.status,
            "attempts": [a.describe() for a in self.runs if a.stopped_at is not None],
            "createdAt": self.created_ms, "retryStrategy": self.spec.retry_strategy,
            "dependsOn": [], "jobDefinition": self.job_definition.arn,
            "parameters": dict(self.parameters), "container": container,
            "tags": self.backend.list_tags_for_resource(self.arn),
            "propagateTags": self.propagate, "platformCapabilities": [],
        }
        for key, value in (("statusReason", self.reason), ("startedAt", self.started_ms),
                           ("stoppedAt", self.stopped_ms)):
            if value is not None:
                out[key] = value
        if self.spec.timeout_seconds:
            out["timeout"] = {"attemptDurationSeconds": self.spec.timeout_seconds}
        return out
