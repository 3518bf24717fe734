"""`runs`, `status`, `logs` against the emulator: executions in Step Functions, rows in the
job-state table written by the code the job_events Lambda runs, jobs in Batch, logs in
CloudWatch Logs; the CLI runs unchanged against moto.

Emulator gaps worked around here (moto 5.2.5):
- Batch jobs never fail or retry on their own: a job's status and attempts are set on moto's
  job object (as test_doctor_emulator does), with manual progression pinning the status.
- An execution that does not run its ASL has no Batch events in its history, so the history
  fallback is fed the events AWS records for a ``batch:submitJob.sync`` task
  (``TaskSubmitted`` with the SubmitJob output); Batch and the table are the emulator's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from docschemas import check
from moto import mock_aws
from moto.batch.models import batch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager
from opskit import REGION, fargate_queue

from orchestrator.aws.runs import AwsRuns
from orchestrator.cli import main
from orchestrator_runtime import contracts, jobstate
from orchestrator_runtime.events import JobEvent
from orchestrator_runtime.triggers import TRIGGER_KEY

TABLE = "jobs"
GROUP = "/aws/batch/job"
RUN = contracts.execution_name("rnaseq", '{"samples": []}')


@dataclass
class World:
    session: boto3.Session
    arn: str  # the run with jobs
    jobs: dict[str, str]  # sample -> Batch job id
    history: list[dict[str, Any]]


def _hold(job_id: str, status: str, reason: str, attempts: list[dict[str, Any]]) -> None:
    job = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs[job_id]
    job.status = status
    job.job_stopped_reason = reason
    job.attempts = attempts


def _record(table: Any, arn: str, sample: str, job_id: str, status: str, attempts: int,
            exit_code: int | None = None, stream: str | None = None, reason: str = "") -> None:
    jobstate.apply_job_event(table, JobEvent(
        execution=arn, workflow="rnaseq", stage="align", sample=sample, job_id=job_id,
        job_name=f"rnaseq-align-{sample}", status=status, status_reason=reason,
        attempts=attempts, time=datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
        event_id=f"{job_id}-{status}", created_ms=1767268800000, exit_code=exit_code,
        log_stream=stream, started_ms=1767268860000, stopped_ms=1767269100000))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws(config={"batch": {"use_docker": False}}):
        state_manager.set_transition("batch::job", {"progression": "manual", "times": 10**9})
        try:
            yield _build()
        finally:
            state_manager.unset_transition("batch::job")


def _build() -> World:
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    role = fargate_queue(session, vcpus="1", memory="2048")
    batch = session.client("batch")

    sfn = session.client("stepfunctions")
    sm = sfn.create_state_machine(
        name="rnaseq", roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, name=RUN,
                              input='{"samples": []}')["executionArn"]
    sfn.start_execution(stateMachineArn=sm, name=contracts.execution_name("rnaseq", "x"),
                        input=json.dumps({TRIGGER_KEY: {"object": "s3://b/k"}}))
    manual = sfn.start_execution(stateMachineArn=sm, name="my-manual-run")["executionArn"]
    sfn.stop_execution(executionArn=manual)

    table = jobstate.create_table(session.resource("dynamodb"), TABLE)
    jobs = {}
    for sample in ("S1", "S2", "S3"):
        jobs[sample] = batch.submit_job(
            jobName=f"rnaseq-align-{sample}", jobQueue="queue", jobDefinition="align",
            tags={contracts.TAG_STAGE: "align", contracts.TAG_SAMPLE: sample,
                  contracts.TAG_WORKFLOW: "rnaseq"})["jobId"]
    _hold(jobs["S1"], "SUCCEEDED", "Essential container in task exited",
          [{"statusReason": "Essential container in task exited",
            "container": {"exitCode": 0, "logStreamName": "align/default/s1a"}}])
    _hold(jobs["S2"], "FAILED", "Essential container in task exited", [
        {"statusReason": "Host EC2 (instance i-0abc) terminated.",
         "container": {"logStreamName": "align/default/s2a"}},
        {"statusReason": "Essential container in task exited",
         "container": {"exitCode": 3, "logStreamName": "align/default/s2b"}}])
    _hold(jobs["S3"], "RUNNING", "", [])
    _record(table, arn, "S1", jobs["S1"], "SUCCEEDED", 1, 0, "align/default/s1a")
    _record(table, arn, "S2", jobs["S2"], "FAILED", 2, 3, "align/default/s2b",
            "Essential container in task exited")
    # S3's events never reached the table: the history and Batch know the job.
    history = [{"type": "TaskSubmitted", "id": 7, "taskSubmittedEventDetails": {
        "resourceType": "batch", "resource": "submitJob.sync",
        "output": json.dumps({"JobArn": f"arn:aws:batch:{REGION}:1:job/{jobs['S3']}",
                              "JobId": jobs["S3"], "JobName": "rnaseq-align-S3"})}}]

    logs = session.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)  # CloudWatch drops events >14 days old
    for stream, lines in (("align/default/s1a", ["aligned S1"]),
                          ("align/default/s2a", ["start S2", "(reclaimed)"]),
                          ("align/default/s2b", ["start S2 again", "boom"])):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=[
            {"timestamp": now_ms + i, "message": m} for i, m in enumerate(lines)])
    return World(session, arn, jobs, history)


@pytest.fixture
def aws_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    original = AwsRuns._history

    def history(self: AwsRuns, arn: str) -> list[dict[str, Any]]:
        real = original(self, arn)
        return real + world.history if arn == world.arn else real

    monkeypatch.setattr(AwsRuns, "_history", history)
    return world


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    capsys.readouterr()
    assert main([*argv, "--table", TABLE, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def test_runs_lists_executions_with_counts_and_how_they_started(
        aws_world: World, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("runs", cli_json(capsys, "runs", "rnaseq"))
    by_name = {r["name"]: r for r in doc["runs"]}
    assert set(by_name) == {RUN, contracts.execution_name("rnaseq", "x"), "my-manual-run"}
    assert {n: r["started_by"] for n, r in by_name.items()} == {
        RUN: "cli", contracts.execution_name("rnaseq", "x"): "trigger",
        "my-manual-run": "console"}
    assert by_name["my-manual-run"]["status"] == "ABORTED"
    assert by_name[RUN]["jobs"] == {"ran": 2, "skipped": 0, "failed": 1,
                                    "by_status": {"FAILED": 1, "SUCCEEDED": 1}}
    assert all(r["backend"] == "aws" for r in doc["runs"])
    assert main(["runs", "--table", TABLE]) == 0
    assert "my-manual-run" in capsys.readouterr().out


def test_status_reads_the_table_and_falls_back_to_history_and_batch(
        aws_world: World, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("status", cli_json(capsys, "status", RUN))
    jobs = {j["sample"]: j for j in doc["jobs"]}
    assert {s: (j["status"], j["source"]) for s, j in jobs.items()} == {
        "S1": ("SUCCEEDED", "table"), "S2": ("FAILED", "table"), "S3": ("RUNNING", "batch")}
    assert jobs["S3"]["job_id"] == aws_world.jobs["S3"]
    (failure,) = doc["failures"]
    assert failure["attempts"] == 2 and failure["spot_reclaims"] == 1
    assert failure["exit_code"] == 3
    assert failure["logs"] == [f"{GROUP}:align/default/s2a", f"{GROUP}:align/default/s2b"]
    (stage,) = doc["stages"]
    assert stage["counts"] == {"FAILED": 1, "RUNNING": 1, "SUCCEEDED": 1}
    assert stage["spot_reclaims"] == 1 and stage["attempts"] == 3
    assert doc["blocked"] == [{"sample": "S2", "failed_stages": ["align"], "not_run": [],
                               "finished": False}]
    by_arn = check("status", cli_json(capsys, "status", aws_world.arn))
    assert by_arn["jobs"] == doc["jobs"]


def test_logs_reads_each_attempts_stream(aws_world: World, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    last = check("logs", cli_json(capsys, "logs", RUN, "align", "S2"))
    assert last["attempt"] == 2 and last["lines"] == ["start S2 again", "boom"]
    first = check("logs", cli_json(capsys, "logs", RUN, "align", "S2", "--attempt", "1"))
    assert first["lines"] == ["start S2", "(reclaimed)"]
    assert first["log"] == f"{GROUP}:align/default/s2a"
    saved = check("logs-save", cli_json(capsys, "logs", RUN, "--save", str(tmp_path)))
    assert [(s["sample"], s["attempt"], s["lines"]) for s in saved["saved"]] == [
        ("S2", 1, 2), ("S2", 2, 2)]
    assert (tmp_path / "align" / "S2.attempt2.log").read_text() == "start S2 again\nboom\n"


def test_errors_are_one_line_with_the_fix(aws_world: World, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(argv: list[str], message: str, code: int = 2) -> None:
        capsys.readouterr()
        assert main(argv) == code
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err

    fails(["status", "no-such-run", "--table", TABLE], "no run named 'no-such-run'")
    fails(["status", RUN, "--table", "missing"], "job-state table 'missing' does not exist")
    fails(["status", RUN], "stack 'orchestrator'", code=1)
    fails(["runs", "--aws", "--table", TABLE, "nope"], "no state machine named 'nope'")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    fails(["status", RUN, "--table", TABLE], "no AWS region: set AWS_REGION")
