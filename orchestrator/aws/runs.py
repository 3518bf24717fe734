"""Runs on AWS for `orchestrator.runs`: Step Functions executions, their rows in the job-state
table, Batch for what the table lacks, CloudWatch Logs for a job attempt's output.

Rows come from the table. A job the table does not know (its events were lost, or the table
was created after the run) is found in the execution's history (the ``TaskSubmitted`` output
of each ``batch:submitJob`` names the job id) and described by Batch, 100 ids per call; its
stage and sample come from the job's ``orchestrator:stage``/``orchestrator:sample`` tags. A job
Batch no longer describes keeps what the history's TaskSucceeded/TaskFailed says about it.
Failed jobs and jobs with more than one attempt are described too, for every attempt's
status reason, exit code and log stream (Spot reclaims, earlier attempts' logs).

Clients are passed in; nothing here reads the environment. Calls raise botocore's errors: the
CLI turns them into one line (orchestrator.cli.opsout.aws).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from orchestrator.aws import collect
from orchestrator.aws.errors import UsageError
from orchestrator.runs import (
    Backend,
    Run,
    RunNotFound,
    RunSummary,
    StartedBy,
    count_rows,
    parse_time,
    sort_rows,
)
from orchestrator_runtime import contracts, jobstate
from orchestrator_runtime.triggers import TRIGGER_KEY

DEFAULT_LOG_GROUP = "/aws/batch/job"  # where Batch's awslogs driver writes unless told
DEFAULT_LIMIT = 20
_GENERATED_NAME = re.compile(r"^.+-[0-9a-f]{24}$")  # contracts.execution_name
TERMINAL_EXECUTION = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class AwsRuns:
    backend: Backend = "aws"

    def __init__(self, *, sfn: Any, table: Any, batch: Any, logs: Any,
                 log_group: str = DEFAULT_LOG_GROUP, limit: int = DEFAULT_LIMIT,
                 machines: Sequence[str] | None = None) -> None:
        self.sfn, self.table, self.batch, self.logs = sfn, table, batch, logs
        self.log_group, self.limit = log_group, limit
        self.machines = machines  # the stack's state machine ARNs; None: every one in sight
        self._described: dict[str, dict[str, Any]] = {}
        self._workflows: dict[str, str] = {}

    # --- runs -----------------------------------------------------------------------------

    def state_machines(self, workflow: str | None) -> list[dict[str, Any]]:
        """The state machines (of the stack, when known), each as {"stateMachineArn", "name"}
        with the workflow it runs as its name."""
        if self.machines is not None:
            listed = [{"stateMachineArn": arn, "name": self.workflow_of(arn)}
                      for arn in self.machines]
        else:  # no stack: state machines named after their workflow (or tagged with it)
            listed = []
            for page in self.sfn.get_paginator("list_state_machines").paginate():
                listed.extend(page["stateMachines"])
        found = [sm for sm in listed if workflow is None or sm["name"] == workflow]
        if workflow is not None and not found:
            what = ("the stack has no state machine for workflow" if self.machines is not None
                    else "no state machine named")
            raise RunNotFound(f"{what} {workflow!r}: deploy it (orchestrator deploy FILE.py) "
                              "or check --stack-name and --region")
        return found

    def workflow_of(self, state_machine_arn: str) -> str:
        """The workflow a state machine runs: its orchestrator:workflow tag (CloudFormation
        names the state machine), else its name."""
        if state_machine_arn not in self._workflows:
            name = state_machine_arn.rsplit(":", 1)[-1]
            try:
                tags = self.sfn.list_tags_for_resource(resourceArn=state_machine_arn)["tags"]
            except ClientError:  # gone, or no states:ListTagsForResource: the name will do
                tags = []
            self._workflows[state_machine_arn] = next(
                (str(t["value"]) for t in tags if t.get("key") == contracts.TAG_WORKFLOW), name)
        return self._workflows[state_machine_arn]

    def list_runs(self, workflow: str | None = None,
                  limit: int | None = None) -> list[RunSummary]:
        limit = limit or self.limit
        found: list[tuple[str, dict[str, Any]]] = []
        for sm in self.state_machines(workflow):
            pages = self.sfn.get_paginator("list_executions").paginate(
                stateMachineArn=sm["stateMachineArn"], PaginationConfig={"MaxItems": limit})
            found.extend((sm["name"], e) for page in pages for e in page["executions"])
        # ListExecutions lists newest first; only the newest `limit` of all are summarised
        found.sort(key=lambda f: (f[1].get("startDate") is not None,
                                  parse_time(f[1].get("startDate"))), reverse=True)
        return [self._summary(name, e) for name, e in found[:limit]]

    def _summary(self, workflow: str, execution: Mapping[str, Any],
                 described: Mapping[str, Any] | None = None) -> RunSummary:
        arn = str(execution["executionArn"])
        row = self.table.get_item(Key={contracts.TABLE_PK: arn,
                                       contracts.TABLE_SK: contracts.EXECUTION_SK},
                                  ConsistentRead=True).get("Item") or {}
        counts = {k[2:]: int(v) for k, v in row.items()
                  if k.startswith("n_") and int(v) > 0}
        name = str(execution["name"])
        d = described or {}
        return RunSummary(
            run_id=arn, name=name, workflow=workflow, backend="aws",
            status=str(execution["status"]), started_at=parse_time(execution.get("startDate")),
            ended_at=parse_time(execution.get("stopDate")),
            started_by=self._started_by(arn, name, d), counts=counts,
            error=str(d.get("error") or ""), cause=str(d.get("cause") or ""))

    def _started_by(self, arn: str, name: str, described: Mapping[str, Any]) -> StartedBy:
        """`orchestrator start` and the S3 trigger name executions with
        contracts.execution_name; the trigger's input carries a ``trigger`` key. Any other
        name was typed by someone (the console, the AWS CLI)."""
        if not _GENERATED_NAME.match(name):
            return "console"
        text = described.get("input")
        if text is None:
            text = self.sfn.describe_execution(executionArn=arn).get("input")
        try:
            doc = json.loads(text or "{}")
        except ValueError:
            return "unknown"
        return "trigger" if isinstance(doc, dict) and TRIGGER_KEY in doc else "cli"

    def resolve(self, run_id: str) -> str:
        """An execution ARN for an ARN or an execution name."""
        if run_id.startswith("arn:"):
            return run_id
        try:
            return collect.execution_arn(self.table, run_id)
        except UsageError:
            pass
        for sm in self.state_machines(None):  # not in the table: ask Step Functions
            arn = f"{sm['stateMachineArn'].replace(':stateMachine:', ':execution:', 1)}:{run_id}"
            try:
                self.sfn.describe_execution(executionArn=arn)
            except self.sfn.exceptions.ExecutionDoesNotExist:
                continue
            return arn
        raise RunNotFound(f"no run named {run_id!r} in table {self.table.name} or any state "
                          "machine: `orchestrator runs` lists recent runs (check --region)")

    def get_run(self, run_id: str) -> Run:
        arn = self.resolve(run_id)
        try:
            described = self.sfn.describe_execution(executionArn=arn)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            raise RunNotFound(f"no execution {arn}: `orchestrator runs` lists recent runs "
                              "(check --region)") from None
        workflow = self.workflow_of(str(described["stateMachineArn"]))
        _, rows = jobstate.read_execution(self.table, arn)
        rows = [dict(r, source="table") for r in rows]
        rows += self._missing_rows(arn, workflow, rows)
        self._add_attempts(rows)
        summary = self._summary(workflow, described, described)
        summary = RunSummary(**{**summary.__dict__, "counts": count_rows(rows)
                                if rows else summary.counts})
        return Run(summary, sort_rows(rows), self.log_group)

    def state_transitions(self, run_id: str) -> int:
        """How many states the execution entered: what Step Functions bills as transitions."""
        arn = self.resolve(run_id)
        return sum(1 for e in self._history(arn)
                   if str(e.get("type", "")).endswith("StateEntered"))

    def stage_sizes(self, run: Run) -> dict[str, tuple[float, int]]:
        """Stage -> (vCPUs, GPUs) its jobs asked Batch for (DescribeJobs: the container's
        resourceRequirements, or the older ``vcpus``). Stages whose jobs Batch no longer
        describes are left out."""
        described = self.describe([str(r["job_id"]) for r in run.rows if r.get("job_id")])
        sizes: dict[str, tuple[float, int]] = {}
        for r in run.rows:
            job = described.get(str(r.get("job_id")))
            if job is not None and (size := job_size(job)) is not None:
                sizes.setdefault(str(r.get("stage")), size)
        return sizes

    # --- fallbacks: history and DescribeJobs ----------------------------------------------

    def _history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        return events

    def _missing_rows(self, arn: str, workflow: str,
                      rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        known = {str(r.get("job_id")) for r in rows if r.get("job_id")}
        submitted: list[str] = []
        ended: dict[str, dict[str, Any]] = {}  # job id -> the job as the history saw it
        for e in self._history(arn):
            kind = e.get("type", "")
            details: dict[str, Any] = next(
                (v for k, v in e.items() if k.endswith("EventDetails")), {})
            if details.get("resourceType") != "batch":
                continue
            if kind == "TaskSubmitted":
                job_id = _field(details.get("output"), "JobId")
                if job_id:
                    submitted.append(job_id)
            elif kind in ("TaskSucceeded", "TaskFailed"):
                job = _json(details.get("output") or details.get("cause"))
                job_id = str(job.get("JobId") or job.get("jobId") or "")
                if job_id:
                    ended[job_id] = job
        missing = [j for j in dict.fromkeys([*submitted, *ended]) if j not in known]
        if not missing:
            return []
        described = self.describe(missing)
        out = []
        for job_id in missing:
            if job_id in described:
                out.append(row_from_job(described[job_id], workflow, "batch"))
            elif job_id in ended:
                out.append(row_from_job(_camel(ended[job_id]), workflow, "history"))
        return [r for r in out if r["stage"]]

    def describe(self, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """DescribeJobs in pages of 100 (collect.pages), remembered for this source."""
        wanted = [j for j in dict.fromkeys(job_ids) if j not in self._described]
        for page in collect.pages(wanted):
            for job in self.batch.describe_jobs(jobs=page).get("jobs", []):
                self._described[job["jobId"]] = job
        return {j: self._described[j] for j in job_ids if j in self._described}

    def _add_attempts(self, rows: list[dict[str, Any]]) -> None:
        ids = [str(r["job_id"]) for r in rows if r.get("job_id") and "attempt_details" not in r
               and (r.get("status") == "FAILED" or int(r.get("attempts") or 0) > 1)]
        described = self.describe(ids)
        for r in rows:
            job = described.get(str(r.get("job_id")))
            if job is not None and "attempt_details" not in r:
                r["attempt_details"] = attempt_details(job)

    # --- logs -----------------------------------------------------------------------------

    def _stream(self, row: Mapping[str, Any], attempt: int) -> str:
        details = row.get("attempt_details")
        if details is None and row.get("job_id"):
            job = self.describe([str(row["job_id"])]).get(str(row["job_id"]))
            details = attempt_details(job) if job else None
        if details and 1 <= attempt <= len(details):
            return str(details[attempt - 1].get("log") or "")
        last = int(row.get("attempts") or 0)
        if attempt == last and row.get("log_stream"):
            return str(row["log_stream"])
        return ""

    def log_location(self, row: Mapping[str, Any], attempt: int) -> str:
        stream = self._stream(row, attempt)
        return f"{self.log_group}:{stream}" if stream else ""

    def log_lines(self, row: Mapping[str, Any], attempt: int) -> Iterator[str]:
        stream = self._stream(row, attempt)
        if not stream:
            raise RunNotFound(f"{row.get('stage')}/{row.get('sample')} attempt {attempt}: no "
                              f"log stream (the job has {row.get('attempts') or 0} attempt(s); "
                              "a job that never started has none)")
        kwargs: dict[str, Any] = {"logGroupName": self.log_group, "logStreamName": stream,
                                  "startFromHead": True}
        while True:
            try:
                page = self.logs.get_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException:
                raise RunNotFound(f"log stream {self.log_group}:{stream} does not exist "
                                  "(expired, or the job definition logs elsewhere: pass "
                                  "--log-group)") from None
            for event in page.get("events", []):
                yield str(event.get("message", "")).rstrip("\n")
            token = page.get("nextForwardToken")
            if not page.get("events") or token == kwargs.get("nextToken"):
                return
            kwargs["nextToken"] = token


def _json(text: Any) -> dict[str, Any]:
    try:
        doc = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _field(text: Any, key: str) -> str:
    doc = _json(text)
    return str(doc.get(key) or doc.get(key[0].lower() + key[1:]) or "")


def _camel(job: Mapping[str, Any]) -> dict[str, Any]:
    """The history holds Batch's job in ASL's PascalCase; DescribeJobs speaks camelCase."""
    def lower(value: Any) -> Any:
        if isinstance(value, dict):
            return {(k[0].lower() + k[1:] if k and k[0].isupper() and k != "Tags" else k):
                    v if k in ("Tags", "tags") else lower(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lower(v) for v in value]
        return value
    out: dict[str, Any] = lower(dict(job))
    if "Tags" in out:
        out["tags"] = out.pop("Tags")
    return out


def _ms_iso(value: Any) -> str | None:
    when = parse_time(value) if value not in (None, 0) else None
    return jobstate.iso(when) if when else None


def attempt_details(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in job.get("attempts") or []:
        container = a.get("container") or {}
        out.append({"status_reason": str(a.get("statusReason") or ""),
                    "exit_code": container.get("exitCode"),
                    "log": str(container.get("logStreamName") or ""),
                    "started_at": _ms_iso(a.get("startedAt")),
                    "stopped_at": _ms_iso(a.get("stoppedAt")),
                    "container_reason": str(container.get("reason") or "")})
    return out


def job_size(job: Mapping[str, Any]) -> tuple[float, int] | None:
    """(vCPUs, GPUs) of a DescribeJobs job: ``container.resourceRequirements`` (VCPU, GPU;
    values are strings, ResourceRequirement in the Batch API reference) or the deprecated
    ``container.vcpus``; None when neither is there."""
    container = job.get("container") or {}
    wanted = {str(r.get("type")): str(r.get("value"))
              for r in container.get("resourceRequirements") or []}
    try:
        vcpus = float(wanted["VCPU"]) if "VCPU" in wanted else float(container["vcpus"])
        return vcpus, int(float(wanted.get("GPU", "0")))
    except (KeyError, TypeError, ValueError):
        return None


def row_from_job(job: Mapping[str, Any], workflow: str, source: str) -> dict[str, Any]:
    """A job-state row from a DescribeJobs job (stage and sample from its tags)."""
    tags = job.get("tags") or {}
    container = job.get("container") or {}
    attempts = attempt_details(job)
    row: dict[str, Any] = {
        "workflow": str(tags.get(contracts.TAG_WORKFLOW) or workflow),
        "stage": str(tags.get(contracts.TAG_STAGE) or ""),
        "sample": str(tags.get(contracts.TAG_SAMPLE) or ""),
        "job_id": str(job.get("jobId") or ""), "job_name": str(job.get("jobName") or ""),
        "status": str(job.get("status") or ""),
        "status_reason": str(job.get("statusReason") or ""),
        "attempts": len(attempts), "attempt_details": attempts, "source": source,
        "exit_code": container.get("exitCode"),
        "log_stream": container.get("logStreamName"),
        "created_at": _ms_iso(job.get("createdAt")), "started_at": _ms_iso(job.get("startedAt")),
        "stopped_at": _ms_iso(job.get("stoppedAt")),
    }
    return {k: v for k, v in row.items() if v is not None}


def now() -> datetime:
    return datetime.now(UTC)
