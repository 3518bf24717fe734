"""`orchestrator executions`: recent runs, newest first, with status and duration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from orchestrator.aws import executions
from orchestrator.aws.executions import Run

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (42.9, "42s"), (60, "1m00s"), (3725, "1h02m05s"), (90061, "25h01m01s")])
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert executions.duration(seconds) == text


def test_table_shows_finished_and_running_runs_aligned() -> None:
    runs = [Run("rnaseq-b", "RUNNING", T0 + timedelta(minutes=5), None),
            Run("rnaseq-a", "SUCCEEDED", T0, T0 + timedelta(minutes=3, seconds=7))]
    lines = executions.table(runs, now=T0 + timedelta(minutes=7)).splitlines()
    assert lines[0].split() == ["EXECUTION", "STATUS", "STARTED", "(UTC)", "DURATION"]
    assert lines[1].split() == ["rnaseq-b", "RUNNING", "2026-03-01", "12:05:00", "2m00s",
                                "so", "far"]
    assert lines[2].split() == ["rnaseq-a", "SUCCEEDED", "2026-03-01", "12:00:00", "3m07s"]
    status_column = lines[0].index("STATUS")
    assert all(line[status_column - 2:status_column] == "  " for line in lines)


def test_recent_lists_newest_first_and_honours_the_limit() -> None:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="diamond", roleArn="arn:aws:iam::123456789012:role/r",
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
        for i in range(4):
            sfn.start_execution(stateMachineArn=arn, name=f"run-{i}", input="{}")
        runs = executions.recent(sfn, arn, limit=3)
    assert len(runs) == 3
    assert [r.started for r in runs] == sorted((r.started for r in runs), reverse=True)
    assert {r.status for r in runs} == {"RUNNING"}
