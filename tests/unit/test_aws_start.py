"""Starting runs on AWS: idempotent names, finding the state machine, following a run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator import loader, samples
from orchestrator.aws import start
from orchestrator.aws.errors import AwsError, UsageError

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/run"
PASS = {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "Next": "Done"},
                                      "Done": {"Type": "Succeed"}}}
FAIL = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "StageFailed",
                                               "Cause": "stage qc failed: exit 3"}}}


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def machine(sfn: Any, name: str, definition: dict[str, Any] = PASS) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                        roleArn=ROLE)["stateMachineArn"])


def test_the_same_input_returns_the_run_already_started(sfn: Any) -> None:
    arn = machine(sfn, "diamond")
    first = start.start(sfn, arn, "diamond", {"params": {"top": "5"}})
    again = start.start(sfn, arn, "diamond", {"params": {"top": "5"}})
    assert not first.existing and again.existing
    assert again.execution_arn == first.execution_arn
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def test_key_order_of_the_input_does_not_matter(sfn: Any) -> None:
    arn = machine(sfn, "diamond")
    a = start.start(sfn, arn, "diamond", {"params": {"a": "1", "b": "2"}, "samples": []})
    b = start.start(sfn, arn, "diamond", {"samples": [], "params": {"b": "2", "a": "1"}})
    assert a.execution_arn == b.execution_arn and b.existing
    assert json.loads(a.input) == {"params": {"a": "1", "b": "2"}, "samples": []}


def test_another_input_or_a_rerun_starts_a_new_execution(sfn: Any) -> None:
    arn = machine(sfn, "diamond")
    first = start.start(sfn, arn, "diamond", {"params": {"top": "5"}})
    other = start.start(sfn, arn, "diamond", {"params": {"top": "6"}})
    rerun = start.start(sfn, arn, "diamond", {"params": {"top": "5"}}, rerun="r1")
    assert len({first.execution_arn, other.execution_arn, rerun.execution_arn}) == 3
    assert not other.existing and not rerun.existing


def test_state_machine_is_found_by_name_or_stack_output(sfn: Any) -> None:
    arn = machine(sfn, "rnaseq")
    machine(sfn, "rnaseq-old")
    assert start.state_machine_arn(sfn, "rnaseq") == arn
    outputs = {"RnaseqStateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:rnaseq"}
    assert start.state_machine_arn(sfn, "rnaseq", outputs=outputs).startswith("arn:aws:states:eu")


def test_a_missing_state_machine_says_how_to_get_one(sfn: Any) -> None:
    with pytest.raises(AwsError, match=r"no state machine named 'rnaseq'.*orchestrator deploy"):
        start.state_machine_arn(sfn, "rnaseq")
    with pytest.raises(AwsError, match="no output RnaseqStateMachineArn"):
        start.state_machine_arn(sfn, "rnaseq", outputs={"Other": "x"})


def test_wait_follows_a_run_to_its_end(sfn: Any) -> None:
    arn = machine(sfn, "diamond")
    run = start.start(sfn, arn, "diamond", {})
    seen: list[str] = []
    final = start.wait(sfn, run.execution_arn, seen.append, poll_seconds=0.02)
    assert final["status"] == "SUCCEEDED"
    assert seen[-1] == "SUCCEEDED"


def test_wait_returns_the_failure_and_its_cause(sfn: Any) -> None:
    arn = machine(sfn, "broken", FAIL)
    run = start.start(sfn, arn, "broken", {})
    final = start.wait(sfn, run.execution_arn, lambda _: None, poll_seconds=0.02)
    assert (final["status"], final["error"]) == ("FAILED", "StageFailed")
    assert "exit 3" in final["cause"]


def test_console_url_points_at_the_execution_in_its_region() -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:execution:rnaseq:rnaseq-abc"
    assert start.console_url(arn) == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{arn}")


def test_input_is_checked_against_the_workflow() -> None:
    rnaseq = loader.load_one(ROOT / "examples" / "rnaseq.py")
    diamond = loader.load_one(ROOT / "examples" / "diamond.py")
    with pytest.raises(UsageError, match="runs once per sample: give --samples"):
        samples.execution_input(rnaseq)
    with pytest.raises(UsageError, match=r"has no parameter\(s\) depth; its parameters are: top"):
        samples.execution_input(diamond, params={"depth": "2"})
    doc = samples.execution_input(diamond, base={"params": {"top": "3"}}, params={"top": "4"})
    assert doc == {"params": {"top": "4"}}


def test_a_required_parameter_must_be_given() -> None:
    import dataclasses

    from orchestrator import model

    diamond = loader.load_one(ROOT / "examples" / "diamond.py")
    needs = dataclasses.replace(diamond, params=(model.Param("genome", None, diamond.source),))
    with pytest.raises(UsageError, match=r"needs parameter.*--param genome=VALUE"):
        samples.execution_input(needs)


@pytest.mark.parametrize("bad", ["top", "=3", ""])
def test_parameters_must_be_name_equals_value(bad: str) -> None:
    with pytest.raises(UsageError, match="NAME=VALUE"):
        samples.parse_params([bad])
    assert samples.parse_params(["top=3", "x=a=b"]) == {"top": "3", "x": "a=b"}


@pytest.mark.parametrize(("rows", "problem"), [
    ({"sample_id": "S1"}, "--input: samples is an object; it must be a list of rows"),
    ([{"sample_id": "S1", "condition": "a"}, "S2"], "--input: samples[1] is a string, not a row"),
    ([{"name": "S1", "condition": "a"}], "--input: samples[0] has no 'sample_id'"),
    ([{"sample_id": "S1"}], "--input: samples[0] has no 'condition' (a job uses it)"),
    ([{"sample_id": "a/b", "condition": "a"}], "--input: samples[0].sample_id contains '/'"),
    ([{"sample_id": "S1 ", "condition": "a"}], "samples[0].sample_id has a space at its start"),
    ([{"sample_id": "..", "condition": "a"}], "--input: samples[0].sample_id is '..'"),
    ([{"sample_id": "S\n1", "condition": "a"}], "samples[0].sample_id contains the control"),
    ([{"sample_id": "S1", "condition": {"x": 1}}], "samples[0].condition is an object"),
    ([{"sample_id": "S1", "condition": "a"}, {"sample_id": "S1", "condition": "b"}],
     "--input: samples[1].sample_id: 'S1' repeats samples[0]; sample ids must be unique"),
])
def test_start_input_rows_get_the_checks_of_a_sheet_before_aws_is_contacted(
        rows: Any, problem: str) -> None:
    rnaseq = loader.load_one(ROOT / "examples" / "rnaseq.py")
    with pytest.raises(UsageError) as caught:
        samples.execution_input(rnaseq, base={"samples": rows}, source="--input")

    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unicode_and_inner_spaces_stay_valid_in_start_input() -> None:
    rnaseq = loader.load_one(ROOT / "examples" / "rnaseq.py")
    rows = [{"sample_id": "patient 7", "condition": "a"}, {"sample_id": "患者", "condition": 2}]

    assert samples.execution_input(rnaseq, base={"samples": rows})["samples"] == rows


def test_samples_for_a_workflow_without_foreach_are_refused() -> None:
    diamond = loader.load_one(ROOT / "examples" / "diamond.py")
    with pytest.raises(UsageError, match="does not fan out over samples"):
        samples.execution_input(diamond, base={"samples": [{"x": "1"}],
                                             "params": {"top": "3"}})


def test_two_stacks_of_one_workflow_each_find_their_own_state_machine(sfn: Any) -> None:
    # CloudFormation names the state machines (the template gives no Name): each stack's
    # output is the only way to its own, and its orchestrator:workflow tag names the workflow
    from orchestrator.aws import stack
    from orchestrator.aws.runs import AwsRuns

    tag = [{"key": "orchestrator:workflow", "value": "rnaseq"}]
    arns = [str(sfn.create_state_machine(name=n, definition=json.dumps(PASS), roleArn=ROLE,
                                         tags=tag)["stateMachineArn"])
            for n in ("RnaseqStateMachine-a1B2c3D4e5F6", "RnaseqStateMachine-Z9y8X7w6V5u4")]
    for arn in arns:
        outputs = {"RnaseqStateMachineArn": arn, "JobStateTableName": "t"}
        assert start.state_machine_arn(sfn, "rnaseq", outputs=outputs) == arn
        runs = AwsRuns(sfn=sfn, table=None, batch=None, logs=None,
                       machines=stack.machine_arns(outputs))
        assert runs.state_machines("rnaseq") == [{"stateMachineArn": arn, "name": "rnaseq"}]
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    assert stack.outputs_if_any(cfn, "orchestrator") is None  # no stack: look by name
    with pytest.raises(AwsError, match="stack 'orchestrator' does not exist"):
        start.state_machine_arn(sfn, "rnaseq", stack="orchestrator")


@pytest.mark.parametrize(("details", "label"), [
    ({"name": "Run the job (trim branch)", "input": '{"check": {"stage": "count"}}'},
     "Run the job (trim branch): count"),
    ({"name": "Verify the outputs", "input": '{"check": {"stage": "report", "x": 1}}'},
     "Verify the outputs: report"),
    # a stage's own state names it; its input still holds the stage before it
    ({"name": "Check count", "input": '{"check": {"stage": "trim"}}'}, "Check count"),
    ({"name": "Run the job", "input": "not json"}, "Run the job"),
    ({"name": "Run the job", "input": '["a list"]'}, "Run the job"),
    ({"name": "Run the job", "input": '{"check": {"Error": "States.ALL"}}'}, "Run the job"),
    ({"name": "Run the jobs"}, "Run the jobs"),
])
def test_following_a_run_names_the_stage_a_shared_state_runs(details: dict[str, Any],
                                                              label: str) -> None:
    assert start.state_label(details) == label
