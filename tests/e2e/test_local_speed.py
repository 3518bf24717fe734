"""Exact reports and no fixed floors on the local engine: the `.sync` wait, DynamoDB under
concurrency, the summary after a concurrent run, and what reaches the user's terminal.
Timings are in benchmarks/local_engine.py; these tests assert the mechanisms."""

from __future__ import annotations

import gc
import inspect
import itertools
import json
import re
import textwrap
import threading
import time
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)

from orchestrator.cli import main
from orchestrator.local import settle
from orchestrator.local.adapter import DYNAMODB_LOCK, SYNC_SLICE, LocalAws, sync_resolver

# --- .sync -----------------------------------------------------------------------------------


def test_gap_batch_sync_polls_describe_jobs_every_half_second() -> None:
    """Adapter piece 6 (adapter._patch_batch_sync): moto's .sync loop sleeps a fixed 0.5 s
    between DescribeJobs calls, a floor under every Batch stage."""
    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == 0.5
    loop = inspect.getsource(state_task_service_callback.StateTaskServiceCallback._eval_sync)
    assert "time.sleep(_DELAY_SECONDS_SYNC_CONDITION_CHECK)" in loop


class FakeBatch:
    """LocalBatch.wait: returns when the job finishes (here: on the second wait)."""

    def __init__(self) -> None:
        self.waits: list[tuple[str, float | None]] = []
        self.done = False

    def wait(self, job_id: str, timeout: float | None = None) -> str:
        self.waits.append((job_id, timeout))
        self.done = len(self.waits) >= 2
        return "SUCCEEDED" if self.done else "RUNNING"


def test_sync_resolver_waits_on_the_job_then_describes_it_once() -> None:
    batch = FakeBatch()
    calls: list[int] = []

    def describe() -> Any:
        calls.append(1)
        return {"JobId": "j1", "Status": "SUCCEEDED"} if batch.done else None

    resolve = sync_resolver(batch, "j1", describe, lambda: True)  # type: ignore[arg-type]
    assert resolve() == {"JobId": "j1", "Status": "SUCCEEDED"}
    assert batch.waits == [("j1", SYNC_SLICE), ("j1", SYNC_SLICE)]  # woken when it finished
    assert len(calls) == 1  # DescribeJobs once, for the finished job, never on a timer
    assert SYNC_SLICE <= 0.25


def test_sync_resolver_gives_up_when_the_execution_stops() -> None:
    running = iter([True, False])
    resolve = sync_resolver(FakeBatch(), "j1", lambda: None, lambda: next(running))  # type: ignore[arg-type]
    assert resolve() is None  # ends moto's loop: it checks env.is_running() next


class SleepSpy:
    """Stands in for the ``time`` module of moto's .sync loop and records its sleeps."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_adapter_sees_a_finished_job_without_the_fixed_poll(
        local: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = SleepSpy()
    monkeypatch.setattr(state_task_service_callback, "time", spy)
    waits: list[float | None] = []
    original_wait = local.batch.wait

    def wait(job_id: str, timeout: float | None = None) -> str:
        waits.append(timeout)
        return original_wait(job_id, timeout)

    monkeypatch.setattr(local.batch, "wait", wait)
    batch, iam, sfn = local.client("batch"), local.client("iam"), local.client("stepfunctions")
    role = iam.create_role(RoleName="role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ce = batch.create_compute_environment(computeEnvironmentName="local-ce", type="UNMANAGED",
                                          state="ENABLED", serviceRole=role)
    queue = batch.create_job_queue(jobQueueName="local-queue", state="ENABLED", priority=1,
                                   computeEnvironmentOrder=[{
                                       "order": 1,
                                       "computeEnvironment": ce["computeEnvironmentArn"]}])
    definition = batch.register_job_definition(
        jobDefinitionName="job", type="container",
        containerProperties={"image": "img", "command": ["sleep", "0.8"],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                      {"type": "MEMORY", "value": "64"}]})
    machine = sfn.create_state_machine(name="machine", roleArn=role, definition=json.dumps({
        "StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
            "Parameters": {"JobName": "j", "JobQueue": queue["jobQueueArn"],
                           "JobDefinition": definition["jobDefinitionArn"]}}}}))
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(0.05)
    assert desc["status"] == "SUCCEEDED", desc
    assert waits and set(waits) == {SYNC_SLICE}  # the resolver waited on the job itself
    assert spy.sleeps == []  # moto's 0.5 s sleep never ran


# --- DynamoDB --------------------------------------------------------------------------------


def test_gap_dynamodb_failed_transaction_undoes_a_concurrent_write(
        plain_moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adapter piece 7 (adapter._patch_dynamodb): TransactWriteItems snapshots the table and
    puts the snapshot back when a condition fails, erasing writes made in between (or its
    deepcopy raises while another thread writes)."""
    from moto.dynamodb import models

    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    original = models.get_filter_expression  # type: ignore[attr-defined]

    def concurrent_writer(*args: Any, **kwargs: Any) -> Any:  # another request, mid-way
        backend.put_item("t", {"k": {"S": "other"}})
        return original(*args, **kwargs)

    monkeypatch.setattr(models, "get_filter_expression", concurrent_writer)
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        ddb.transact_write_items(TransactItems=[{"Put": {
            "TableName": "t", "Item": {"k": {"S": "mine"}},
            "ConditionExpression": "attribute_exists(k)"}}])
    monkeypatch.setattr(models, "get_filter_expression", original)
    assert "Item" not in ddb.get_item(TableName="t", Key={"k": {"S": "other"}})  # lost


def test_adapter_runs_one_dynamodb_request_at_a_time(local: LocalAws) -> None:
    ddb = local.client("dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    finished = threading.Event()

    def write() -> None:
        local.client("dynamodb").put_item(TableName="t", Item={"k": {"S": "x"}})
        finished.set()

    with DYNAMODB_LOCK:
        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        assert not finished.wait(1.0)  # held at the emulator's door
    thread.join(30)
    assert finished.is_set()
    assert "Item" in ddb.get_item(TableName="t", Key={"k": {"S": "x"}})


# --- settling the summary --------------------------------------------------------------------


def row(name: str, job_id: str, status: str) -> dict[str, Any]:
    return {"stage": name.split("-")[0], "sample": name, "job_name": name, "job_id": job_id,
            "status": status}


CLOSED = {"status": "SUCCEEDED"}


@pytest.mark.parametrize(("execution", "rows", "missing"), [
    (CLOSED, [row("a-1", "j1", "SUCCEEDED"), row("a-2", "j2", "FAILED")], ()),
    (CLOSED, [row("a-1", "j1", "SUCCEEDED"), row("a-2", "j2", "RUNNABLE")], ("a-2",)),
    (CLOSED, [row("a-1", "j1", "SUCCEEDED")], ("a-2",)),  # no row yet
    (CLOSED, [row("a-1", "j0", "FAILED"), row("a-2", "j2", "SUCCEEDED")], ("a-1",)),  # old job
    ({"status": "RUNNING"}, [row("a-1", "j1", "SUCCEEDED"), row("a-2", "j2", "SUCCEEDED")],
     ("execution",)),
    (None, [row("a-1", "j1", "SUCCEEDED"), row("a-2", "j2", "SUCCEEDED")], ("execution",)),
    (CLOSED, [row("a-1", "j1", "SUCCEEDED"), row("a-2", "j2", "SUCCEEDED"),
              row("b-1", "", "SKIPPED")], ()),
])
def test_the_table_is_settled_only_when_every_submitted_job_is_final(
        execution: dict[str, Any] | None, rows: list[dict[str, Any]],
        missing: tuple[str, ...]) -> None:
    assert settle.unsettled(execution, rows, {"a-1": "j1", "a-2": "j2"}) == missing


FAN = """
from orchestrator import Workflow

wf = Workflow("fan", bucket="s3://local-tests/fan")
samples = wf.foreach("sample_id")
wf.job("copy", image="img", command=["cp {inputs.x} {outputs.y}"], shell=True,
       inputs={"x": "in/{sample_id}.txt"}, outputs={"y": "out/{sample_id}.txt"},
       per=samples, timeout="5m")
"""


def test_a_concurrent_run_reports_every_job_and_prints_no_noise(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    n = 50
    data = tmp_path / "data" / "fan"
    (data / "in").mkdir(parents=True)
    ids = [f"S{i:02d}" for i in range(n)]
    for s in ids:
        (data / "in" / f"{s}.txt").write_text(s + "\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(ids) + "\n")
    (tmp_path / "fan.py").write_text(textwrap.dedent(FAN))
    code = main(["run", str(tmp_path / "fan.py"), "--local", "--cores", "2",
                 "--workdir", str(tmp_path / "wd")])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "fan: SUCCEEDED in" in out and f"({n} job(s) ran, 0 skipped" in out
    summary = out.split("stage        sample")[-1].splitlines()[1:n + 1]
    assert len(summary) == n and all(" SUCCEEDED " in line for line in summary), summary
    text = out + err
    assert "Traceback" not in text
    assert not [x for x in text.splitlines() if x.lstrip().startswith("{")]
    assert not re.search(r"\b(RUNNABLE|STARTING|RUNNING|SUBMITTED)\b", out.split("fan: ")[-1])


def test_settling_reads_the_jobs_from_the_execution_history() -> None:
    pages = {None: {"nextToken": "t2", "events": [{"type": "ExecutionStarted"}]},
             "t2": {"events": [
        {"taskSubmittedEventDetails": {"resourceType": "batch", "output": json.dumps(
            {"JobId": "j1", "JobName": "a-1"})}},
        {"taskSubmittedEventDetails": {"resourceType": "lambda", "output": "{}"}},
        {"taskSubmittedEventDetails": {"resourceType": "batch", "output": json.dumps(
            {"JobId": "j2", "JobName": "a-1"})}},  # re-submitted: the last one counts
        {"type": "TaskStateEntered"},
    ]}}
    sfn = types.SimpleNamespace(get_execution_history=lambda **kw: pages[kw.get("nextToken")])
    events = settle.history(sfn, "arn")  # every page, once
    assert settle.submitted_jobs(events) == {"a-1": "j2"}
    assert settle.history_counts(events) == (5, 1)


@pytest.mark.parametrize(("arrays", "children", "missing"), [
    ([{"job_id": "p", "status": "FAILED", "size": 2}], ["SUCCEEDED", "FAILED"], ()),
    ([{"job_id": "p", "status": "FAILED", "size": 2}], ["SUCCEEDED", "RUNNING"], ("a",)),
    ([{"job_id": "p", "status": "RUNNING", "size": 2}], ["SUCCEEDED", "SUCCEEDED"], ("a",)),
    ([], ["SUCCEEDED", "SUCCEEDED"], ("a",)),  # the array's own row has not arrived
])
def test_an_array_job_is_settled_when_it_and_each_child_are_final(
        arrays: list[dict[str, Any]], children: list[str], missing: tuple[str, ...]) -> None:
    """Regression: the array's name maps to its parent id while the rows are its children's,
    so a finished local array run used to wait out the whole settle timeout (60 s)."""
    rows = [row("a", f"p:{i}", status) for i, status in enumerate(children)]
    assert settle.unsettled(CLOSED, rows, {"a": "p"}, arrays) == missing


def test_the_engine_reads_the_table_only_after_a_function_ran(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a job runs, nothing writes the job-state table: the engine used to read it every
    0.2 s anyway (a DynamoDB query and a rewritten run record each time)."""
    from orchestrator.local import engine
    from orchestrator_runtime import jobstate

    reads: list[float] = []
    original = jobstate.read_execution

    def read_execution(*args: Any, **kwargs: Any) -> Any:
        reads.append(time.monotonic())
        return original(*args, **kwargs)

    monkeypatch.setattr(jobstate, "read_execution", read_execution)
    (tmp_path / "data" / "slow").mkdir(parents=True)
    (tmp_path / "data" / "slow" / "in.txt").write_text("x\n")
    (tmp_path / "slow.py").write_text(textwrap.dedent("""
        from orchestrator import Workflow

        wf = Workflow("slow", bucket="s3://local-tests/slow")
        wf.job("wait", image="img", command=["sleep 4; cp {inputs.x} {outputs.y}"],
               shell=True, inputs={"x": "in.txt"}, outputs={"y": "out.txt"}, timeout="5m")
    """))
    result = engine.run(engine.RunOptions(tmp_path / "slow.py", workdir=tmp_path / "wd"))
    assert result.succeeded and [r["status"] for r in result.rows] == ["SUCCEEDED"]
    # a read after each function call and state change (a dozen), not 20 in the 4 s sleep
    assert 2 <= len(reads) < 16, reads
    assert max(b - a for a, b in itertools.pairwise(reads)) > 2  # idle in the sleep
    # the collector, paused while the engine started and frozen over its start-up objects
    # during the execution (gcphases), is as it was: this process runs many engines
    assert gc.isenabled() and gc.get_freeze_count() == 0
