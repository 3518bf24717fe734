"""The job-events function: Batch job and Step Functions execution status into DynamoDB.

Batch events come through SQS (a batch of EventBridge events; a record that fails is
reported in batchItemFailures and retried, then dead-lettered; a job event that a later one
of the same batch supersedes is acknowledged without a write: jobstate.superseded, so a
short job's whole life within the batching window is one write); execution events and
unwrapped Batch events come straight from EventBridge. The events of array jobs' children
name a manifest line, read from the workflow's bucket (``_orchestrator/tasks/``) to know
the sample: the function keeps what it read for the next events of the same array job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from orchestrator_runtime import jobstate, s3util
from orchestrator_runtime.envcache import env_cached
from orchestrator_runtime.events import JobEvent, MalformedEvent
from orchestrator_runtime.manifests import Manifests

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

NAMESPACE = "Orchestrator"
logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@env_cached("TABLE_NAME")
def _table() -> Table:
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


@env_cached()
def _manifests() -> Manifests:
    return Manifests(boto3.client("s3", config=s3util.client_config()))


def _metrics(outcome: jobstate.Outcome) -> None:
    # single_metric prints its EMF line itself, ignoring POWERTOOLS_METRICS_DISABLED
    if outcome.kind != "job" or not outcome.applied or is_metrics_disabled():
        return
    dims = {"workflow": outcome.workflow, "stage": outcome.stage}
    with single_metric(name="JobStatusChanges", unit=MetricUnit.Count, value=1,
                       namespace=NAMESPACE) as metric:
        for name, value in {**dims, "status": outcome.status}.items():
            metric.add_dimension(name, value)
    if outcome.duration_seconds is not None:
        with single_metric(name="JobDuration", unit=MetricUnit.Seconds,
                           value=outcome.duration_seconds, namespace=NAMESPACE) as metric:
            for name, value in dims.items():
                metric.add_dimension(name, value)


def apply(event: Any) -> jobstate.Outcome:
    """One EventBridge event; MalformedEvent is logged and counted, then re-raised."""
    try:
        read = jobstate.read_event(event, _manifests())
    except MalformedEvent as exc:
        logger.error("malformed event", extra={"reason": str(exc)})
        metrics.add_metric("MalformedEvents", MetricUnit.Count, 1)
        raise
    return _apply_read(read)


def _apply_read(read: jobstate.Read) -> jobstate.Outcome:
    return _counted(jobstate.apply_read(_table(), read))


def _counted(outcome: jobstate.Outcome) -> jobstate.Outcome:
    """An event's outcome, logged and counted."""
    logger.info(outcome.message, extra={"kind": outcome.kind, "applied": outcome.applied,
                                        "workflow": outcome.workflow, "stage": outcome.stage})
    if outcome.kind == "ignored":
        metrics.add_metric("IgnoredEvents", MetricUnit.Count, 1)
    else:  # duplicates and late events are normal; a high share hints at a redelivery storm
        metrics.add_metric("EventsApplied" if outcome.applied else "EventsSuperseded",
                           MetricUnit.Count, 1)
    _metrics(outcome)
    return outcome


def record_handler(record: SQSRecord) -> None:
    body = record.get("body")
    try:
        if not isinstance(body, str):
            raise TypeError
        event = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        logger.error("SQS body is not JSON", extra={"message_id": record.message_id})
        metrics.add_metric("MalformedEvents", MetricUnit.Count, 1)
        raise MalformedEvent(f"SQS message {record.message_id}: body is not JSON") from None
    _retried_if_it_fails(record, lambda: apply(event))


def _retried_if_it_fails(record: SQSRecord, work: Callable[[], object]) -> None:
    try:
        work()
    except MalformedEvent:
        raise
    except Exception:  # the table, not the event: SQS delivers it again
        logger.exception("event not applied; it will be retried",
                         extra={"message_id": record.message_id})
        raise


class _Batch:
    """One SQS batch, read before any record is applied, so that a job event another
    record of the batch supersedes (jobstate.superseded) is acknowledged without a write."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.read: dict[str, jobstate.Read] = {}
        for record in records:
            try:
                self.read[record["messageId"]] = jobstate.read_event(
                    json.loads(record["body"]), _manifests())
            except Exception:  # its record fails on its own, with its error
                continue
        self.superseded = jobstate.superseded(
            {k: v for k, v in self.read.items() if isinstance(v, JobEvent)})

    def handle(self, record: SQSRecord) -> None:
        later = self.superseded.get(record.message_id)
        if later is not None:
            own = self.read[record.message_id]
            assert isinstance(own, JobEvent)
            _counted(jobstate.Outcome("job", False, f"{own.stage}/{own.sample} {own.status}: "
                                      f"superseded by {later.status} in the same batch",
                                      own.workflow, own.stage, own.status))
            return
        read = self.read.get(record.message_id)
        if read is None:  # unreadable: the whole path again, which reports why
            record_handler(record)
            return
        _retried_if_it_fails(record, lambda: _apply_read(read))


def _identified(records: list[Any]) -> list[dict[str, Any]]:
    """The records a partial batch response can name; the rest are logged and dropped.

    Lambda's SQS event source sends objects with a messageId; anything else was not sent by
    SQS, cannot be retried, and must not fail the good records beside it (a failure without
    an itemIdentifier fails the whole batch).
    """
    kept = []
    for i, record in enumerate(records):
        message_id = record.get("messageId") if isinstance(record, dict) else None
        if isinstance(message_id, str) and message_id:
            kept.append(record)
            continue
        logger.error("SQS record without a messageId dropped", extra={"index": i})
        metrics.add_metric("MalformedEvents", MetricUnit.Count, 1)
    return kept


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        records = _identified(event["Records"])
        if not records:
            return {"batchItemFailures": []}
        return dict(process_partial_response(event={"Records": records},
                                             record_handler=_Batch(records).handle,
                                             processor=processor, context=context))
    try:
        outcome = apply(event)
    except MalformedEvent as exc:  # retrying a malformed event cannot help
        return {"applied": False, "reason": str(exc)}
    return {"applied": outcome.applied, "reason": outcome.message}
