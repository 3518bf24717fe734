"""Gather the facts `orchestrator doctor` reasons about, with boto3.

A run's jobs come from the job-state table (one row per stage and sample, written from Batch's
events) or from job ids given directly. Batch is then asked about them: DescribeJobs in pages
of 100 ids, then the jobs they depend on, their job definitions, queues and compute
environments. A job Batch no longer describes (finished jobs age out) keeps what the table
knows. The result is a frozen ``Facts``; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from orchestrator.aws.errors import UsageError
from orchestrator.aws.facts import (
    Attempt,
    ComputeEnvironment,
    Facts,
    Job,
    Queue,
    TimeLimitAction,
)
from orchestrator_runtime import contracts, jobstate

PAGE = 100  # DescribeJobs, DescribeJobDefinitions, DescribeJobQueues and
# DescribeComputeEnvironments take at most 100 names or ARNs per call.
STACK_TABLE_OUTPUT = "JobStateTableName"


def pages(items: Iterable[str], size: int = PAGE) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def execution_arn(table: Any, run: str) -> str:
    """``run`` as an execution ARN: an ARN is returned as is; a name is looked up among the
    table's execution rows (a Scan, so an ARN is faster on a large table)."""
    if run.startswith("arn:"):
        return run
    kwargs: dict[str, Any] = {
        "FilterExpression": "#sk = :sk AND #name = :name",
        "ExpressionAttributeNames": {"#sk": contracts.TABLE_SK, "#name": "name"},
        "ExpressionAttributeValues": {":sk": contracts.EXECUTION_SK, ":name": run},
        "ProjectionExpression": "#pk", }
    kwargs["ExpressionAttributeNames"]["#pk"] = contracts.TABLE_PK
    found: list[str] = []
    while True:
        page = table.scan(**kwargs)
        found.extend(str(item[contracts.TABLE_PK]) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if not found:
        raise UsageError(f"no execution named {run!r} in table {table.name}: pass its execution "
                         "ARN (orchestrator executions WORKFLOW lists recent runs)")
    if len(found) > 1:
        raise UsageError(f"{len(found)} executions are named {run!r}: pass one ARN of "
                         + ", ".join(sorted(found)))
    return found[0]


def run_rows(table: Any, arn: str) -> list[dict[str, Any]]:
    """The run's job rows; an error when the table has nothing for it."""
    execution, rows = jobstate.read_execution(table, arn)
    rows = list(rows)
    if execution is None and not rows:
        raise UsageError(f"table {table.name} has no rows for {arn}: check the ARN, or pass "
                         "--table for the stack that ran it")
    return rows


def collect(batch: Any, run: str, rows: Sequence[dict[str, Any]] = (),
            job_ids: Sequence[str] = ()) -> Facts:
    labels = {str(r["job_id"]): f"{r.get('stage', '')}/{r.get('sample', '')}"
              for r in rows if r.get("job_id")}
    ids = list(dict.fromkeys([*labels, *job_ids]))
    described = _describe_jobs(batch, ids)
    dep_ids = [d["jobId"] for j in described.values() for d in j.get("dependsOn", [])
               if d.get("jobId") and d["jobId"] not in described]
    related_raw = _describe_jobs(batch, list(dict.fromkeys(dep_ids)))
    definitions = _definitions(batch, {j["jobDefinition"] for j in
                                       (*described.values(), *related_raw.values())
                                       if j.get("jobDefinition")})
    queues = _queues(batch, {j["jobQueue"] for j in described.values() if j.get("jobQueue")})
    env_arns = {arn for q in queues for arn in q.environments}
    environments = _environments(batch, env_arns)

    jobs: list[Job] = []
    by_row = {str(r["job_id"]): r for r in rows if r.get("job_id")}
    for job_id in ids:
        if job_id in described:
            jobs.append(_job(described[job_id], definitions, labels.get(job_id, "")))
        elif job_id in by_row:
            jobs.append(_row_job(by_row[job_id], labels[job_id]))
        else:
            raise UsageError(f"Batch does not know job {job_id}: check the id (finished jobs "
                             "are described for a limited time only)")
    related = tuple(_job(d, definitions, "") for d in related_raw.values())
    return Facts(run=run, jobs=tuple(jobs), queues=tuple(queues),
                 environments=tuple(environments), related=related)


def _describe_jobs(batch: Any, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in pages(ids):
        for job in batch.describe_jobs(jobs=page).get("jobs", []):
            found[job["jobId"]] = job
    return found


def _definitions(batch: Any, arns: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in pages(sorted(arns)):
        for d in batch.describe_job_definitions(jobDefinitions=page).get("jobDefinitions", []):
            found[d["jobDefinitionArn"]] = d
    return found


def _queues(batch: Any, refs: set[str]) -> list[Queue]:
    out = []
    for page in pages(sorted(refs)):
        for q in batch.describe_job_queues(jobQueues=page).get("jobQueues", []):
            out.append(queue_from(q))
    return out


def _environments(batch: Any, refs: set[str]) -> list[ComputeEnvironment]:
    out = []
    for page in pages(sorted(refs)):
        for e in batch.describe_compute_environments(
                computeEnvironments=page).get("computeEnvironments", []):
            out.append(environment_from(e))
    return out


def queue_from(q: dict[str, Any]) -> Queue:
    order = sorted(q.get("computeEnvironmentOrder", []), key=lambda o: int(o.get("order", 0)))
    actions = tuple(TimeLimitAction(a.get("reason", ""), a.get("state", ""),
                                    int(a.get("maxTimeSeconds", 0)), a.get("action", ""))
                    for a in q.get("jobStateTimeLimitActions", []))
    return Queue(name=q["jobQueueName"], arn=q["jobQueueArn"], state=q.get("state", ""),
                 status=q.get("status", ""), status_reason=q.get("statusReason", ""),
                 priority=int(q.get("priority", 0)),
                 environments=tuple(o["computeEnvironment"] for o in order),
                 time_limit_actions=actions)


def environment_from(e: dict[str, Any]) -> ComputeEnvironment:
    resources = e.get("computeResources") or {}
    kind = "UNMANAGED" if e.get("type") == "UNMANAGED" else str(resources.get("type", "EC2"))
    max_vcpus = resources.get("maxvCpus")
    return ComputeEnvironment(
        name=e["computeEnvironmentName"], arn=e["computeEnvironmentArn"],
        state=e.get("state", ""), status=e.get("status", ""),
        status_reason=e.get("statusReason", ""), kind=kind,
        instance_types=tuple(resources.get("instanceTypes", [])),
        max_vcpus=int(max_vcpus) if max_vcpus is not None else None)


def _requirements(container: dict[str, Any]) -> dict[str, str]:
    return {r["type"]: str(r["value"]) for r in container.get("resourceRequirements", [])}


def _job(d: dict[str, Any], definitions: dict[str, dict[str, Any]], label: str) -> Job:
    definition = definitions.get(d.get("jobDefinition", ""), {})
    container = d.get("container") or {}
    def_container = definition.get("containerProperties") or {}
    # DescribeJobs reports the requirements with overrides applied; older jobs and emulators
    # may only have the definition's, or the legacy vcpus/memory fields.
    rr = _requirements(container) or _requirements(def_container)
    vcpus = rr.get("VCPU") or container.get("vcpus") or def_container.get("vcpus")
    memory = rr.get("MEMORY") or container.get("memory") or def_container.get("memory")
    platforms = d.get("platformCapabilities") or definition.get("platformCapabilities") or ["EC2"]
    attempts = tuple(
        Attempt(status_reason=a.get("statusReason", ""),
                container_reason=(a.get("container") or {}).get("reason", ""),
                exit_code=(a.get("container") or {}).get("exitCode"))
        for a in d.get("attempts", []))
    return Job(
        job_id=d["jobId"], name=d.get("jobName", ""), status=d.get("status", ""),
        status_reason=d.get("statusReason", ""), label=label, queue=d.get("jobQueue", ""),
        definition=d.get("jobDefinition", ""),
        vcpus=float(vcpus) if vcpus is not None else None,
        memory_mib=int(memory) if memory is not None else None,
        gpus=int(rr.get("GPU", 0)), platform="FARGATE" if "FARGATE" in platforms else "EC2",
        attempts=attempts,
        depends_on=tuple(x["jobId"] for x in d.get("dependsOn", []) if x.get("jobId")))


def _row_job(row: dict[str, Any], label: str) -> Job:
    exit_code = row.get("exit_code")
    attempts = int(row.get("attempts", 0) or 0)
    last = Attempt(status_reason=str(row.get("status_reason", "")),
                   exit_code=int(exit_code) if exit_code is not None else None)
    return Job(job_id=str(row["job_id"]), name=str(row.get("job_name", "")),
               status=str(row.get("status", "")), status_reason=str(row.get("status_reason", "")),
               label=label, attempts=(last,) if attempts else (), in_batch=False)
