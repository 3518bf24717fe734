"""Batch array jobs on the local engine: children are real processes, each a job of its own.

The engine behind these tests runs with two cores (tests/e2e/conftest.py), so "bounded by
cores" means at most two children at a time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_moto_gaps import Batch, Clients, alive, describe, run_job, submit, wait_for

from orchestrator.local.adapter import LocalAws
from orchestrator.local.batch_job import ENGINE_STOPPED
from orchestrator_runtime import contracts


@pytest.fixture
def adapted(local: LocalAws) -> Clients:
    return Clients(local.client)


def array(clients: Clients, batch: Batch, size: int, **options: Any) -> str:
    job_id: str = submit(clients, batch, arrayProperties={"size": size}, **options)
    return job_id


def children(clients: Clients, parent: str, size: int) -> list[dict[str, Any]]:
    ids = [f"{parent}:{i}" for i in range(size)]
    out: list[dict[str, Any]] = []
    for start in range(0, size, 100):  # DescribeJobs takes at most 100 ids
        out += clients.batch.describe_jobs(jobs=ids[start:start + 100])["jobs"]
    return out


def finish(local: LocalAws, job_id: str, limit: float = 120) -> str:
    status = local.batch.wait(job_id, timeout=limit)
    assert status in ("SUCCEEDED", "FAILED"), f"{job_id} still {status} after {limit} s"
    return status


def folder(tmp_path: Path, name: str) -> Path:
    """A folder of its own (the engine's logs live in tmp_path too)."""
    path = tmp_path / name
    path.mkdir()
    return path


def env(**values: str) -> dict[str, Any]:
    return {"containerOverrides": {"environment": [{"name": k, "value": v}
                                                   for k, v in values.items()]}}


def test_each_child_runs_once_with_its_index_and_its_own_log(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    tmp_path = folder(tmp_path, "out")
    batch = adapted.setup_batch(["sh", "-c", 'echo "child $AWS_BATCH_JOB_ARRAY_INDEX" >&2; '
                                 'echo "$AWS_BATCH_JOB_ID" > "$OUT/$AWS_BATCH_JOB_ARRAY_INDEX"'])
    parent = array(adapted, batch, 5, **env(OUT=str(tmp_path)))

    assert finish(local, parent) == "SUCCEEDED"
    job = describe(adapted, parent)
    assert job["arrayProperties"]["size"] == 5
    assert job["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 5
    assert sum(job["arrayProperties"]["statusSummary"].values()) == 5
    assert job["attempts"] == [] and "index" not in job["arrayProperties"]
    kids = children(adapted, parent, 5)
    assert [(k["jobId"], k["status"], k["arrayProperties"]) for k in kids] == [
        (f"{parent}:{i}", "SUCCEEDED", {"index": i}) for i in range(5)]
    assert {k["jobName"] for k in kids} == {"job"}
    assert {k["jobArn"] for k in kids} == {f"{job['jobArn']}:{i}" for i in range(5)}
    assert [(tmp_path / str(i)).read_text().strip() for i in range(5)] == [
        f"{parent}:{i}" for i in range(5)]
    streams = [k["attempts"][0]["container"]["logStreamName"] for k in kids]
    assert len(set(streams)) == 5
    assert [local.log_path(s).read_text().split()[-2:] for s in streams] == [
        ["child", str(i)] for i in range(5)]
    listed = adapted.batch.list_jobs(arrayJobId=parent)["jobSummaryList"]
    assert sorted(j["jobId"] for j in listed) == sorted(k["jobId"] for k in kids)


def test_two_hundred_children_run_at_most_cores_at_a_time_on_few_threads(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    running = tmp_path / "running"
    running.mkdir()
    batch = adapted.setup_batch(["sh", "-c", 'touch "$R/$AWS_BATCH_JOB_ARRAY_INDEX"; '
                                 'ls "$R" | wc -l >> "$R.counts"; sleep 0.01; '
                                 'rm "$R/$AWS_BATCH_JOB_ARRAY_INDEX"'])
    threads: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            threads.append(threading.active_count())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = threading.active_count()
    parent = array(adapted, batch, 200, **env(R=str(running)))
    try:
        assert finish(local, parent) == "SUCCEEDED"
    finally:
        stop.set()
        sampler.join()

    counts = [int(n) for n in (tmp_path / "running.counts").read_text().split()]
    assert len(counts) == 200
    assert max(counts) <= 2
    assert local.batch.peak_threads <= 2  # one worker per running child
    assert max(threads) - before <= 12  # workers and their output pumps, not 200 threads
    assert describe(adapted, parent)["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 200


def test_each_child_has_its_own_attempts(adapted: Clients, local: LocalAws) -> None:
    batch = adapted.setup_batch(["sh", "-c", 'echo "attempt $AWS_BATCH_JOB_ATTEMPT" >&2; '
                                 'test "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 || '
                                 'test "$AWS_BATCH_JOB_ATTEMPT" = 3'])
    parent = array(adapted, batch, 3, retryStrategy={"attempts": 3})

    assert finish(local, parent) == "SUCCEEDED"
    kids = children(adapted, parent, 3)
    assert [len(k["attempts"]) for k in kids] == [1, 3, 1]
    assert [a["container"]["exitCode"] for a in kids[1]["attempts"]] == [1, 1, 0]
    streams = [a["container"]["logStreamName"] for a in kids[1]["attempts"]]
    assert [local.log_path(s).read_text().split()[-2:] for s in streams] == [
        ["attempt", "1"], ["attempt", "2"], ["attempt", "3"]]


def test_a_failed_child_fails_the_parent_and_only_itself(
    adapted: Clients, local: LocalAws
) -> None:
    batch = adapted.setup_batch(["sh", "-c", "exit $((AWS_BATCH_JOB_ARRAY_INDEX % 2))"])
    parent = array(adapted, batch, 4)

    assert finish(local, parent) == "FAILED"
    job = describe(adapted, parent)
    summary = job["arrayProperties"]["statusSummary"]
    assert (summary["SUCCEEDED"], summary["FAILED"]) == (2, 2)
    assert job["statusReason"] == "2 of 4 child jobs failed"
    assert [k["status"] for k in children(adapted, parent, 4)] == [
        "SUCCEEDED", "FAILED", "SUCCEEDED", "FAILED"]
    assert [k["attempts"][-1]["container"]["exitCode"]
            for k in children(adapted, parent, 4)] == [0, 1, 0, 1]


def pids(folder: Path) -> list[int]:
    return [int(p.read_text()) for p in folder.iterdir() if p.read_text().strip()]


def test_terminating_the_parent_stops_running_and_waiting_children(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    tmp_path = folder(tmp_path, "work")
    batch = adapted.setup_batch(["sh", "-c", 'echo $$ > "$P/$AWS_BATCH_JOB_ARRAY_INDEX"; '
                                 "exec sleep 30"])
    parent = array(adapted, batch, 6, **env(P=str(tmp_path)))
    wait_for(lambda: len(pids(tmp_path)) == 2, "two children to run")

    adapted.batch.terminate_job(jobId=parent, reason="stopped by the user")

    assert finish(local, parent, 20) == "FAILED"
    kids = children(adapted, parent, 6)
    assert {k["status"] for k in kids} == {"FAILED"}
    assert {k["statusReason"] for k in kids} == {"stopped by the user"}
    assert sorted(len(k["attempts"]) for k in kids) == [0, 0, 0, 0, 1, 1]
    assert not [p for p in pids(tmp_path) if alive(p)]


def test_cancelling_the_parent_lets_running_children_finish(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    tmp_path = folder(tmp_path, "work")
    gate = tmp_path / "go"
    batch = adapted.setup_batch(["sh", "-c", 'touch "$P/$AWS_BATCH_JOB_ARRAY_INDEX"; '
                                 'while [ ! -e "$P/go" ]; do sleep 0.02; done'])
    parent = array(adapted, batch, 5, **env(P=str(tmp_path)))
    wait_for(lambda: len(list(tmp_path.iterdir())) == 2, "two children to run")

    adapted.batch.cancel_job(jobId=parent, reason="cancelled")
    gate.touch()

    assert finish(local, parent, 20) == "FAILED"
    statuses = [k["status"] for k in children(adapted, parent, 5)]
    assert sorted(statuses) == ["FAILED", "FAILED", "FAILED", "SUCCEEDED", "SUCCEEDED"]


def test_stopping_the_engine_stops_every_child(
    adapted: Clients, local: LocalAws, tmp_path: Path
) -> None:
    tmp_path = folder(tmp_path, "work")
    batch = adapted.setup_batch(["sh", "-c", 'echo $$ > "$P/$AWS_BATCH_JOB_ARRAY_INDEX"; '
                                 "exec sleep 30"])
    parent = array(adapted, batch, 4, **env(P=str(tmp_path)))
    wait_for(lambda: len(pids(tmp_path)) == 2, "two children to run")

    local.batch.shutdown()

    kids = [local.batch.find(f"{parent}:{i}") for i in range(4)]
    assert {(k.status, k.reason) for k in kids if k is not None} == {("FAILED", ENGINE_STOPPED)}
    assert local.batch.wait(parent, 0) == "FAILED"
    assert not [p for p in pids(tmp_path) if alive(p)]


@pytest.mark.parametrize("size", [1, 10_001])
def test_an_array_size_out_of_range_is_refused(adapted: Clients, size: int) -> None:
    batch = adapted.setup_batch(["true"])
    with pytest.raises(ClientError, match="between 2 and 10000"):
        array(adapted, batch, size)


# State-change events --------------------------------------------------------------------

@pytest.fixture
def heard(local: LocalAws) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    local.batch.add_listener(seen.append)
    yield seen


def test_listeners_hear_the_parent_and_each_child_as_aws_describes_them(
    adapted: Clients, local: LocalAws, heard: list[dict[str, Any]]
) -> None:
    batch = adapted.setup_batch(["sh", "-c", "exit $((AWS_BATCH_JOB_ARRAY_INDEX == 2))"])
    parent = array(adapted, batch, 3, tags={contracts.TAG_STAGE: "align"})
    assert finish(local, parent) == "FAILED"
    wait_for(lambda: any(e["jobId"] == parent and e["status"] == "FAILED" for e in heard),
             "the parent's last event")

    mine = [e for e in heard if e["jobId"] == parent]
    assert [e["status"] for e in mine] == ["PENDING", "RUNNING", "FAILED"]
    assert mine[-1]["arrayProperties"]["size"] == 3
    assert mine[-1]["arrayProperties"]["statusSummary"]["FAILED"] == 1
    for i in range(3):
        child = [e for e in heard if e["jobId"] == f"{parent}:{i}"]
        assert [e["status"] for e in child] == ["RUNNABLE", "STARTING", "RUNNING",
                                                "FAILED" if i == 2 else "SUCCEEDED"]
        last = child[-1]
        assert last["arrayProperties"] == {"index": i}
        assert (last["jobName"], last["jobQueue"], last["jobDefinition"]) == (
            mine[-1]["jobName"], mine[-1]["jobQueue"], mine[-1]["jobDefinition"])
        assert last["tags"][contracts.TAG_STAGE] == "align"
        assert last["attempts"][-1]["container"]["exitCode"] == (1 if i == 2 else 0)
    # a child's change comes before the parent's change it causes
    order = [(e["jobId"], e["status"]) for e in heard]
    assert order.index((parent, "FAILED")) > max(
        order.index((f"{parent}:{i}", s)) for i, s in [(0, "SUCCEEDED"), (1, "SUCCEEDED"),
                                                        (2, "FAILED")])


def test_child_events_reach_eventbridge_rules(adapted: Clients, local: LocalAws) -> None:
    batch = adapted.setup_batch(["true"])
    url = adapted.queue("jobs", {"source": ["aws.batch"],
                                 "detail-type": ["Batch Job State Change"],
                                 "detail": {"status": ["SUCCEEDED", "PENDING"]}})
    parent = array(adapted, batch, 2)
    assert finish(local, parent) == "SUCCEEDED"

    got: dict[tuple[str, str], dict[str, Any]] = {}  # (the queue redelivers at once)

    def receive() -> bool:
        for m in adapted.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []):
            detail = json.loads(m["Body"])["detail"]
            got[detail["jobId"], detail["status"]] = detail["arrayProperties"]
        return len(got) >= 4

    wait_for(receive, "four events")
    assert got == {
        (f"{parent}:0", "SUCCEEDED"): {"index": 0}, (f"{parent}:1", "SUCCEEDED"): {"index": 1},
        # "updated to PENDING when any child job is updated to RUNNABLE" (user guide)
        (parent, "PENDING"): {"size": 2, "statusSummary": {
            "SUBMITTED": 1, "PENDING": 0, "RUNNABLE": 1, "STARTING": 0, "RUNNING": 0,
            "SUCCEEDED": 0, "FAILED": 0}},
        (parent, "SUCCEEDED"): describe(adapted, parent)["arrayProperties"]}


# The state machine waits for the parent (.sync) ---------------------------------------------

def caught(batch: Batch, **parameters: Any) -> dict[str, Any]:
    task = run_job(batch, **parameters)
    task.pop("End")
    task.update(Next="Done", Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Failed",
                                     "ResultPath": "$.error"}])
    return {"StartAt": "Run", "States": {
        "Run": task, "Done": {"Type": "Pass", "End": True},
        "Failed": {"Type": "Pass", "End": True, "OutputPath": "$.error"}}}


def test_a_sync_task_waits_for_every_child(adapted: Clients, tmp_path: Path) -> None:
    tmp_path = folder(tmp_path, "out")
    batch = adapted.setup_batch(["sh", "-c", 'sleep 0.2; touch "$OUT/$AWS_BATCH_JOB_ARRAY_INDEX"'])
    definition = caught(batch, ArrayProperties={"Size": 5}, ContainerOverrides={
        "Environment": [{"Name": "OUT", "Value": str(tmp_path)}]})

    result = adapted.execute(definition, batch.role)

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["Status"] == "SUCCEEDED"
    assert output["ArrayProperties"]["Size"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2", "3", "4"]


def test_a_sync_task_fails_as_task_failed_when_one_child_fails(adapted: Clients) -> None:
    batch = adapted.setup_batch(["sh", "-c", "exit $((AWS_BATCH_JOB_ARRAY_INDEX == 3))"])

    result = adapted.execute(caught(batch, ArrayProperties={"Size": 5}), batch.role)

    assert result["status"] == "SUCCEEDED"
    error = json.loads(result["output"])
    assert error["Error"] == "States.TaskFailed"
    cause = json.loads(error["Cause"])
    assert cause["Status"] == "FAILED"
    assert cause["ArrayProperties"]["StatusSummary"]["FAILED"] == 1
    assert cause["ArrayProperties"]["StatusSummary"]["SUCCEEDED"] == 4


def test_a_job_s_start_reaches_eventbridge_in_one_put(adapted: Clients,
                                                      local: LocalAws) -> None:
    """The delivery thread gathers for a moment: RUNNABLE, STARTING and RUNNING, a few
    milliseconds apart, are one PutEvents (one batch for listeners), not three."""
    calls: list[list[str]] = []
    local.batch.add_batch_listener(lambda jobs: calls.append([j["status"] for j in jobs]))
    batch = adapted.setup_batch(["sh", "-c", "sleep 1"])
    job_id = submit(adapted, batch)
    assert finish(local, job_id) == "SUCCEEDED"
    wait_for(lambda: calls and calls[-1][-1] == "SUCCEEDED", "the last event")
    assert calls == [["RUNNABLE", "STARTING", "RUNNING"], ["SUCCEEDED"]]
