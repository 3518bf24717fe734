"""Managed compute environments and job queues: list, create, enable, disable, delete.

Requests are built by pure functions (``environment_request``, ``queue_request``) so their
rules are checked before anything is sent. Deleting follows Batch's order: disable, wait until
the change has settled, delete, wait until it is gone; an environment still attached to a queue
is refused with the queue's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.aws.collect import environment_from, queue_from
from orchestrator.aws.errors import AwsError, UsageError
from orchestrator.aws.facts import EC2_KINDS, FARGATE_KINDS, KINDS, ComputeEnvironment, Queue

MAX_ENVIRONMENTS_PER_QUEUE = 3
SETTLING = frozenset({"CREATING", "UPDATING", "DELETING"})
DEFAULT_ALLOCATION = {"EC2": "BEST_FIT_PROGRESSIVE", "SPOT": "SPOT_PRICE_CAPACITY_OPTIMIZED"}


class UnknownResource(UsageError):
    """No compute environment or job queue of that name."""


@dataclass(frozen=True)
class EnvironmentSpec:
    name: str
    kind: str
    max_vcpus: int
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    min_vcpus: int = 0
    instance_types: tuple[str, ...] = ()
    instance_role: str = ""
    service_role: str = ""
    allocation_strategy: str = ""
    bid_percentage: int | None = None
    enabled: bool = True
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting:
    """How long to wait for a state change, and how to pass the time (tests: no sleep)."""

    timeout: float = 600.0
    interval: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def environment_request(spec: EnvironmentSpec) -> dict[str, Any]:
    """The CreateComputeEnvironment request for a managed EC2, Spot or Fargate environment."""
    if spec.kind not in KINDS:
        raise UsageError(f"--type {spec.kind}: choose one of {', '.join(KINDS)}")
    if spec.max_vcpus < 1:
        raise UsageError(f"--max-vcpus {spec.max_vcpus}: give 1 or more")
    if not spec.subnets:
        raise UsageError("--subnets: give at least one subnet id (comma-separated)")
    if not spec.security_groups:
        raise UsageError("--security-groups: give at least one security group id")
    resources: dict[str, Any] = {"type": spec.kind, "maxvCpus": spec.max_vcpus,
                                 "subnets": list(spec.subnets),
                                 "securityGroupIds": list(spec.security_groups)}
    if spec.kind in FARGATE_KINDS:
        given = [flag for flag, value in (
            ("--instance-types", spec.instance_types), ("--instance-role", spec.instance_role),
            ("--min-vcpus", spec.min_vcpus), ("--allocation-strategy", spec.allocation_strategy),
            ("--bid-percentage", spec.bid_percentage)) if value]
        if given:
            raise UsageError(f"{', '.join(given)}: not used by {spec.kind} environments; "
                             "drop it or use --type EC2/SPOT")
    else:
        if not spec.instance_role:
            raise UsageError(f"--instance-role: {spec.kind} environments need the instance "
                             "profile their instances run as (ecsInstanceRole)")
        if spec.min_vcpus < 0 or spec.min_vcpus > spec.max_vcpus:
            raise UsageError(f"--min-vcpus {spec.min_vcpus}: give 0 to --max-vcpus "
                             f"({spec.max_vcpus})")
        if spec.bid_percentage is not None and spec.kind != "SPOT":
            raise UsageError("--bid-percentage: only for --type SPOT")
        if spec.bid_percentage is not None and not 0 < spec.bid_percentage <= 100:
            raise UsageError(f"--bid-percentage {spec.bid_percentage}: give 1 to 100")
        resources.update(
            minvCpus=spec.min_vcpus, instanceTypes=list(spec.instance_types or ("optimal",)),
            instanceRole=spec.instance_role,
            allocationStrategy=spec.allocation_strategy or DEFAULT_ALLOCATION[spec.kind])
        if spec.bid_percentage is not None:
            resources["bidPercentage"] = spec.bid_percentage
    request: dict[str, Any] = {"computeEnvironmentName": spec.name, "type": "MANAGED",
                               "state": "ENABLED" if spec.enabled else "DISABLED",
                               "computeResources": resources}
    if spec.service_role:
        request["serviceRole"] = spec.service_role
    if spec.tags:
        request["tags"] = dict(spec.tags)
    return request


def queue_request(name: str, priority: int, environments: list[ComputeEnvironment],
                  *, enabled: bool = True) -> dict[str, Any]:
    """The CreateJobQueue request: environments in the order given (first is tried first)."""
    if not environments:
        raise UsageError("--ce: give at least one compute environment (repeat for more; the "
                         "first given is tried first)")
    if len(environments) > MAX_ENVIRONMENTS_PER_QUEUE:
        raise UsageError(f"--ce: a queue takes at most {MAX_ENVIRONMENTS_PER_QUEUE} compute "
                         f"environments, {len(environments)} given")
    if priority < 0:
        raise UsageError(f"--priority {priority}: give 0 or more (higher is scheduled first)")
    fargate = {e.name for e in environments if e.kind in FARGATE_KINDS}
    ec2 = {e.name for e in environments if e.kind in EC2_KINDS}
    if fargate and ec2:
        raise UsageError(f"--ce: a queue cannot mix Fargate ({', '.join(sorted(fargate))}) and "
                         f"EC2/SPOT ({', '.join(sorted(ec2))}) environments")
    return {"jobQueueName": name, "state": "ENABLED" if enabled else "DISABLED",
            "priority": priority,
            "computeEnvironmentOrder": [{"order": i + 1, "computeEnvironment": e.arn}
                                        for i, e in enumerate(environments)]}


# ---------------------------------------------------------------- reading


def environments(batch: Any) -> list[ComputeEnvironment]:
    out: list[ComputeEnvironment] = []
    for page in batch.get_paginator("describe_compute_environments").paginate():
        out.extend(environment_from(e) for e in page["computeEnvironments"])
    return sorted(out, key=lambda e: e.name)


def queues(batch: Any) -> list[Queue]:
    out: list[Queue] = []
    for page in batch.get_paginator("describe_job_queues").paginate():
        out.extend(queue_from(q) for q in page["jobQueues"])
    return sorted(out, key=lambda q: (-q.priority, q.name))


def environment(batch: Any, name: str) -> ComputeEnvironment:
    found = batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    if not found:
        raise UnknownResource(f"no compute environment {name!r}: see orchestrator batch ce list")
    return environment_from(found[0])


def queue(batch: Any, name: str) -> Queue:
    found = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    if not found:
        raise UnknownResource(f"no job queue {name!r}: see orchestrator batch queue list")
    return queue_from(found[0])


def queues_using(batch: Any, env: ComputeEnvironment) -> list[Queue]:
    return [q for q in queues(batch) if env.arn in q.environments or env.name in q.environments]


# ---------------------------------------------------------------- changing


def create_environment(batch: Any, spec: EnvironmentSpec, wait: Waiting | None) -> str:
    arn = str(batch.create_compute_environment(**environment_request(spec))
              ["computeEnvironmentArn"])
    if wait is not None:
        _settle(lambda: _env_or_none(batch, spec.name), f"compute environment {spec.name}", wait)
    return arn


def create_queue(batch: Any, name: str, priority: int, env_names: list[str], *,
                 enabled: bool = True, wait: Waiting | None = None) -> str:
    envs = [environment(batch, n) for n in env_names]
    arn = str(batch.create_job_queue(**queue_request(name, priority, envs, enabled=enabled))
              ["jobQueueArn"])
    if wait is not None:
        _settle(lambda: _queue_or_none(batch, name), f"job queue {name}", wait)
    return arn


def set_environment_state(batch: Any, name: str, state: str, wait: Waiting | None) -> None:
    env = environment(batch, name)
    if env.state != state:
        batch.update_compute_environment(computeEnvironment=env.arn, state=state)
    if wait is not None:
        _settle(lambda: _env_or_none(batch, name), f"compute environment {name}", wait, state)


def set_queue_state(batch: Any, name: str, state: str, wait: Waiting | None) -> None:
    q = queue(batch, name)
    if q.state != state:
        batch.update_job_queue(jobQueue=q.arn, state=state)
    if wait is not None:
        _settle(lambda: _queue_or_none(batch, name), f"job queue {name}", wait, state)


def delete_environment(batch: Any, name: str, wait: Waiting) -> None:
    env = environment(batch, name)
    using = queues_using(batch, env)
    if using:
        names = ", ".join(q.name for q in using)
        raise UsageError(f"compute environment {name} is attached to job queue(s) {names}: "
                         f"delete the queue first (orchestrator batch queue delete "
                         f"{using[0].name}) or give it other environments")
    set_environment_state(batch, name, "DISABLED", wait)
    batch.delete_compute_environment(computeEnvironment=env.arn)
    _gone(lambda: _env_or_none(batch, name), f"compute environment {name}", wait)


def delete_queue(batch: Any, name: str, wait: Waiting) -> None:
    q = queue(batch, name)
    set_queue_state(batch, name, "DISABLED", wait)
    batch.delete_job_queue(jobQueue=q.arn)
    _gone(lambda: _queue_or_none(batch, name), f"job queue {name}", wait)


def _env_or_none(batch: Any, name: str) -> ComputeEnvironment | None:
    found = batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    return environment_from(found[0]) if found else None


def _queue_or_none(batch: Any, name: str) -> Queue | None:
    found = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    return queue_from(found[0]) if found else None


def _settle(read: Callable[[], ComputeEnvironment | Queue | None], what: str, wait: Waiting,
            state: str | None = None) -> None:
    """Wait until ``what`` is no longer CREATING/UPDATING (and has ``state``)."""
    deadline = wait.clock() + wait.timeout
    while True:
        current = read()
        if current is None:
            raise AwsError(f"{what} disappeared while waiting for it")
        if current.status == "INVALID":
            raise AwsError(f"{what} is INVALID: {current.status_reason or 'no reason given'}")
        if current.status not in SETTLING and (state is None or current.state == state):
            return
        if wait.clock() >= deadline:
            raise AwsError(f"{what} is still {current.status}/{current.state} after "
                           f"{wait.timeout:g} s: check it with orchestrator batch ce|queue list, "
                           "or wait longer with --timeout")
        wait.sleep(wait.interval)


def _gone(read: Callable[[], ComputeEnvironment | Queue | None], what: str,
          wait: Waiting) -> None:
    deadline = wait.clock() + wait.timeout
    while True:
        current = read()
        if current is None or current.status == "DELETED":
            return
        if wait.clock() >= deadline:
            raise AwsError(f"{what} is still {current.status} after {wait.timeout:g} s: it is "
                           "being deleted; check later with orchestrator batch ce|queue list")
        wait.sleep(wait.interval)
