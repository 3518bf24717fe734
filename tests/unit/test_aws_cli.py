"""`orchestrator start` and `executions` as a user types them, against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
RNASEQ = str(ROOT / "examples" / "rnaseq.py")
DIAMOND = str(ROOT / "examples" / "diamond.py")
SHEET = str(ROOT / "examples" / "data" / "rnaseq" / "samples.csv")
ROLE = "arn:aws:iam::123456789012:role/run"


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="orchestrator-demo")
        yield boto3.client("stepfunctions", region_name="us-east-1")


def machine(sfn: Any, name: str, states: dict[str, Any] | None = None) -> str:
    definition = {"StartAt": "A", "States": states or {"A": {"Type": "Succeed"}}}
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                        roleArn=ROLE)["stateMachineArn"])


def test_start_with_a_sample_sheet_prints_the_run_and_its_console_link(
        sfn: Any, capsys: pytest.CaptureFixture[str]) -> None:
    arn = machine(sfn, "rnaseq")
    assert main(["start", RNASEQ, "--samples", SHEET]) == 0
    out = capsys.readouterr().out.splitlines()
    # rnaseq runs as arrays: the checked sheet is uploaded once, content-addressed, and only
    # its URI goes in the input (no per-sample list in the execution input)
    assert out[0].startswith("sample sheet: s3://orchestrator-demo/rnaseq/_orchestrator/sheets/")
    assert out[1].startswith("started arn:aws:states:us-east-1:123456789012:execution:rnaseq:")
    assert out[2].startswith("console: https://us-east-1.console.aws.amazon.com/states/home")
    run = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    sent = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    assert "samples" not in sent
    bucket, _, key = sent["sheet"][5:].partition("/")
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)
    rows = [json.loads(line) for line in body["Body"].read().splitlines()]
    assert [r["sample_id"] for r in rows] == ["S1", "S2", "S3"] and key.endswith(".jsonl")


def test_force_and_only_go_into_the_input_checked_against_the_workflow(
        sfn: Any, capsys: pytest.CaptureFixture[str]) -> None:
    arn = machine(sfn, "rnaseq")
    assert main(["start", RNASEQ, "--samples", SHEET, "--only", "S2", "--force", "count",
                 "--force", "qc"]) == 0
    run = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    sent = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    # in the workflow's order, with what runs after them (report reads count's and qc's outputs)
    assert sent["force"] == ["qc", "count", "report"]
    assert sent["only"] == ["S2"]
    bucket, _, key = sent["sheet"][5:].partition("/")
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)
    rows = [json.loads(line)["sample_id"] for line in body["Body"].read().splitlines()]
    assert rows == ["S1", "S2", "S3"]  # whole: a gathering stage still reads every sample

    assert main(["start", RNASEQ, "--samples", SHEET, "--force", "align"]) == 2
    assert "--force align: workflow 'rnaseq' has no stage 'align'; its stages are: qc, trim, " \
           "count, report" in capsys.readouterr().err
    assert main(["start", RNASEQ, "--samples", SHEET, "--only", "S9"]) == 2
    assert "--only S9: no sample with sample_id 'S9' in the sheet" in capsys.readouterr().err


def test_a_sheet_already_in_s3_is_passed_by_its_uri(
        sfn: Any, capsys: pytest.CaptureFixture[str]) -> None:
    arn = machine(sfn, "rnaseq")
    assert main(["start", RNASEQ, "--samples", "s3://data/sheets/big.csv"]) == 0
    run = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    sent = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    assert sent == {"sheet": "s3://data/sheets/big.csv"}


def test_starting_the_same_input_again_reports_the_earlier_run(
        sfn: Any, capsys: pytest.CaptureFixture[str]) -> None:
    machine(sfn, "diamond")
    assert main(["start", DIAMOND, "--param", "top=3", "--wait", "--poll", "0.02"]) == 0
    first = capsys.readouterr().out.splitlines()[0].split()[-1]
    assert main(["start", DIAMOND, "--param", "top=3"]) == 0
    out = capsys.readouterr().out
    assert f"this input was started before: {first} (SUCCEEDED)" in out
    assert "add --rerun" in out
    assert main(["start", DIAMOND, "--param", "top=3", "--rerun"]) == 0
    assert capsys.readouterr().out.startswith("started ")


def test_wait_exits_1_and_prints_the_cause_when_the_run_fails(
        sfn: Any, capsys: pytest.CaptureFixture[str]) -> None:
    machine(sfn, "diamond", {"A": {"Type": "Fail", "Error": "SamplesFailed",
                                   "Cause": "1 of 3 samples failed: S2 (qc: exit 1)"}})
    assert main(["start", DIAMOND, "--wait", "--poll", "0.02"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out
    assert captured.err.strip() == ("diamond: FAILED: SamplesFailed 1 of 3 samples failed: "
                                    "S2 (qc: exit 1)")


def test_a_sheet_missing_the_foreach_column_stops_before_any_aws_call(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("sample,condition\nS1,control\n")
    assert main(["start", RNASEQ, "--samples", str(sheet)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {sheet}:1: no column 'sample_id' (the workflow fans out over it);"
                   " the columns are: sample, condition")


@pytest.mark.parametrize(("args", "message"), [
    (["--input", "{not json"], "--input: not valid JSON"),
    (["--input", "[1]"], "the input must be a JSON object"),
    (["--samples", "/nonexistent/sheet.csv"], "/nonexistent/sheet.csv: No such file"),
    (["--state-machine-arn", "rnaseq"], "'rnaseq' is not a state machine ARN"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    samples = [] if "--samples" in args or "--input" in args else ["--samples", SHEET]
    assert main(["start", RNASEQ, *samples, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_start_by_name_with_an_input_file(sfn: Any, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    arn = machine(sfn, "custom")
    doc = tmp_path / "input.json"
    doc.write_text('{"params": {"x": "1"}}')
    assert main(["start", "custom", "--input", f"@{doc}", "--param", "y=2"]) == 0
    run = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    sent = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    assert sent == {"params": {"x": "1", "y": "2"}}


def test_unknown_workflow_name_says_how_to_deploy(sfn: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["start", "nothing-here"]) == 1
    assert "no state machine named 'nothing-here'" in capsys.readouterr().err


def test_executions_lists_recent_runs_as_a_table(sfn: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    machine(sfn, "diamond")
    assert main(["executions", DIAMOND]) == 0
    assert capsys.readouterr().out.strip() == "no runs of diamond yet"
    for top in ("1", "2"):
        assert main(["start", DIAMOND, "--param", f"top={top}", "--wait", "--poll", "0.02"]) == 0
    capsys.readouterr()
    assert main(["executions", DIAMOND, "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["EXECUTION", "STATUS"]
    assert len(lines) == 3 and all(line.split()[1] == "SUCCEEDED" for line in lines[1:])
    assert all(line.split()[0].startswith("diamond-") for line in lines[1:])
