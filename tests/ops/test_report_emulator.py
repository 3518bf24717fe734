"""`report` and `latest` against the emulator: a run on AWS read from the job-state table
(rows written from real Batch events by the code the job_events Lambda runs, every attempt's
times kept), with one job the table lacks (found in the execution history and described by
Batch). The page draws one timed bar per attempt of both, and counts vCPU-hours from the sizes
DescribeJobs reports.

Emulator gaps worked around here (moto 5.2.5), as in test_status_emulator: Batch jobs never
fail or retry on their own (status and attempts are set on moto's job object), and an execution
that does not run its ASL has no Batch events in its history (the history fallback is fed the
``TaskSubmitted`` event AWS records). moto describes a job's size as ``container.vcpus``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
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

TABLE = "jobs"
EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z in epoch milliseconds
MINUTE = 60_000
RUN = contracts.execution_name("rnaseq", '{"samples": ["S1", "S2"]}')
OLDER = contracts.execution_name("rnaseq", "older")


@dataclass
class World:
    arn: str
    history: list[dict[str, Any]]


def _attempt(start_min: int, stop_min: int, reason: str, exit_code: int | None,
             stream: str) -> dict[str, Any]:
    container: dict[str, Any] = {"logStreamName": stream}
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {"startedAt": T0 + start_min * MINUTE, "stoppedAt": T0 + stop_min * MINUTE,
            "statusReason": reason, "container": container}


def _event(arn: str, sample: str, job_id: str, attempts: list[dict[str, Any]]) -> Any:
    """A real "Batch Job State Change" (tests/fixtures/events) for this run's job."""
    event = json.loads((EVENTS / "batch_job_succeeded.json").read_text())
    detail = event["detail"]
    detail.update(jobId=job_id, jobName=f"rnaseq-align-{sample}", createdAt=T0,
                  attempts=attempts, startedAt=attempts[-1]["startedAt"],
                  stoppedAt=attempts[-1]["stoppedAt"])
    detail["tags"].update({contracts.TAG_EXECUTION: arn, contracts.TAG_STAGE: "align",
                           contracts.TAG_SAMPLE: sample})
    event["time"] = "2026-01-01T12:30:00Z"
    return event


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
    role = fargate_queue(session, vcpus="2", memory="4096")
    batch = session.client("batch")
    sfn = session.client("stepfunctions")
    sm = sfn.create_state_machine(
        name="rnaseq", roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=sm, name=OLDER, input="{}")
    arn = sfn.start_execution(stateMachineArn=sm, name=RUN, input="{}")["executionArn"]

    table = jobstate.create_table(session.resource("dynamodb"), TABLE)
    jobs = {s: batch.submit_job(jobName=f"rnaseq-align-{s}", jobQueue="queue",
                                jobDefinition="align",
                                tags={contracts.TAG_STAGE: "align", contracts.TAG_SAMPLE: s,
                                      contracts.TAG_WORKFLOW: "rnaseq"})["jobId"]
            for s in ("S1", "S2")}
    # S1: reclaimed after 4 minutes, then 6 minutes to success; its events reach the table.
    s1 = [_attempt(1, 5, "Host EC2 (instance i-0abc) terminated.", None, "align/default/a"),
          _attempt(6, 12, "Essential container in task exited", 0, "align/default/b")]
    outcome = jobstate.handle_event(table, _event(arn, "S1", jobs["S1"], s1))
    assert outcome.applied, outcome.message
    # S2: two failed attempts of 3 and 5 minutes; its events never reached the table.
    job = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs[jobs["S2"]]
    job.status, job.job_stopped_reason = "FAILED", "Essential container in task exited"
    job.attempts = [_attempt(2, 5, "Essential container in task exited", 1, "align/default/c"),
                    _attempt(7, 12, "Essential container in task exited", 1, "align/default/d")]
    history = [{"type": "TaskSubmitted", "id": 7, "taskSubmittedEventDetails": {
        "resourceType": "batch", "resource": "submitJob.sync",
        "output": json.dumps({"JobId": jobs["S2"], "JobName": "rnaseq-align-S2"})}}]
    return World(arn, history)


@pytest.fixture
def aws_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    original = AwsRuns._history

    def history(self: AwsRuns, arn: str) -> list[dict[str, Any]]:
        real = original(self, arn)
        return real + world.history if arn == world.arn else real

    monkeypatch.setattr(AwsRuns, "_history", history)
    return world


class Bars(HTMLParser):
    """The timeline's bars: (job, attempt number, outcome, hatched) in page order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str, bool]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "rect" and "bar" in classes:
            self.found.append((str(a["data-job"]), str(a["data-attempt"]), classes[-1],
                               a.get("fill") == "url(#hatch)"))


def test_report_of_an_aws_run_draws_every_attempt_with_its_times(
        aws_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    capsys.readouterr()
    assert main(["report", RUN, "--aws", "--table", TABLE, "-o", str(out),
                 "--vcpu-hour-price", "0.05", "--json"]) == 0
    doc = check("report", json.loads(capsys.readouterr().out))
    assert (doc["run_id"], doc["workflow"], doc["jobs"], doc["attempts"]) == (
        RUN, "rnaseq", 2, 4)
    html = out.read_text()
    assert Bars(html).found == [
        ("align/S1", "1", "retried", False), ("align/S1", "2", "succeeded", False),
        ("align/S2", "1", "retried", False), ("align/S2", "2", "failed", False)]
    assert "Host EC2 (instance i-0abc) terminated." in html
    # 4 + 6 + 3 + 5 minutes at 2 vCPUs (DescribeJobs), priced per vCPU-hour
    vcpu_hours = 2 * 18 / 60
    assert f"<b>{vcpu_hours:.4f}</b>" in html and f"${0.05 * vcpu_hours:.4f}" in html


def test_report_by_arn_and_latest_name_the_same_run(
        aws_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for run in (aws_world.arn, "latest"):
        capsys.readouterr()
        argv = ["report", run, "--table", TABLE, "-o", str(tmp_path / "r.html"), "--json"]
        assert main(argv) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["run_id"] == RUN


def test_status_latest_is_the_newest_execution(
        aws_world: World, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["status", "latest", "--aws", "--table", TABLE, "--json"]) == 0  # RUNNING
    doc = check("status", json.loads(capsys.readouterr().out))
    assert doc["run"]["name"] == RUN
    s1 = next(j for j in doc["jobs"] if j["sample"] == "S1")
    assert (s1["source"], s1["attempts"], s1["spot_reclaims"]) == ("table", 2, 1)


def test_report_of_an_unknown_aws_run_is_one_line(
        aws_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["report", "no-such-run", "--aws", "--table", TABLE,
                 "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "no run named 'no-such-run'" in err and err.count("\n") == 1, err
    assert not (tmp_path / "r.html").exists()


def test_the_table_row_spares_describe_jobs_for_attempts(aws_world: World) -> None:
    """S1's row holds its attempts: only S2 (not in the table) is described."""
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    calls: list[list[str]] = []
    batch = session.client("batch")
    real = batch.describe_jobs

    def counting(**kwargs: Any) -> Any:
        calls.append(list(kwargs["jobs"]))
        return real(**kwargs)

    batch.describe_jobs = counting  # type: ignore[method-assign]
    source = AwsRuns(sfn=session.client("stepfunctions"),
                     table=session.resource("dynamodb").Table(TABLE), batch=batch,
                     logs=session.client("logs"))
    run = source.get_run(aws_world.arn)
    s1 = next(r for r in run.rows if r["sample"] == "S1")
    assert [a["log"] for a in s1["attempt_details"]] == ["align/default/a", "align/default/b"]
    assert len(calls) == 1 and s1["job_id"] not in calls[0]
    assert s1["attempt_details"][0] == {
        "started_at": "2026-01-01T12:01:00.000Z", "stopped_at": "2026-01-01T12:05:00.000Z",
        "status_reason": "Host EC2 (instance i-0abc) terminated.", "log": "align/default/a"}
