"""What `orchestrator doctor` knows about a run: a frozen snapshot, gathered by ``collect`` and
read by the pure rules in ``doctor``. Field names follow the Batch API where they mirror it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

KINDS = ("EC2", "SPOT", "FARGATE", "FARGATE_SPOT")  # managed compute environment types
EC2_KINDS = frozenset({"EC2", "SPOT"})
FARGATE_KINDS = frozenset({"FARGATE", "FARGATE_SPOT"})
WAITING = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})


@dataclass(frozen=True)
class Attempt:
    status_reason: str = ""
    container_reason: str = ""
    exit_code: int | None = None

    @property
    def reasons(self) -> str:
        return " ".join(r for r in (self.status_reason, self.container_reason) if r)


@dataclass(frozen=True)
class Job:
    job_id: str
    name: str
    status: str
    status_reason: str = ""
    label: str = ""  # stage/sample from the job-state table, when known
    queue: str = ""  # ARN (or name) of the job queue; "" when Batch no longer knows the job
    definition: str = ""
    vcpus: float | None = None
    memory_mib: int | None = None
    gpus: int = 0
    platform: str = "EC2"  # "EC2" or "FARGATE" (the job definition's platformCapabilities)
    attempts: tuple[Attempt, ...] = ()
    depends_on: tuple[str, ...] = ()
    in_batch: bool = True  # False: known only from the job-state table

    @property
    def title(self) -> str:
        return self.label or self.name or self.job_id


@dataclass(frozen=True)
class TimeLimitAction:
    reason: str
    state: str
    max_time_seconds: int
    action: str


@dataclass(frozen=True)
class ComputeEnvironment:
    name: str
    arn: str
    state: str  # ENABLED | DISABLED
    status: str  # CREATING | UPDATING | DELETING | DELETED | VALID | INVALID
    status_reason: str = ""
    kind: str = "EC2"  # EC2 | SPOT | FARGATE | FARGATE_SPOT | UNMANAGED
    instance_types: tuple[str, ...] = ()
    max_vcpus: int | None = None

    @property
    def fargate(self) -> bool:
        return self.kind in FARGATE_KINDS


@dataclass(frozen=True)
class Queue:
    name: str
    arn: str
    state: str
    status: str
    status_reason: str = ""
    priority: int = 0
    environments: tuple[str, ...] = ()  # compute environment ARNs, in order
    time_limit_actions: tuple[TimeLimitAction, ...] = ()


@dataclass(frozen=True)
class Facts:
    run: str
    jobs: tuple[Job, ...]  # the run's jobs
    queues: tuple[Queue, ...] = ()
    environments: tuple[ComputeEnvironment, ...] = ()
    related: tuple[Job, ...] = ()  # jobs outside the run that the run's jobs depend on

    def queue(self, ref: str) -> Queue | None:
        return next((q for q in self.queues if ref in (q.arn, q.name)), None)

    def environment(self, ref: str) -> ComputeEnvironment | None:
        return next((e for e in self.environments if ref in (e.arn, e.name)), None)

    def environments_of(self, queue: Queue) -> tuple[ComputeEnvironment, ...]:
        found = (self.environment(ref) for ref in queue.environments)
        return tuple(e for e in found if e is not None)

    @cached_property
    def _jobs_by_id(self) -> dict[str, Job]:
        return {j.job_id: j for j in (*self.related, *self.jobs)}

    def job(self, job_id: str) -> Job | None:
        return self._jobs_by_id.get(job_id)
