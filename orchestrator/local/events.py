"""Events the local engine emits as AWS would, and the SQS -> handler path that consumes them.

moto's EventBridge delivers rules to SQS queues but never raises AWS's own events, and it
cannot invoke a Lambda target. So:

* :class:`BatchEvents` is a :class:`~orchestrator.local.batch.LocalBatch` listener that puts a
  "Batch Job State Change" event (source ``aws.batch``, detail = the DescribeJobs job) on the
  default bus for every status change after submission, as AWS does;
* :func:`emit_execution_status` puts a "Step Functions Execution Status Change" event;
* :class:`SqsPoller` plays Lambda's SQS event source mapping: it receives from a queue, calls
  a handler with ``{"Records": [...]}`` shaped like Lambda's SQS event, and deletes every
  message the handler did not list in ``batchItemFailures`` (none when the handler raises).
  Like the mapping's ``MaximumBatchingWindowInSeconds``, it gathers messages for a moment
  after it is woken, so a job's status changes reach the handler as one batch rather than
  one call each, while the engine's own work (on the same interpreter) goes first;
  :meth:`SqsPoller.flush` ends the gathering once the execution has ended.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.local.lambdas import FakeContext, OutputRouter, function_output
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

LOG = logging.getLogger(__name__)

# Every status but SUBMITTED: "Events aren't created for the initial job submission" (AWS
# Batch user guide, job state change events). PENDING: an array job waiting for children.
EMITTED = frozenset({"PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"})

SqsHandler = Callable[[dict[str, Any], Any], Any]


class BatchEvents:
    """Batch listener: one EventBridge event per job status change (none for SUBMITTED), put
    ten at a time (the most one PutEvents takes)."""

    def __init__(self, events: EventBridgeClient) -> None:
        self._events = events

    def __call__(self, jobs: Sequence[Mapping[str, Any]]) -> None:
        entries = [{
            "Source": c.BATCH_JOB_STATE_CHANGE.source,
            "DetailType": c.BATCH_JOB_STATE_CHANGE.detail_type,
            "Resources": [job["jobArn"]], "Detail": json.dumps(job),
        } for job in jobs if job.get("status") in EMITTED]
        if entries:
            _put(self._events, entries)


def execution_status_detail(sfn: SFNClient, execution_arn: str) -> dict[str, Any]:
    """The ``detail`` AWS sends for an execution: ARNs, name, status, dates in epoch ms."""
    ex = sfn.describe_execution(executionArn=execution_arn)
    stop = ex.get("stopDate")
    detail: dict[str, Any] = {
        "executionArn": ex["executionArn"], "stateMachineArn": ex["stateMachineArn"],
        "name": ex.get("name") or execution_arn.rsplit(":", 1)[-1], "status": ex["status"],
        "startDate": _ms(ex["startDate"]), "stopDate": _ms(stop) if stop else None,
        "input": ex.get("input"), "inputDetails": {"included": True},
        "output": ex.get("output"),
        "outputDetails": {"included": True} if "output" in ex else None,
    }
    for key in ("error", "cause"):
        if key in ex:
            detail[key] = ex[key]
    return detail


def emit_execution_status(events: EventBridgeClient, sfn: SFNClient, execution_arn: str) -> None:
    """Put the execution's current status on the default bus, as Step Functions does."""
    _put(events, [{
        "Source": c.EXECUTION_STATUS_CHANGE.source,
        "DetailType": c.EXECUTION_STATUS_CHANGE.detail_type, "Resources": [execution_arn],
        "Detail": json.dumps(execution_status_detail(sfn, execution_arn)),
    }])


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _put(events: EventBridgeClient, entries: list[dict[str, Any]]) -> None:
    result = events.put_events(Entries=entries)  # type: ignore[arg-type]
    if result.get("FailedEntryCount"):
        LOG.warning("EventBridge rejected %d of %d %s event(s): %s", result["FailedEntryCount"],
                    len(entries), entries[0]["DetailType"], result["Entries"])


class SqsPoller:
    """Lambda's SQS event source mapping for one queue, as a daemon thread."""

    def __init__(self, sqs: SQSClient, queue_url: str, handler: SqsHandler, *,
                 batch_size: int = 10, wait_seconds: int = 0, idle_seconds: float = 0.1,
                 batching_window: float = 0.0,
                 region: str = "us-east-1", function_name: str = "local-sqs-consumer",
                 router: OutputRouter | None = None) -> None:
        self._sqs = sqs
        self._router = router
        self.queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._idle = idle_seconds
        self._window = batching_window
        self._region = region
        self._name = function_name
        self._arn = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._stop = threading.Event()
        self._woken = threading.Event()
        self._flushing = threading.Event()
        self.handled = 0  # batches the handler has returned from (raised included)
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"sqs-poller-{queue_url.rsplit('/', 1)[-1]}")

    def start(self) -> SqsPoller:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Poll now: something was just sent to the queue (else it polls every
        ``idle_seconds``)."""
        self._woken.set()

    def flush(self) -> None:
        """Poll now and from now on without a batching window: whoever calls this is about
        to wait for the handler to have seen everything."""
        self._flushing.set()
        self._woken.set()

    def stop(self) -> None:
        self._stop.set()
        self._flushing.set()
        self._woken.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._wait + 5)

    def poll_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch and hand it over; returns the number of messages received."""
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait if wait_seconds is None else wait_seconds,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        context = FakeContext(self._name, f"arn:aws:lambda:{self._region}:123456789012:"
                                          f"function:{self._name}")
        with function_output(self._router, self._name):  # its traceback goes to its log
            try:
                result = self._handler(event, context)
            except Exception:
                LOG.exception("SQS handler failed; %d message(s) stay in %s", len(messages),
                              self.queue_url)
                return len(messages)
            finally:
                self.handled += 1
        failed = _failed_ids(result, {m["MessageId"] for m in messages})
        done = [m for m in messages if failed is not None and m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(done[i:i + 10])])
        return len(messages)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                received = self.poll_once()
            except Exception:
                LOG.exception("polling %s failed", self.queue_url)
                received = 0
            if received < self._batch_size:  # the queue is drained, or was a moment ago
                if self._woken.wait(self._idle) and self._window > 0:
                    self._flushing.wait(self._window)  # more of the same batch may come
                self._woken.clear()

    def _record(self, m: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"], "attributes": dict(m.get("Attributes", {})),
            "messageAttributes": {
                name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
                       "stringListValues": [], "binaryListValues": [],
                       "dataType": a.get("DataType", "String")}
                for name, a in m.get("MessageAttributes", {}).items()
            },
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": self._arn, "awsRegion": self._region,
        }


def _failed_ids(result: Any, received: set[str]) -> set[str] | None:
    """Message ids to keep; None (keep all) when the response is malformed, as Lambda does."""
    if not isinstance(result, Mapping) or "batchItemFailures" not in result:
        return set()
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    ids = {f.get("itemIdentifier") if isinstance(f, Mapping) else None for f in failures}
    if not ids <= received:
        return None
    return {i for i in ids if isinstance(i, str)}
