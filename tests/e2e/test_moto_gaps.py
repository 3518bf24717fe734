"""Each gap of moto the local engine depends on: shown on plain moto, then fixed by the adapter.

A ``test_gap_*`` asserts moto's broken behaviour. When one fails after a moto upgrade, the gap
has closed upstream: delete that test and the adapter piece named in its docstring.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.batch.responses import BatchResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (  # noqa: E501
    StateTaskServiceBatch,
)

from orchestrator.local.adapter import LocalAws
from orchestrator.local.batch_job import TIMED_OUT
from orchestrator.local.events import SqsPoller
from orchestrator_runtime import contracts

RUNNER = "arn:aws:iam::123456789012:role/runner"  # a role ARN for machines that call nothing
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": []})

@dataclass
class Batch:
    """A queue and a job definition to submit to."""

    role: str
    queue: str
    definition: str


class Clients:
    """boto3 clients for one emulator, and small helpers every test needs."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.sfn = make("stepfunctions")
        self.batch = make("batch")
        self.sqs = make("sqs")
        self.events = make("events")

    def setup_batch(self, command: list[str], *, vcpus: str = "1",
                    definition_name: str = "job") -> Batch:
        role = self.make("iam").create_role(
            RoleName="role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        ce = self.batch.create_compute_environment(
            computeEnvironmentName="local-ce", type="UNMANAGED", state="ENABLED",
            serviceRole=role)["computeEnvironmentArn"]
        queue = self.batch.create_job_queue(
            jobQueueName="local-queue", state="ENABLED", priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])["jobQueueArn"]
        return Batch(role, queue, self.define(definition_name, command, vcpus=vcpus))

    def define(self, name: str, command: list[str], *, vcpus: str = "1") -> str:
        arn: str = self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties={
                "image": "public.ecr.aws/docker/library/python:3.12-slim", "command": command,
                "resourceRequirements": [{"type": "VCPU", "value": vcpus},
                                         {"type": "MEMORY", "value": "512"}]},
        )["jobDefinitionArn"]
        return arn

    def execute(self, definition: dict[str, Any], role: str, payload: Any = None,
                name: str = "machine") -> dict[str, Any]:
        """Create a state machine, run it to the end, return DescribeExecution."""
        machine = self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        arn = self.sfn.start_execution(stateMachineArn=machine,
                                       input=json.dumps(payload or {}))["executionArn"]
        return self.wait_execution(arn)

    def wait_execution(self, arn: str, limit: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        while True:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                pytest.fail(f"execution still RUNNING after {limit} s")
            time.sleep(0.05)

    def queue(self, name: str, pattern: dict[str, Any]) -> str:
        """An SQS queue that an EventBridge rule with ``pattern`` delivers to."""
        url: str = self.sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "0"})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=f"to-{name}", EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=f"to-{name}", Targets=[{"Id": "q", "Arn": arn}])
        return url


def wait_for(condition: Any, what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def plain(plain_moto: None) -> Clients:
    return Clients(lambda service: boto3.client(service, region_name="us-east-1"))


@pytest.fixture
def adapted(local: LocalAws) -> Clients:
    return Clients(local.client)


SYNC = "arn:aws:states:::batch:submitJob.sync"
INVOKE = "arn:aws:states:::lambda:invoke"


def run_job(batch: Batch, **parameters: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": SYNC, "End": True, "Parameters": {
        "JobName": "job", "JobQueue": batch.queue, "JobDefinition": batch.definition,
        **parameters}}


def submit(clients: Clients, batch: Batch, **options: Any) -> str:
    job_id: str = clients.batch.submit_job(jobName="job", jobQueue=batch.queue,
                                           jobDefinition=batch.definition, **options)["jobId"]
    return job_id


def describe(clients: Clients, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = clients.batch.describe_jobs(jobs=[job_id])["jobs"][0]
    return job


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# 1. Batch parameter casing ----------------------------------------------------------------

def test_gap_batch_sync_task_fails_on_pascal_case(plain: Clients) -> None:
    """Adapter piece: casing (install -> _patch_batch_casing)."""
    batch = plain.setup_batch(["true"])
    result = plain.execute({"StartAt": "Run", "States": {"Run": run_job(batch)}}, batch.role)
    assert result["status"] == "FAILED"
    assert result["error"] == "States.Runtime"
    assert "'JobName'" in result["cause"]


def test_adapter_passes_parameters_and_returns_the_job(adapted: Clients, tmp_path: Path) -> None:
    out = tmp_path / "greeting.txt"
    batch = adapted.setup_batch(["sh", "-c", 'printf %s "$GREETING" > "$OUT"'])
    task = run_job(batch, ContainerOverrides={"Environment": [
        {"Name": "GREETING", "Value": "hello"}, {"Name": "OUT", "Value": str(out)}]},
        Tags={"orchestrator:stage": "align"})
    result = adapted.execute({"StartAt": "Run", "States": {"Run": task}}, batch.role)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert out.read_text() == "hello"
    job = json.loads(result["output"])
    assert job["Status"] == "SUCCEEDED"
    assert job["Tags"] == {"orchestrator:stage": "align"}  # map keys are data, not renamed
    assert job["Attempts"][0]["Container"]["ExitCode"] == 0


# 2. Batch jobs run --------------------------------------------------------------------------

def test_gap_batch_job_succeeds_without_running(plain: Clients, tmp_path: Path) -> None:
    """Adapter piece: LocalBatch (install -> _patch_batch_api)."""
    marker = tmp_path / "ran"
    batch = plain.setup_batch(["sh", "-c", f"touch {marker}; exit 1"])
    job = describe(plain, submit(plain, batch))
    assert job["status"] == "SUCCEEDED"
    assert not marker.exists()


def test_adapter_runs_the_command_and_keeps_its_output(
    adapted: Clients, local: LocalAws
) -> None:
    batch = adapted.setup_batch(["sh", "-c", "echo to-out; echo to-err >&2; exit 3"])
    job_id = submit(adapted, batch)
    assert local.batch.wait(job_id, 30) == "FAILED"
    job = describe(adapted, job_id)
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 3
    assert job["statusReason"] == attempt["statusReason"] == "Essential container in task exited"
    assert job["startedAt"] <= job["stoppedAt"]
    log = local.log_path(attempt["container"]["logStreamName"]).read_text()
    assert "to-out" in log and "to-err" in log
    assert local.batch.stderr_tail(job_id) == ["to-err"]


def test_adapter_job_runner_reaches_the_emulator(adapted: Clients, local: LocalAws) -> None:
    s3 = local.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="raw/S1.txt", Body=b"b\na\n")
    inputs, outputs = {"reads": ["s3://data/raw/S1.txt"]}, {"sorted": "s3://data/out/S1.txt"}
    task = {"version": contracts.CONTRACT_VERSION, "workflow": "wf", "stage": "sort",
            "sample": "S1", "execution": "run-1", "image": "img", "command": ["sort",
            "{inputs.reads}"], "environment": {}, "shell": False, "stdout": "sorted",
            "values": {}, "inputs": inputs, "outputs": outputs, "allow_empty": False,
            "marker": "s3://data/_orchestrator/markers/wf/sort/S1/",
            "fingerprint_basis": contracts.fingerprint_basis(
                "img", ["sort", "{inputs.reads}"], {}, {}, inputs, outputs)}
    s3.put_object(Bucket="data", Key="tasks/S1.json", Body=json.dumps(task).encode())
    batch = adapted.setup_batch(["orchestrator-runner"])
    run = run_job(batch, ContainerOverrides={"Environment": [
        {"Name": contracts.TASK_ENV, "Value": "s3://data/tasks/S1.json"}]})
    result = adapted.execute({"StartAt": "Run", "States": {"Run": run}}, batch.role)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert s3.get_object(Bucket="data", Key="out/S1.txt")["Body"].read() == b"a\nb\n"
    (key,) = [o["Key"] for o in s3.list_objects_v2(
        Bucket="data", Prefix="_orchestrator/markers/wf/sort/S1/")["Contents"]]
    marker = s3.get_object(Bucket="data", Key=key)
    assert json.loads(marker["Body"].read())["outputs"]["sorted"]["size"] == 4


@pytest.mark.parametrize(("strategy", "code", "attempts", "status"), [
    ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "3", "action": "RETRY"},
                                        {"onExitCode": "*", "action": "exit"}]}, 3, 3, "FAILED"),
    ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "3", "action": "RETRY"},
                                        {"onExitCode": "*", "action": "EXIT"}]}, 4, 1, "FAILED"),
    ({"attempts": 2}, 4, 2, "FAILED"),  # no rule matches: Batch retries
    ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "1*", "action": "EXIT"}]}, 13, 1, "FAILED"),
    ({"attempts": 3}, 0, 1, "SUCCEEDED"),
])
def test_adapter_honours_the_retry_strategy(
    adapted: Clients, local: LocalAws, strategy: dict[str, Any], code: int, attempts: int,
    status: str,
) -> None:
    batch = adapted.setup_batch(["sh", "-c", "echo attempt $AWS_BATCH_JOB_ATTEMPT >&2; "
                                             "exit $CODE"])
    job_id = submit(adapted, batch, retryStrategy=strategy,
                    containerOverrides={"environment": [{"name": "CODE", "value": str(code)}]})
    assert local.batch.wait(job_id, 30) == status
    job = describe(adapted, job_id)
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [code] * attempts
    assert local.batch.stderr_tail(job_id) == [f"attempt {attempts}"]


def test_adapter_timeout_kills_the_process_group_without_retry(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    batch = adapted.setup_batch(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"])
    job_id = submit(adapted, batch, timeout={"attemptDurationSeconds": 1},
                    retryStrategy={"attempts": 3})
    assert local.batch.wait(job_id, 30) == "FAILED"
    job = describe(adapted, job_id)
    assert job["statusReason"] == TIMED_OUT
    assert len(job["attempts"]) == 1
    assert not alive(int(pid_file.read_text()))


def test_adapter_terminate_job_stops_a_running_job(adapted: Clients, local: LocalAws) -> None:
    batch = adapted.setup_batch(["sh", "-c", "while true; do sleep 0.05; done"])
    job_id = submit(adapted, batch, retryStrategy={"attempts": 3})
    wait_for(lambda: describe(adapted, job_id)["status"] == "RUNNING", "job to run")
    adapted.batch.terminate_job(jobId=job_id, reason="stopped by the user")
    assert local.batch.wait(job_id, 30) == "FAILED"
    job = describe(adapted, job_id)
    assert job["statusReason"] == "stopped by the user"
    assert len(job["attempts"]) == 1


def test_adapter_vcpus_bound_how_many_jobs_run(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    wait_go = ["sh", "-c", f"while [ ! -f {go} ]; do sleep 0.02; done"]
    batch = adapted.setup_batch(wait_go, vcpus="1")
    wide = adapted.define("wide", wait_go, vcpus="2")
    huge = adapted.define("huge", ["true"], vcpus="64")  # more than the machine: runs alone
    first, second = submit(adapted, batch), submit(adapted, batch)
    wait_for(lambda: {describe(adapted, j)["status"] for j in (first, second)} == {"RUNNING"},
             "two 1-vCPU jobs to run side by side on 2 cores")
    blocked = adapted.batch.submit_job(jobName="w", jobQueue=batch.queue,
                                       jobDefinition=wide)["jobId"]
    wait_for(lambda: describe(adapted, blocked)["status"] == "RUNNABLE", "wide job queued")
    assert local.batch.wait(blocked, 0.3) == "RUNNABLE"  # no room while the others run
    go.touch()
    for job_id in (first, second, blocked):
        assert local.batch.wait(job_id, 30) == "SUCCEEDED"
    alone = adapted.batch.submit_job(jobName="h", jobQueue=batch.queue,
                                     jobDefinition=huge)["jobId"]
    assert local.batch.wait(alone, 30) == "SUCCEEDED"


# 3. Lambda handlers ------------------------------------------------------------------------

def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def test_gap_lambda_invoke_echoes_the_request(plain: Clients) -> None:
    """Adapter piece: LambdaRegistry (install -> _patch_lambda_invoke)."""
    role = plain.make("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    arn = plain.make("lambda").create_function(
        FunctionName="check", Runtime="python3.12", Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip("def handler(event, context):\n    return {'ran': True}\n")},
    )["FunctionArn"]
    task = {"Type": "Task", "Resource": INVOKE, "End": True,
            "Parameters": {"FunctionName": arn, "Payload": {"n": 1}}}
    result = plain.execute({"StartAt": "Check", "States": {"Check": task}},
                           role["Role"]["Arn"])
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["Payload"] == {"n": 1}


class StageOutputsMissing(Exception):
    pass


def test_adapter_runs_handlers_and_their_errors_are_catchable(
    adapted: Clients, local: LocalAws
) -> None:
    def check(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"seen": event["n"], "function": context.function_name}

    def verify(event: dict[str, Any], context: Any) -> None:
        raise StageOutputsMissing("counts.tsv is missing")

    check_arn = local.register_lambda("check", check)
    verify_arn = local.register_lambda("arn:aws:lambda:us-east-1:123456789012:function:verify",
                                       verify)
    definition = {"StartAt": "Check", "States": {
        "Check": {"Type": "Task", "Resource": INVOKE, "Next": "Verify",
                  "Parameters": {"FunctionName": check_arn, "Payload": {"n": 1}},
                  "ResultSelector": {"payload.$": "$.Payload"}, "ResultPath": "$.check"},
        "Verify": {"Type": "Task", "Resource": INVOKE, "End": True,
                   "Parameters": {"FunctionName": verify_arn, "Payload.$": "$"},
                   "Catch": [{"ErrorEquals": ["StageOutputsMissing"], "Next": "Caught",
                              "ResultPath": "$.error"}]},
        "Caught": {"Type": "Pass", "End": True},
    }}
    result = adapted.execute(definition, "arn:aws:iam::123456789012:role/sfn")
    assert result["status"] == "SUCCEEDED", result.get("cause")
    output = json.loads(result["output"])
    assert output["check"]["payload"] == {"seen": 1, "function": "check"}
    assert output["error"]["Error"] == "StageOutputsMissing"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "StageOutputsMissing"
    assert cause["errorMessage"] == "counts.tsv is missing"
    assert any("raise StageOutputsMissing" in line for line in cause["stackTrace"])


# 4. EventBridge ----------------------------------------------------------------------------

BATCH_EVENTS = {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]}


def test_gap_no_batch_job_state_change_events(plain: Clients) -> None:
    """Adapter piece: events.BatchEvents (LocalAws adds it as a LocalBatch listener)."""
    batch = plain.setup_batch(["true"])
    url = plain.queue("jobs", BATCH_EVENTS)
    job = describe(plain, submit(plain, batch))
    assert job["status"] == "SUCCEEDED"
    assert plain.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


def test_adapter_batch_events_reach_a_handler_through_rule_and_queue(
    adapted: Clients, local: LocalAws
) -> None:
    batch = adapted.setup_batch(["true"])
    url = adapted.queue("jobs", {**BATCH_EVENTS, "detail": {"jobQueue": [batch.queue]}})
    records: list[dict[str, Any]] = []
    local.deliver_rule_to(url, lambda event, context: records.extend(event["Records"]))
    job_id = submit(adapted, batch, tags={"orchestrator:sample": "S1"})
    wait_for(lambda: len(records) == 4, "four state-change events")
    events = [json.loads(r["body"]) for r in records]
    assert [e["detail"]["status"] for e in events] == ["RUNNABLE", "STARTING", "RUNNING",
                                                       "SUCCEEDED"]
    last = events[-1]
    assert (last["source"], last["detail-type"]) == ("aws.batch", "Batch Job State Change")
    detail = last["detail"]
    assert (detail["jobId"], detail["jobQueue"]) == (job_id, batch.queue)
    assert detail["tags"] == {"orchestrator:sample": "S1"}
    assert detail["attempts"][0]["container"]["exitCode"] == 0
    assert detail["createdAt"] <= detail["startedAt"] <= detail["stoppedAt"]
    record = records[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":jobs")
    assert record["messageId"] and record["receiptHandle"]
    wait_for(lambda: "Messages" not in adapted.sqs.receive_message(QueueUrl=url),
             "handled messages to be deleted")


def test_sqs_poller_redelivers_only_what_the_handler_reports(
    adapted: Clients, local: LocalAws
) -> None:
    url = adapted.queue("work", {"source": ["nothing"]})
    for body in ("a", "b", "c"):
        adapted.sqs.send_message(QueueUrl=url, MessageBody=body)
    seen: list[str] = []
    raised = False

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal raised
        if not raised:  # a crash returns the whole batch to the queue
            raised = True
            raise RuntimeError("first delivery crashes")
        seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"]
                                      if r["body"] == "b" and seen.count("b") == 1]}

    poller = SqsPoller(adapted.sqs, url, handler)
    while poller.poll_once(wait_seconds=0):
        pass
    assert sorted(seen) == ["a", "b", "b", "c"]


def test_sqs_poller_gathers_what_comes_within_its_batching_window(
    adapted: Clients, local: LocalAws
) -> None:
    """As the event source mapping's MaximumBatchingWindowInSeconds: messages sent one by one
    within the window after a wake reach the handler together; after flush(), each at once."""
    url = adapted.queue("gathered", {"source": ["nothing"]})
    batches: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        batches.append([r["body"] for r in event["Records"]])

    adapted.sqs.send_message(QueueUrl=url, MessageBody="before")
    poller = SqsPoller(adapted.sqs, url, handler, idle_seconds=30,
                       batching_window=1.0).start()
    try:
        wait_for(lambda: batches, "the first poll")  # then it idles until woken
        for body in ("a", "b", "c"):
            adapted.sqs.send_message(QueueUrl=url, MessageBody=body)
            poller.wake()
            time.sleep(0.05)
        wait_for(lambda: len(batches) == 2, "the gathered batch")
        assert batches == [["before"], ["a", "b", "c"]]
        poller.flush()
        adapted.sqs.send_message(QueueUrl=url, MessageBody="d")
        poller.wake()
        wait_for(lambda: len(batches) == 3, "the message sent after flush", limit=0.9)
        assert batches[2] == ["d"]
    finally:
        poller.stop()


def test_the_adapter_signals_the_end_of_each_execution(adapted: Clients,
                                                       local: LocalAws) -> None:
    """LocalAws.end_of: the engine waits on its execution's end instead of polling for it,
    and the end of another execution (a child of a map run) does not wake it."""
    machine = adapted.sfn.create_state_machine(
        name="waits", definition=json.dumps({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}),
        roleArn=RUNNER)["stateMachineArn"]
    slow, quick = (adapted.sfn.start_execution(stateMachineArn=machine, name=n,
                                               input=json.dumps({"s": s}))["executionArn"]
                   for n, s in (("slow", 2), ("quick", 0)))
    assert local.end_of(quick).wait(10)
    assert adapted.sfn.describe_execution(executionArn=quick)["status"] == "SUCCEEDED"
    assert not local.end_of(slow).is_set()
    assert local.end_of(slow).wait(10)
    assert adapted.sfn.describe_execution(executionArn=slow)["status"] == "SUCCEEDED"


def test_adapter_emits_execution_status_change(adapted: Clients, local: LocalAws) -> None:
    url = adapted.queue("runs", {"source": ["aws.states"],
                                 "detail-type": ["Step Functions Execution Status Change"]})
    result = adapted.execute({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                             "arn:aws:iam::123456789012:role/sfn", payload={"x": 1})
    local.emit_execution_status(result["executionArn"])
    [message] = adapted.sqs.receive_message(QueueUrl=url)["Messages"]
    detail = json.loads(message["Body"])["detail"]
    assert detail["status"] == "SUCCEEDED"
    assert detail["executionArn"] == result["executionArn"]
    assert json.loads(detail["input"]) == {"x": 1}
    assert detail["startDate"] <= detail["stopDate"]


# 5. Failures inside Map and Parallel -------------------------------------------------------

def _missing_path_iteration() -> dict[str, Any]:
    """Items without ``value`` fail with States.Runtime (a JSONPath that finds nothing)."""
    return {"StartAt": "Read", "States": {
        "Read": {"Type": "Pass", "Parameters": {"v.$": "$.value"}, "End": True}}}


def _failing_container(kind: str) -> dict[str, Any]:
    if kind == "Map":
        return {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, **_missing_path_iteration()}}
    branches = [{"StartAt": "Pick", "States": {
        "Pick": {"Type": "Pass", "InputPath": f"$.items[{i}]", "Next": "Read"},
        **_missing_path_iteration()["States"]}} for i in (0, 1)]
    return {"Type": "Parallel", "End": True, "Branches": branches}


@pytest.mark.parametrize("kind", ["Map", "Parallel"])
def test_gap_states_error_inside_iteration_is_mangled(plain: Clients, kind: str) -> None:
    """Adapter piece: mapfix.error_name (install -> _patch_map_failures)."""
    result = plain.execute({"StartAt": "S", "States": {"S": _failing_container(kind)}},
                           "arn:aws:iam::123456789012:role/sfn",
                           payload={"items": [{"value": 1}, {}]})
    assert result["status"] == "FAILED"
    assert "Custom Error Names MUST NOT begin with the prefix 'States.'" in result["cause"]


@pytest.mark.parametrize("kind", ["Map", "Parallel"])
def test_adapter_keeps_the_error_of_an_iteration(adapted: Clients, kind: str) -> None:
    result = adapted.execute({"StartAt": "S", "States": {"S": _failing_container(kind)}},
                             "arn:aws:iam::123456789012:role/sfn",
                             payload={"items": [{"value": 1}, {}]})
    assert result["status"] == "FAILED"
    assert result["error"] == "States.Runtime"
    assert "$.value" in result["cause"] and "Custom Error Names" not in result["cause"]


def _distributed(iteration: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **iteration}}


def test_gap_distributed_map_swallows_a_failed_item(plain: Clients) -> None:
    """Adapter piece: mapfix.enforce_tolerance (install -> _patch_map_failures)."""
    result = plain.execute({"StartAt": "M", "States": {
        "M": _distributed(_missing_path_iteration())}}, "arn:aws:iam::123456789012:role/sfn",
        payload={"items": [{"value": 1}, {}, {"value": 3}]})
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])[1] is None


@pytest.mark.parametrize("mode", ["caught", "inline", "distributed", "parallel"])
def test_adapter_map_of_batch_jobs_reports_the_failed_item(adapted: Clients, mode: str) -> None:
    batch = adapted.setup_batch(["sh", "-c", "exit $CODE"])
    run = run_job(batch, **{"JobName.$": "$.name", "ContainerOverrides": {
        "Environment": [{"Name": "CODE", "Value.$": "$.code"}]}})
    run["ResultSelector"] = {"status.$": "$.Status"}
    states: dict[str, Any] = {"Run": run}
    if mode == "caught":
        run["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]
        states["Failed"] = {"Type": "Pass", "Result": {"status": "FAILED"}, "End": True}
    iteration = {"StartAt": "Run", "States": states}
    items = [{"name": f"item-{i}", "code": "1" if i == 2 else "0"} for i in range(6)]
    state = _distributed(iteration) if mode == "distributed" else {
        "Type": "Map", "ItemsPath": "$.items", "End": True, "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **iteration}}
    if mode == "parallel":
        state = {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Pick", "States": {
                "Pick": {"Type": "Pass", "InputPath": f"$.items[{i}]", "Next": "Run"},
                "Run": run}} for i in range(3)]}
    result = adapted.execute({"StartAt": "M", "States": {"M": state}}, batch.role,
                             payload={"items": items})
    if mode == "caught":
        assert result["status"] == "SUCCEEDED"
        assert [r["status"] for r in json.loads(result["output"])] == [
            "SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
    elif mode in ("inline", "parallel"):
        assert result["status"] == "FAILED"
        assert result["error"] == "States.TaskFailed"
        assert json.loads(result["cause"])["Attempts"][0]["Container"]["ExitCode"] == 1
    else:
        assert result["status"] == "FAILED"
        assert result["error"] == "States.ExceedToleratedFailureThreshold"


def _writing_map(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Distributed Map whose ResultWriter's prefix comes from its input; items without
    ``value`` fail."""
    state = _distributed(_missing_path_iteration())
    state["ToleratedFailureCount"] = 10
    state["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject",
                             "Parameters": {"Bucket": "results", "Prefix.$": "$.folder"}}
    return {"StartAt": "M", "States": {"M": state}}


def test_gap_result_writer_reads_its_parameters_from_the_results(plain: Clients) -> None:
    """Adapter piece: mapfix.writer_parameters_from_input (install -> _patch_map_failures)."""
    plain.make("s3").create_bucket(Bucket="results")
    result = plain.execute(_writing_map([]), "arn:aws:iam::123456789012:role/sfn",
                           payload={"items": [{"value": 1}], "folder": "runs/r1"})
    assert result["status"] == "FAILED"
    assert "$.folder" in result["cause"] and "could not be found" in result["cause"]


def test_gap_result_writer_writes_an_empty_manifest_and_no_results(plain: Clients) -> None:
    """Adapter piece: mapfix.record_child and mapfix.put_results."""
    s3 = plain.make("s3")
    s3.create_bucket(Bucket="results")
    doc = _writing_map([])
    doc["States"]["M"]["ResultWriter"]["Parameters"] = {"Bucket": "results", "Prefix": "runs"}
    result = plain.execute(doc, "arn:aws:iam::123456789012:role/sfn",
                           payload={"items": [{"value": 1}, {}]})
    assert result["status"] == "SUCCEEDED"
    key = json.loads(result["output"])["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket="results", Key=key)["Body"].read())
    assert manifest["ResultFiles"] == {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="results")["Contents"]] == [key]


def test_adapter_result_writer_writes_each_child_as_aws_does(adapted: Clients) -> None:
    s3 = adapted.make("s3")
    s3.create_bucket(Bucket="results")
    result = adapted.execute(_writing_map([]), "arn:aws:iam::123456789012:role/sfn",
                             payload={"items": [{"value": 1}, {}, {"value": 3}],
                                      "folder": "runs/r1"})
    assert result["status"] == "SUCCEEDED"
    details = json.loads(result["output"])
    assert set(details) == {"MapRunArn", "ResultWriterDetails"}
    key = details["ResultWriterDetails"]["Key"]
    assert details["ResultWriterDetails"]["Bucket"] == "results"
    assert key == f"runs/r1/{details['MapRunArn'].split(':')[-1]}/manifest.json"
    manifest = json.loads(s3.get_object(Bucket="results", Key=key)["Body"].read())
    assert manifest["DestinationBucket"] == "results" and not manifest["ResultFiles"]["PENDING"]

    def read(status: str) -> list[dict[str, Any]]:
        (f,) = manifest["ResultFiles"][status]
        body = s3.get_object(Bucket="results", Key=f["Key"])["Body"].read()
        assert f["Key"].endswith(f"/{status}_0.json") and f["Size"] == len(body)
        entries: list[dict[str, Any]] = json.loads(body)
        return entries

    succeeded, failed = read("SUCCEEDED"), read("FAILED")
    assert [json.loads(e["Input"]) for e in succeeded] == [{"value": 1}, {"value": 3}]
    assert [json.loads(e["Output"]) for e in succeeded] == [{"v": 1}, {"v": 3}]
    assert {e["Status"] for e in succeeded} == {"SUCCEEDED"}
    (bad,) = failed
    assert json.loads(bad["Input"]) == {} and bad["Status"] == "FAILED"
    assert bad["Error"] == "States.Runtime" and "$.value" in bad["Cause"]
    assert ":execution:" in bad["ExecutionArn"] and bad["StartDate"] and bad["StopDate"]


# 6. Gaps the compiler and template avoid -------------------------------------------------

def test_gap_tolerated_failure_percentage_zero_is_rejected(plain: Clients) -> None:
    """No adapter piece: the compiler never writes ToleratedFailurePercentage 0."""
    state = _distributed({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    state["ToleratedFailurePercentage"] = 0
    with pytest.raises(ClientError, match="ToleratedFailurePercentage"):
        plain.sfn.create_state_machine(name="m", definition=json.dumps(
            {"StartAt": "M", "States": {"M": state}}),
            roleArn="arn:aws:iam::123456789012:role/sfn")


def test_gap_cloudformation_job_definition_needs_retry_strategy(plain: Clients) -> None:
    """No adapter piece: the template always writes RetryStrategy."""
    definition: dict[str, Any] = {"Type": "AWS::Batch::JobDefinition", "Properties": {
        "Type": "container", "ContainerProperties": {
            "Image": "busybox", "Command": ["true"],
            "ResourceRequirements": [{"Type": "VCPU", "Value": "1"},
                                     {"Type": "MEMORY", "Value": "512"}]}}}
    cloudformation = plain.make("cloudformation")
    with pytest.raises(KeyError, match="RetryStrategy"):
        cloudformation.create_stack(StackName="without", TemplateBody=json.dumps(
            {"Resources": {"Job": definition}}))
    definition["Properties"]["RetryStrategy"] = {"Attempts": 1}
    cloudformation.create_stack(StackName="with", TemplateBody=json.dumps(
        {"Resources": {"Job": definition}}))
    stack = cloudformation.describe_stacks(StackName="with")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


# 8. EventBridge compiles its JSONPath on every delivery --------------------------------------

@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every JSONPath parser moto builds (a parser generator run each)."""
    import jsonpath_ng.ext.parser as jp

    built: list[str] = []
    original = jp.ExtendedJsonPathParser.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append("parser")
        original(self, *args, **kwargs)

    monkeypatch.setattr(jp.ExtendedJsonPathParser, "__init__", init)
    return built


def _deliver(clients: Clients, count: int, queue: str = "events") -> None:
    url = clients.queue(queue, BATCH_EVENTS)
    for _ in range(count):
        clients.events.put_events(Entries=[{
            "Source": "aws.batch", "DetailType": "Batch Job State Change",
            "Detail": json.dumps({"jobId": "j", "status": "RUNNING"})}])
    got = clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert len(got["Messages"]) == count


def test_gap_eventbridge_compiles_its_jsonpath_for_every_event(
    plain: Clients, compiles: list[str]
) -> None:
    """Adapter piece: cached_jsonpath (jsonpath_ng.ext.parse compiled once per text)."""
    _deliver(plain, 3)
    assert len(compiles) >= 3 * 8  # eight expressions per delivery, each compiled anew


def test_adapter_compiles_each_jsonpath_once(adapted: Clients, compiles: list[str]) -> None:
    _deliver(adapted, 1, "first")
    first = len(compiles)
    _deliver(adapted, 5, "later")
    assert len(compiles) == first


CHOOSE = {"StartAt": "Pick", "States": {
    "Pick": {"Type": "Choice", "Choices": [
        {"Variable": "$.check.stage", "StringEquals": f"s{i}", "Next": "Done"}
        for i in range(10)], "Default": "Done"},
    "Done": {"Type": "Pass", "Parameters": {"stage.$": "$.check.stage"}, "ResultPath": "$.out",
             "End": True}}}


def _choose(clients: Clients, runs: int, tag: str = "") -> list[dict[str, Any]]:
    """``runs`` executions that each read all ten rules (the last one matches)."""
    machine = clients.sfn.create_state_machine(
        name="choose", definition=json.dumps(CHOOSE), roleArn=RUNNER)["stateMachineArn"]
    return [clients.wait_execution(clients.sfn.start_execution(
        stateMachineArn=machine, name=f"pick{tag}{i}",
        input=json.dumps({"check": {"stage": "s9"}, "i": i}))["executionArn"])
        for i in range(runs)]


def test_gap_the_interpreter_compiles_a_jsonpath_for_every_read(
    plain: Clients, compiles: list[str]
) -> None:
    """Adapter piece: cached_jsonpath, for the Step Functions interpreter."""
    _choose(plain, 2)
    assert len(compiles) >= 2 * 10  # each rule's Variable, each run, compiled anew


def test_adapter_interpreter_compiles_each_jsonpath_once(adapted: Clients,
                                                        compiles: list[str]) -> None:
    _choose(adapted, 1, "first")
    first = len(compiles)
    runs = _choose(adapted, 4, "later")
    assert len(compiles) == first
    assert [json.loads(r["output"]) for r in runs] == [
        {"check": {"stage": "s9"}, "i": i, "out": {"stage": "s9"}} for i in range(4)]


# 9. SQS scans every message with datetimes ---------------------------------------------------

@pytest.fixture
def datetime_clock(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every reading of moto's datetime clock (what SQS checks each message against)."""
    import moto.core.utils as utils

    reads: list[str] = []
    original = utils.utcnow

    def utcnow() -> Any:
        reads.append("now")
        return original()

    monkeypatch.setattr(utils, "utcnow", utcnow)
    return reads


def _backlog(clients: Clients, size: int) -> str:
    url: str = clients.sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for start in range(0, size, 10):
        clients.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": "m"} for i in range(start, start + 10)])
    return url


def test_gap_sqs_reads_a_datetime_clock_for_every_queued_message(
    plain: Clients, datetime_clock: list[str]
) -> None:
    """Adapter pieces: fast_clock and retention_check."""
    url = _backlog(plain, 200)
    datetime_clock.clear()
    got = plain.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    assert len(datetime_clock) >= 10 * 200  # each message received scans the whole queue


def test_adapter_sqs_costs_do_not_grow_with_the_backlog(
    adapted: Clients, datetime_clock: list[str]
) -> None:
    url = _backlog(adapted, 200)
    datetime_clock.clear()
    got = adapted.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    adapted.sqs.send_message(QueueUrl=url, MessageBody="one more")
    assert len(got) == 10
    assert len(datetime_clock) < 50


def test_local_aws_leaves_moto_and_the_environment_as_they_were(
    aws_env: None, tmp_path: Path
) -> None:
    before = os.environ.get("AWS_ENDPOINT_URL")
    submit_job = BatchResponse.submitjob
    with LocalAws(log_dir=tmp_path) as aws:
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
        assert BatchResponse.submitjob is not submit_job
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="still-here")
        with pytest.raises(RuntimeError, match="already running"):
            LocalAws(log_dir=tmp_path).start()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["still-here"]
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert os.environ.get("AWS_ENDPOINT_URL") == before
    assert BatchResponse.submitjob is submit_job
    assert "_normalise_parameters" not in vars(StateTaskServiceBatch)


# 11. The interpreter parses a definition again for every execution ---------------------------

@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ANTLR parse of a whole definition (the costly part of moto's ASL parser)."""
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

    done: list[str] = []
    original: Callable[[Any], Any] = ASLParser.state_machine

    def state_machine(self: Any) -> Any:
        done.append("parse")
        return original(self)

    monkeypatch.setattr(ASLParser, "state_machine", state_machine)
    return done


PASSES = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"n": 1},
                                           "ResultPath": "$.a", "Next": "B"},
                                     "B": {"Type": "Pass", "End": True}}}


def _three_runs(clients: Clients) -> list[dict[str, Any]]:
    machine = clients.sfn.create_state_machine(
        name="parsed", definition=json.dumps(PASSES), roleArn=RUNNER)["stateMachineArn"]
    return [clients.wait_execution(clients.sfn.start_execution(
        stateMachineArn=machine, name=f"run{i}", input=json.dumps({"i": i}))["executionArn"])
        for i in range(3)]


def test_gap_every_execution_parses_its_definition_again(plain: Clients,
                                                         parses: list[str]) -> None:
    """Adapter piece: aslcache.cached_parse."""
    _three_runs(plain)
    assert len(parses) == 4  # the create, then each of the three executions


def test_adapter_parses_a_definition_once_and_each_run_still_runs_it(
        adapted: Clients, parses: list[str]) -> None:
    runs = _three_runs(adapted)
    assert len(parses) == 1
    assert [json.loads(r["output"]) for r in runs] == [{"i": i, "a": {"n": 1}} for i in range(3)]
    # a bad definition is still refused, and is not kept
    with pytest.raises(ClientError, match="in definition"):
        adapted.sfn.create_state_machine(name="bad", definition='{"StartAt": "X"}',
                                         roleArn=RUNNER)



def test_a_definition_learned_beforehand_is_not_parsed_by_the_run(
        aws_env: None, parses: list[str], tmp_path: Path) -> None:
    """What the warm engine does between runs (cli/engined.py): parse the definitions its
    runs used, so the runs it forks next only visit the trees."""
    from orchestrator.local import aslcache

    definition = json.dumps(PASSES | {"Comment": "learned"})
    assert aslcache.learn([definition, definition, '{"StartAt": "X"}']) == 1  # bad: skipped
    assert aslcache.learn([definition]) == 0
    assert len(parses) == 2 and definition in aslcache.kept()  # the bad one was tried
    parses.clear()
    with LocalAws(log_dir=tmp_path / "logs") as aws:
        clients = Clients(aws.client)
        machine = clients.sfn.create_state_machine(
            name="learned", definition=definition, roleArn=RUNNER)["stateMachineArn"]
        run = clients.wait_execution(clients.sfn.start_execution(
            stateMachineArn=machine, input=json.dumps({"i": 7}))["executionArn"])
    assert parses == []
    assert json.loads(run["output"]) == {"i": 7, "a": {"n": 1}}

# 12. GetExecutionHistory walks the shape of every event ---------------------------------------

@pytest.fixture
def shape_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every response moto writes with its generic serialiser, by operation (an empty one,
    which gives the fast path its status and headers, walks nothing)."""
    from moto.core.serialize import ResponseSerializer

    walked: list[str] = []
    original = ResponseSerializer.serialize

    def serialize(self: Any, result: Any) -> Any:
        if result:
            walked.append(self.operation_model.name)
        return original(self, result)

    monkeypatch.setattr(ResponseSerializer, "serialize", serialize)
    return walked


FAILS = {"StartAt": "Note", "States": {
    "Note": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.a", "Next": "Stop"},
    "Stop": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}


def _history(clients: Clients) -> str:
    machine = clients.sfn.create_state_machine(
        name="history", definition=json.dumps(FAILS), roleArn=RUNNER)["stateMachineArn"]
    arn = clients.sfn.start_execution(stateMachineArn=machine, name="h",
                                      input=json.dumps({"i": 1}))["executionArn"]
    clients.wait_execution(arn)
    return str(arn)


def test_gap_the_history_is_written_by_walking_its_shape(plain: Clients,
                                                         shape_walks: list[str]) -> None:
    """Adapter piece: sfnfix.fast_history."""
    plain.sfn.get_execution_history(executionArn=_history(plain))
    assert shape_walks[-1] == "GetExecutionHistory"


def test_adapter_writes_the_same_history_as_plain_json(
        adapted: Clients, shape_walks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.responses import StepFunctionResponse

    arn = _history(adapted)
    got = adapted.sfn.get_execution_history(executionArn=arn)["events"]
    assert "GetExecutionHistory" not in shape_walks
    shape_walks.clear()
    fast: Any = StepFunctionResponse.get_execution_history
    monkeypatch.setattr(StepFunctionResponse, "get_execution_history", fast.__wrapped__)
    expected = adapted.sfn.get_execution_history(executionArn=arn)["events"]
    assert shape_walks == ["GetExecutionHistory"]  # this time through the serialiser
    assert got == expected  # timestamps included
    assert [e["type"] for e in got] == ["ExecutionStarted", "PassStateEntered",
                                         "PassStateExited", "FailStateEntered",
                                         "ExecutionFailed"]
    assert got[-1]["executionFailedEventDetails"] == {"error": "Broken", "cause": "on purpose"}


SEND_TWICE = {"StartAt": "One", "States": {
    "One": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "Two",
            "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": "one"},
            "ResultPath": None},
    "Two": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
            "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": "two"},
            "ResultPath": None}}}


@pytest.fixture
def clients_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services of the boto3 clients made from now on (the interpreter's among them)."""
    made: list[str] = []
    original = boto3.client

    def client(*args: Any, **kwargs: Any) -> Any:
        made.append(str(kwargs.get("service_name") or args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(boto3, "client", client)
    return made


def _send_twice(clients: Clients, runs: int, tag: str) -> None:
    url = clients.sqs.create_queue(QueueName=f"sent-{tag}")["QueueUrl"]
    machine = clients.sfn.create_state_machine(
        name=f"send-{tag}", definition=json.dumps(SEND_TWICE),
        roleArn=RUNNER)["stateMachineArn"]
    for i in range(runs):
        described = clients.wait_execution(clients.sfn.start_execution(
            stateMachineArn=machine, name=f"s{i}", input=json.dumps({"queue": url}))[
                "executionArn"])
        assert described["status"] == "SUCCEEDED"
    got = clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 2 * runs


def test_gap_the_interpreter_makes_a_client_for_every_task(plain: Clients,
                                                         clients_made: list[str]) -> None:
    """Adapter piece: sfnfix.cached_clients."""
    _send_twice(plain, 2, "plain")
    assert clients_made.count("sqs") >= 4  # one per task, each run


def test_adapter_makes_each_client_of_the_interpreter_once(adapted: Clients,
                                                           clients_made: list[str]) -> None:
    _send_twice(adapted, 1, "first")
    first = clients_made.count("sqs")
    _send_twice(adapted, 3, "later")  # six more tasks, all sent through the kept client
    assert clients_made.count("sqs") == first
