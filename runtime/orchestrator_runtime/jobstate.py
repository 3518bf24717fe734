"""The job-state table: one row per (execution, stage, sample), exact counters per execution.

Batch and Step Functions events arrive at least once and in any order. Each row keeps the
``order`` key of the event that wrote it: (job created, terminal, event time, attempts, status
rank), formatted so that string order is event order. An event is applied only when its key
is greater, so a duplicate does nothing, a late RUNNING never overwrites SUCCEEDED, two events
of one job at the same second settle by attempts and then status rank, and a newer job for
the same (execution, stage, sample) -- a Step Functions retry, or the job of a redriven
execution -- moves the row forward even past a terminal status.

Array stages: the event of a job that ran a manifest line is first resolved to its sample
(:func:`resolve`, reading the manifest through :class:`~orchestrator_runtime.manifests.
Manifests`), then written as that sample's row like any job's. The array job itself (the
parent) gets one row of its own, ``array_sk(stage, offset)``, ordered the same way but
outside the counters, so they still count samples. The execution row orders its
events by (redrive count, terminal, event time, status rank), so a redriven execution's
RUNNING follows its earlier FAILED. The row and the execution's ``n_<STATUS>`` counters change
in one transaction conditioned on the row's previous key; a concurrent writer makes it fail,
and it is re-read and retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from botocore.exceptions import ClientError

from orchestrator_runtime import contracts
from orchestrator_runtime.events import (
    EXECUTION_RANK,
    ExecutionEvent,
    JobAttempt,
    JobEvent,
    MalformedEvent,
    check_row_key,
    millis_iso,
    parse_batch_event,
    parse_execution_event,
)
from orchestrator_runtime.manifests import Manifests, UnknownSample

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table

TTL = timedelta(days=30)
MAX_TRIES = 10
K = TypeVar("K")
Read: TypeAlias = JobEvent | ExecutionEvent | str  # as read_event returns it (str: why ignored)

__all__ = ["MalformedEvent", "Outcome", "apply_array_event", "apply_execution_event",
           "apply_job_event", "apply_read", "create_table", "handle_event", "parse_event",
           "read_arrays", "read_event", "read_execution", "read_run", "record_skipped",
           "resolve", "superseded"]


@dataclass(frozen=True)
class Outcome:
    """What one event did, for logs and metrics."""

    kind: Literal["job", "array", "execution", "ignored"]
    applied: bool  # False for duplicates, late events and events of other stacks
    message: str
    workflow: str = ""
    stage: str = ""
    status: str = ""
    duration_seconds: float | None = None  # of a job that reached a terminal status


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _order(event: JobEvent) -> str:
    terminal = int(event.status in contracts.STAGE_FINAL)
    return (f"{event.created_ms:015d}|{terminal}|{_millis(event.time):015d}|"
            f"{event.attempts:04d}|{contracts.STATUS_RANK[event.status]}")


def _execution_order(event: ExecutionEvent) -> str:
    terminal = int(event.status in contracts.EXECUTION_FINAL)
    return (f"{event.redrive_count:05d}|{terminal}|{_millis(event.time):015d}|"
            f"{EXECUTION_RANK[event.status]}")


def _job_item(event: JobEvent, now: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        contracts.TABLE_PK: event.execution,
        contracts.TABLE_SK: contracts.job_sk(event.stage, event.sample),
        "workflow": event.workflow, "stage": event.stage, "sample": event.sample,
        "job_id": event.job_id, "job_name": event.job_name, "status": event.status,
        "status_reason": event.status_reason, "attempts": event.attempts,
        "order": _order(event), "event_id": event.event_id, "updated_at": iso(now),
        contracts.TTL_ATTRIBUTE: int((event.time + TTL).timestamp()),
    }
    optional = {"exit_code": event.exit_code, "log_stream": event.log_stream,
                "created_at": event.created_at, "started_at": event.started_at,
                "stopped_at": event.stopped_at}
    item.update({k: v for k, v in optional.items() if v is not None})
    if event.attempt_history:
        item["attempt_details"] = attempt_items(event.attempt_history)
    return item


def attempt_items(attempts: Sequence[JobAttempt]) -> list[dict[str, Any]]:
    """Every attempt, oldest first, in the shape readers give ``attempt_details``
    (orchestrator.runs): times as ISO text, empty fields left out. Bounded by the parser: at
    most limits.BATCH_ATTEMPTS_MAX attempts, free text cut to events.CAUSE_LIMIT."""
    out = []
    for a in attempts:
        item: dict[str, Any] = {
            "started_at": None if a.started_ms is None else millis_iso(a.started_ms),
            "stopped_at": None if a.stopped_ms is None else millis_iso(a.stopped_ms),
            "exit_code": a.exit_code, "status_reason": a.status_reason, "log": a.log_stream,
            "container_reason": a.container_reason}
        out.append({k: v for k, v in item.items() if v not in (None, "")})
    return out


def _offset(event: JobEvent) -> int:
    return event.manifest.offset if event.manifest is not None else 0


def _row(event: JobEvent) -> tuple[str, str]:
    """The (pk, sk) of the row an event writes: an array job's own row, or its sample's."""
    if event.array_size is not None:
        return event.execution, contracts.array_sk(event.stage, _offset(event))
    return event.execution, contracts.job_sk(event.stage, event.sample)


def _transaction(table: Table, event: JobEvent, current: Mapping[str, Any] | None,
                 now: datetime) -> list[dict[str, Any]]:
    put: dict[str, Any] = {"TableName": table.name, "Item": _job_item(event, now)}
    if current is None:
        put["ConditionExpression"] = "attribute_not_exists(#pk)"
        put["ExpressionAttributeNames"] = {"#pk": contracts.TABLE_PK}
    elif "order" not in current:
        put["ConditionExpression"] = "attribute_not_exists(#order)"
        put["ExpressionAttributeNames"] = {"#order": "order"}
    else:
        put["ConditionExpression"] = "#order = :previous"
        put["ExpressionAttributeNames"] = {"#order": "order"}
        put["ExpressionAttributeValues"] = {":previous": current["order"]}
    names = {"#wf": "workflow", "#new": f"n_{event.status}"}
    values: dict[str, Any] = {":wf": event.workflow, ":now": iso(now), ":one": 1,
                              ":exp": int((event.time + TTL).timestamp())}
    adds = ["#new :one"]
    old = current.get("status") if current else None
    if old == event.status:
        adds, names = [], {"#wf": "workflow"}
        del values[":one"]
    elif old is not None:
        names["#old"] = f"n_{old}"
        values[":minus"] = -1
        adds.append("#old :minus")
    update = "SET #wf = :wf, updated_at = :now, expires_at = :exp"
    if adds:
        update += " ADD " + ", ".join(adds)
    counters = {
        "TableName": table.name,
        "Key": {contracts.TABLE_PK: event.execution, contracts.TABLE_SK: contracts.EXECUTION_SK},
        "UpdateExpression": update, "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    return [{"Put": put}, {"Update": counters}]


def _retryable(exc: ClientError) -> bool:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons", [])
    codes = {r.get("Code") for r in reasons} - {"None", None}
    return codes <= {"ConditionalCheckFailed", "TransactionConflict"}


def apply_job_event(table: Table, event: JobEvent, *, now: datetime | None = None) -> Outcome:
    """Write the event's row and move the counters, unless the row already knows better."""
    now = now or datetime.now(UTC)
    pk, sk = _row(event)
    key = {contracts.TABLE_PK: pk, contracts.TABLE_SK: sk}
    where = f"{event.stage}/{event.sample} {event.status}"
    client: Any = table.meta.client  # the resource's client takes and returns Python values
    for attempt in range(MAX_TRIES):
        current = table.get_item(Key=key, ConsistentRead=True).get("Item")
        if current is not None and str(current.get("order", "")) >= _order(event):
            known = str(current.get("status"))
            return Outcome("job", False, f"{where}: duplicate or older than {known}",
                           event.workflow, event.stage, event.status)
        try:
            client.transact_write_items(TransactItems=_transaction(table, event, current, now))
        except ClientError as exc:
            if not _retryable(exc):
                raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
            continue
        return Outcome("job", True, f"{where}: recorded", event.workflow, event.stage,
                       event.status, event.duration_seconds)
    raise RuntimeError(f"{where}: gave up after {MAX_TRIES} conflicting writes")


def resolve(event: JobEvent, manifests: Manifests | None) -> JobEvent:
    """The event with its row named: the sample of the manifest line the job ran, and the
    execution, workflow and stage from its tags or else from the stage document."""
    ref = event.manifest
    if ref is None:
        return event
    if manifests is None:
        raise UnknownSample(f"job {event.job_id} ran a line of {ref.uri}; reading it needs S3")
    execution, workflow, stage = event.execution, event.workflow, event.stage
    if not (execution and workflow and stage):
        execution, workflow, stage = manifests.stage(ref.uri)
    sample = ""
    if event.array_size is None:  # a child, or the one job of a single-sample plan
        sample = manifests.line(ref, event.job_id.split(":", 1)[0])["sample"]
    check_row_key(execution, stage, sample or contracts.ONCE,
                  f"job {event.job_id} (manifest {ref.uri} line {ref.line})")
    return replace(event, execution=execution, workflow=workflow, stage=stage, sample=sample)


def apply_array_event(table: Table, event: JobEvent, *, now: datetime | None = None) -> Outcome:
    """Write an array job's own row (never counted) unless it already knows better."""
    now = now or datetime.now(UTC)
    where = f"{event.stage} array {event.job_id} {event.status}"
    item = _job_item(event, now)
    item.update({contracts.TABLE_SK: _row(event)[1], "size": event.array_size,
                 "offset": _offset(event)})
    del item["sample"]
    if event.manifest is not None:
        item["manifest"] = event.manifest.uri
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(#o) OR #o < :o",
                       ExpressionAttributeNames={"#o": "order"},
                       ExpressionAttributeValues={":o": item["order"]})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return Outcome("array", False, f"{where}: duplicate or late", event.workflow,
                       event.stage, event.status)
    return Outcome("array", True, f"{where}: recorded", event.workflow, event.stage,
                   event.status)


def record_skipped(table: Table, execution: str, workflow: str, stage: str, sample: str,
                   *, now: datetime | None = None) -> Outcome:
    """Mark (execution, stage, sample) SKIPPED: the check found its outputs complete."""
    now = now or datetime.now(UTC)
    event = JobEvent(execution=execution, workflow=workflow, stage=stage, sample=sample,
                     job_id="", job_name="", status="SKIPPED",
                     status_reason="outputs complete; job not submitted", attempts=0,
                     time=now, event_id="", created_ms=_millis(now))
    return apply_job_event(table, event, now=now)


def apply_execution_event(table: Table, event: ExecutionEvent, *,
                          now: datetime | None = None) -> Outcome:
    """Update the execution row unless it already holds a later status."""
    now = now or datetime.now(UTC)
    order = _execution_order(event)
    fields: dict[str, Any] = {
        "status": event.status, "state_machine": event.state_machine, "name": event.name,
        "exec_order": order, "updated_at": iso(now),
        contracts.TTL_ATTRIBUTE: int((event.time + TTL).timestamp()),
        "start_date": event.start_date, "stop_date": event.stop_date,
        "error": event.error, "cause": event.cause, "redrive_count": event.redrive_count,
        "redrive_date": event.redrive_date,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    names = {f"#f{i}": k for i, k in enumerate(fields)}
    values = {f":v{i}": v for i, v in enumerate(fields.values())}
    sets = [f"{n} = {v}" for n, v in zip(names, values, strict=True)]
    names["#wf"], values[":sm"] = "workflow", event.state_machine
    sets.append("#wf = if_not_exists(#wf, :sm)")
    names["#eo"] = "exec_order"
    try:
        table.update_item(
            Key={contracts.TABLE_PK: event.execution, contracts.TABLE_SK: contracts.EXECUTION_SK},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_not_exists(#eo) OR #eo < :v_order",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":v_order": order},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return Outcome("execution", False, f"{event.name} {event.status}: duplicate or late",
                       event.state_machine, status=event.status)
    return Outcome("execution", True, f"{event.name} {event.status}: recorded",
                   event.state_machine, status=event.status)


def parse_event(event: Any) -> JobEvent | ExecutionEvent | str:
    """One EventBridge event as a record, or why it is ignored; MalformedEvent, nothing else,
    when it cannot be understood. Pure: no table, no clock."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"an event must be a JSON object, got {type(event).__name__}")
    kind = (event.get("source"), event.get("detail-type"))
    if kind == contracts.BATCH_JOB_STATE_CHANGE:
        job = parse_batch_event(event)
        return "Batch job without orchestrator tags (other stack)" if job is None else job
    if kind == contracts.EXECUTION_STATUS_CHANGE:
        return parse_execution_event(event)
    if not all(isinstance(k, str) and len(k) <= 256 for k in kind):
        raise MalformedEvent("event has no string source and detail-type")
    return f"not a job or execution event: {kind[0]} / {kind[1]}"


def read_event(event: Any, manifests: Manifests | None = None) -> Read:
    """:func:`parse_event`, with an array job's event resolved to the row it writes."""
    parsed = parse_event(event)
    return resolve(parsed, manifests) if isinstance(parsed, JobEvent) else parsed


def apply_read(table: Table, read: Read, *, now: datetime | None = None) -> Outcome:
    """Apply an event :func:`read_event` returned."""
    if isinstance(read, str):
        return Outcome("ignored", False, read)
    if isinstance(read, JobEvent):
        if read.array_size is not None:
            return apply_array_event(table, read, now=now)
        return apply_job_event(table, read, now=now)
    return apply_execution_event(table, read, now=now)


def handle_event(table: Table, event: Any, *, now: datetime | None = None,
                 manifests: Manifests | None = None) -> Outcome:
    """Apply one EventBridge event; MalformedEvent when it cannot be understood (an array
    job's event also when its manifest cannot say which sample it ran)."""
    return apply_read(table, read_event(event, manifests), now=now)


def superseded(events: Mapping[K, JobEvent]) -> dict[K, JobEvent]:
    """The events of one batch that another event of it makes redundant, each with the event
    that does: a row ends holding the event with the greatest order key it was given, and an
    execution's counters end counting that event's status, whatever else came in between.
    So applying only the others leaves the table as applying all of them would (and a
    short job's RUNNABLE, STARTING, RUNNING and SUCCEEDED, batched, cost one write, not
    four). Of equal keys (a duplicate delivery) the later in the batch is kept."""
    rows = {key: _row(event) for key, event in events.items()}
    kept: dict[tuple[str, str], K] = {}
    for key, event in events.items():
        held = kept.get(rows[key])
        if held is None or _order(event) >= _order(events[held]):
            kept[rows[key]] = key
    return {key: events[kept[row]] for key, row in rows.items() if kept[row] != key}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_execution(
    table: Table, execution_arn: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The execution row (None before any event) and its job rows (one per stage and
    sample; array jobs' own rows are left out), numbers as int/float."""
    execution, jobs, _ = read_run(table, execution_arn)
    return execution, jobs


def read_arrays(table: Table, execution_arn: str) -> list[dict[str, Any]]:
    """The rows of the execution's array jobs (one per array job: status, size, job id)."""
    return _items(table, execution_arn, contracts.ARRAY_SK_PREFIX)


def read_run(table: Table, execution_arn: str) -> tuple[
        dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`read_execution` and :func:`read_arrays` in one query."""
    rows = _items(table, execution_arn)
    execution = next((r for r in rows if r[contracts.TABLE_SK] == contracts.EXECUTION_SK), None)
    jobs = [r for r in rows if str(r[contracts.TABLE_SK]).startswith(contracts.JOB_SK_PREFIX)]
    arrays = [r for r in rows
              if str(r[contracts.TABLE_SK]).startswith(contracts.ARRAY_SK_PREFIX)]
    return execution, jobs, arrays


def _items(table: Table, execution_arn: str, prefix: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": "pk"},
        "ExpressionAttributeValues": {":pk": execution_arn}, "ConsistentRead": True,
    }
    if prefix:
        kwargs["KeyConditionExpression"] += " AND begins_with(#sk, :prefix)"
        kwargs["ExpressionAttributeNames"]["#sk"] = contracts.TABLE_SK
        kwargs["ExpressionAttributeValues"][":prefix"] = prefix
    while True:
        page = table.query(**kwargs)
        rows.extend(_plain(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return rows


def create_table(dynamodb: DynamoDBServiceResource, name: str) -> Table:
    """The job-state table as template.yaml declares it, for tests (the local engine creates
    its table from the stack description)."""
    table = dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": contracts.TABLE_PK, "KeyType": "HASH"},
                   {"AttributeName": contracts.TABLE_SK, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": contracts.TABLE_PK, "AttributeType": "S"},
                              {"AttributeName": contracts.TABLE_SK, "AttributeType": "S"}],
    )
    table.wait_until_exists()
    table.meta.client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": contracts.TTL_ATTRIBUTE},
    )
    return table
