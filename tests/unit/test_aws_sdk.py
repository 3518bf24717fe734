"""The Step Functions Data Science SDK gets exactly our definition, and can create and run it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator import loader
from orchestrator.aws import sdk
from orchestrator.aws.errors import UsageError
from orchestrator.compiler import compile_workflow
from orchestrator.template import substitution_keys

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:{}:us-east-1:123456789012:{}"


def substitutions(definition: dict[str, Any]) -> dict[str, str]:
    values = {"CheckOutputsFunctionArn": ARN.format("lambda", "function:check-outputs"),
              "JobQueueArn": ARN.format("batch", "job-queue/jobs")}
    for key in substitution_keys(definition):
        values.setdefault(key, ARN.format("batch", f"job-definition/{key}:1"))
    return values


@pytest.fixture(scope="module")
def diamond() -> tuple[Any, dict[str, Any]]:
    wf = loader.load_one(ROOT / "examples" / "diamond.py")
    return wf, compile_workflow(wf)


def test_substitute_fills_every_placeholder_and_leaves_the_rest(
        diamond: tuple[Any, dict[str, Any]]) -> None:
    _, definition = diamond
    filled = sdk.substitute(definition, substitutions(definition))
    text = json.dumps(filled)
    assert "${" not in text and ARN.format("lambda", "function:check-outputs") in text
    assert json.dumps(definition) != text and "${" in json.dumps(definition)  # copy, not edit
    assert filled["States"].keys() == definition["States"].keys()


def test_a_missing_substitution_is_named(diamond: tuple[Any, dict[str, Any]]) -> None:
    _, definition = diamond
    values = substitutions(definition)
    del values["JobDefinitionWords"]
    with pytest.raises(UsageError, match=r"no value for \$\{JobDefinitionWords\}"):
        sdk.substitute(definition, values)


def test_sdk_workflow_creates_our_exact_definition_and_executes_it(
        diamond: tuple[Any, dict[str, Any]]) -> None:
    wf, definition = diamond
    values = substitutions(definition)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                          "lambda": {"use_docker": False}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        workflow = sdk.to_sdk_workflow(wf, definition, "arn:aws:iam::123456789012:role/run", values,
                                       client=client)
        assert json.loads(workflow.definition.to_json()) == sdk.substitute(definition, values)
        arn = workflow.create()
        stored = client.describe_state_machine(stateMachineArn=arn)
        assert stored["name"] == "diamond"
        assert json.loads(stored["definition"]) == sdk.substitute(definition, values)
        run = workflow.execute(inputs={"params": {"top": "2"}})
        scheduled = _first_task(client, run.execution_arn)
    assert scheduled["resourceType"] == "lambda"
    assert json.loads(scheduled["parameters"])["FunctionName"] == values[
        "CheckOutputsFunctionArn"]


def _first_task(client: Any, arn: str) -> dict[str, Any]:
    """The first task the run scheduled (a real run needs the local engine: tests/template)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for event in client.get_execution_history(executionArn=arn)["events"]:
            if "taskScheduledEventDetails" in event:
                details: dict[str, Any] = event["taskScheduledEventDetails"]
                return details
        time.sleep(0.05)
    raise AssertionError("the execution scheduled no task")
