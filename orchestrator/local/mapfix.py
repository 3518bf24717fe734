"""Failures inside Map and Parallel states, reported as Step Functions reports them.

Two moto defects hide or mangle per-item failures:

* a Map iteration or Parallel branch that fails with a ``States.*`` error (``States.TaskFailed``
  from a failed Batch job, ``States.NoChoiceMatched``, ...) makes moto raise ValueError
  ("Custom Error Names MUST NOT begin with the prefix 'States.'"), so the state fails with
  ``States.Runtime``, which no ``Catch`` can match; :func:`error_name` names it correctly;
* a Distributed Map ignores its failure threshold: failed children become ``null`` results
  of a SUCCEEDED state. :func:`enforce_tolerance` fails the state with
  ``States.ExceedToleratedFailureThreshold`` when the failed items exceed the tolerated count
  and percentage (0 and 0 unless the definition says otherwise);
* a Distributed Map's ResultWriter writes an empty manifest and no result files:
  :func:`record_child` and :func:`put_results` write them as AWS does; and it evaluates its
  Parameters' paths against the Map's results instead of its input
  (:func:`writer_parameters_from_input`).
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any, cast

from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramEnded,
    ProgramError,
    ProgramStopped,
    ProgramTimedOut,
)
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def error_name(error_name: str | None) -> ErrorName:
    """Drop-in for moto's ``CustomErrorName(error_name=...)`` that accepts ``States.*``."""
    if error_name is not None and error_name.startswith("States."):
        try:
            return StatesErrorName.from_name(error_name)
        except ValueError:
            pass
    return CustomErrorName(error_name=error_name)


MapRun = Callable[[Any, Any, Any], None]


def enforce_tolerance(original: MapRun) -> MapRun:
    """Wrap ``DistributedIterationComponent._map_run`` with the failure threshold check."""

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        counter = eval_input.map_run_record.item_counter
        failed = counter.failed.get() + counter.timed_out.get()
        items = len(env.stack[-1])
        over_count = failed > (eval_input.tolerated_failure_count or 0)
        over_share = failed * 100.0 / max(items, 1) > (eval_input.tolerated_failure_percentage
                                                        or 0)
        if failed and over_count and over_share:
            env.stack.pop()
            name = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
            raise FailureEventException(FailureEvent(
                env=env,
                error_name=StatesErrorName(
                    typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=cast(EventDetails, {"mapRunFailedEventDetails": {
                    "error": name,
                    "cause": f"{THRESHOLD_CAUSE}: {failed} of {items} items failed"}}),
            ))

    return map_run


# --- ResultWriter ---------------------------------------------------------------------------
# moto's ResultWriter writes a manifest.json whose ResultFiles are all empty and no result
# file ("TODO: generate result files and upload them to s3"). AWS writes, under
# <Prefix>/<map run id>/, one file per status with the child executions that ended so:
# SUCCEEDED_0.json, FAILED_0.json (a JSON array each; Input and Output are JSON strings),
# and a manifest naming them (Step Functions developer guide, "ResultWriter (Map)").
# :func:`record_child` keeps what each child of a Distributed Map ended with;
# :func:`put_results` writes the files and the manifest as AWS does.

_RESULTS_LOCK = threading.Lock()
_RESULTS: dict[str, list[dict[str, Any]]] = {}  # map run ARN -> children, as they end
_CHILD = threading.local()  # the input of the child a worker thread is running

EvalJob = Callable[[Any, Any, Any], None]
EvalInput = Callable[[Any, Any], None]
PutObject = Callable[[Any, Any, Any], None]


def keep_child_input(original: EvalInput) -> EvalInput:
    """Wrap ``DistributedItemProcessorWorker._eval_input``: remember the child's input (the
    item after ItemSelector) for the result files."""

    def eval_input(self: Any, env_frame: Any) -> None:
        original(self, env_frame)
        _CHILD.input = env_frame.states.get_input()

    return eval_input


def record_child(original: EvalJob) -> EvalJob:
    """Wrap ``DistributedItemProcessorWorker._eval_job``: record how each child ended."""

    def eval_job(self: Any, env: Any, job: Any) -> None:
        _CHILD.input = job.job_input
        started = _now()
        original(self, env, job)
        state = env.program_state()
        entry: dict[str, Any] = {"index": job.job_index, "input": _CHILD.input,
                                 "start": started, "stop": _now()}
        if isinstance(state, ProgramEnded):
            entry |= {"status": "SUCCEEDED", "output": job.job_output}
        elif isinstance(state, ProgramStopped):
            entry |= {"status": "ABORTED"}
        elif isinstance(state, ProgramTimedOut):
            entry |= {"status": "TIMED_OUT", "error": "States.Timeout"}
        else:
            error = state.error if isinstance(state, ProgramError) else None
            entry |= {"status": "FAILED", "error": (error or {}).get("error", "States.Runtime"),
                      "cause": (error or {}).get("cause", "")}
        with _RESULTS_LOCK:
            _RESULTS.setdefault(self._map_run_record.map_run_arn, []).append(entry)

    return eval_job


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _result(entry: dict[str, Any], record: Any) -> dict[str, Any]:
    """One child execution as AWS writes it in a result file."""
    name = str(uuid.uuid4())
    machine = record.map_state_machine_arn
    out: dict[str, Any] = {
        "ExecutionArn": machine.replace(":stateMachine:", ":execution:", 1) + ":" + name,
        "Input": json.dumps(entry["input"]), "InputDetails": {"Included": True},
        "Name": name, "StartDate": entry["start"], "StateMachineArn": machine,
        "Status": entry["status"], "StopDate": entry["stop"]}
    if entry["status"] == "SUCCEEDED":
        out |= {"Output": json.dumps(entry["output"]), "OutputDetails": {"Included": True}}
    else:
        out |= {"Error": entry.get("error", ""), "Cause": entry.get("cause", "")}
    return out


def put_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """Drop-in for the ResultWriter's ``ResourceEvalS3._handle_put_object``: the manifest
    and the result files of the Map Run that just ended."""
    parameters = env.stack.pop()
    env.stack.pop()  # the Map's results, written to S3 instead
    s3: Any = boto_client_for(service="s3", region=resource_runtime_part.region,
                              state_credentials=state_credentials)
    record = env.map_run_record_pool_manager.get_all().pop()  # the one that ran (as moto)
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{record.map_run_arn.split(':')[-1]}/"
    bucket = parameters["Bucket"]
    with _RESULTS_LOCK:
        children = sorted(_RESULTS.pop(record.map_run_arn, []), key=lambda e: e["index"])
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        group = [_result(e, record) for e in children
                 if (e["status"] == "SUCCEEDED") == (status == "SUCCEEDED")]
        if group:
            key = f"{folder}{status}_0.json"
            body = json.dumps(group).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    key = f"{folder}manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn,
                "ResultFiles": files}
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    env.stack.append({"MapRunArn": record.map_run_arn,
                      "ResultWriterDetails": {"Bucket": bucket, "Key": key}})


def writer_parameters_from_input(self: Any, env: Any) -> None:
    """Drop-in for ``ResultWriter._eval_body``: its ``Parameters`` paths (``"Prefix.$"``)
    are evaluated against the Map state's input, as on AWS; moto evaluates them against the
    Map's results (a list), so any path fails with States.Runtime."""
    env.stack.append(env.states.get_input())
    self.parargs.eval(env=env)
    parameters = env.stack.pop()
    env.stack.pop()  # the input; the Map's results stay below for the resource
    env.stack.append(parameters)
    self.resource_eval.eval_resource(env=env)
