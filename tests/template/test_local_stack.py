"""The local engine creates the stack the template declares: both read one StackDescription."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from templatekit import definitions, examples, generate

from orchestrator.compiler import asl_text, compile_workflow
from orchestrator.local import resources
from orchestrator.local.adapter import LocalAws
from orchestrator.template import describe, description

Record = dict[str, Any]


@dataclasses.dataclass
class Local:
    aws: LocalAws
    deployed: resources.Deployed
    stack: description.StackDescription
    received: list[Record]  # events job_events got, in order


def _deploy(aws: LocalAws, stack: description.StackDescription, received: list[Record]
            ) -> resources.Deployed:
    def job_events(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.extend(json.loads(r["body"]) for r in event["Records"])
        return {"batchItemFailures": []}

    texts = {wf.name: asl_text(compile_workflow(wf)) for wf in examples()}
    return resources.deploy(aws, stack, texts, {
        "check_outputs": lambda event, context: {}, "job_events": job_events})


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    stack = describe(examples(), definitions(examples()))
    received: list[Record] = []
    with LocalAws(cores=1, log_dir=tmp_path_factory.mktemp("logs")) as aws:
        yield Local(aws, _deploy(aws, stack, received), stack, received)


def _wait(ready: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _local_value(local: Local) -> Callable[[Any], Any]:
    """Evaluate the template's intrinsic functions with the local engine's resources."""
    queue = local.aws.client("batch").describe_job_queues()["jobQueues"][0]["jobQueueArn"]

    def value(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"Ref"}:
            return (local.stack.bucket if v["Ref"] == "DataBucketName"
                    else local.deployed.physical[v["Ref"]])
        if isinstance(v, dict) and set(v) == {"Fn::If"}:
            assert v["Fn::If"][0] == "UseExistingQueue"  # either branch: the queue in use
            return queue
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    return value


def test_local_job_definitions_are_the_templates_by_name_and_content(local: Local) -> None:
    declared = {r["Properties"]["JobDefinitionName"]: r["Properties"]
                for r in generate(examples())["Resources"].values()
                if r["Type"] == "AWS::Batch::JobDefinition"}
    registered = {d["jobDefinitionName"]: d for d in local.aws.client("batch")
                  .describe_job_definitions(status="ACTIVE")["jobDefinitions"]}
    assert sorted(registered) == sorted(declared)
    for name, props in declared.items():
        got = registered[name]
        assert got["tags"] == props["Tags"]  # workflow, stage and the spec digest
        assert got["timeout"]["attemptDurationSeconds"] == props["Timeout"][
            "AttemptDurationSeconds"]
        assert got["retryStrategy"]["attempts"] == props["RetryStrategy"]["Attempts"]
        assert len(got["retryStrategy"]["evaluateOnExit"]) == len(
            props["RetryStrategy"]["EvaluateOnExit"])
        container = got["containerProperties"]
        assert container["command"] == props["ContainerProperties"]["Command"]
        assert container["image"] == props["ContainerProperties"]["Image"]
        assert [(e["name"], e["value"]) for e in container["environment"]] == [
            (e["Name"], e["Value"]) for e in props["ContainerProperties"]["Environment"]]


def test_local_rules_are_the_templates_with_the_same_patterns(local: Local) -> None:
    declared = {rid: r["Properties"] for rid, r in generate(examples())["Resources"].items()
                if r["Type"] == "AWS::Events::Rule"}
    events = local.aws.client("events")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    assert sorted(rules) == sorted(declared) == [
        "BatchJobStateRule", "ExecutionStatusRule", "UploadRule"]
    value = _local_value(local)
    for name, props in declared.items():
        assert json.loads(rules[name]["EventPattern"]) == value(props["EventPattern"]), name
    machines = sorted(local.deployed.state_machines.values())
    execution = json.loads(rules["ExecutionStatusRule"]["EventPattern"])
    assert sorted(execution["detail"]["stateMachineArn"]) == machines  # the stack's only
    queue = local.aws.client("sqs").get_queue_url(QueueName="JobEventsQueue")["QueueUrl"]
    queue_arn = local.aws.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for name in ("BatchJobStateRule", "ExecutionStatusRule"):
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        assert [t["Arn"] for t in targets] == [queue_arn]
    # s3_trigger does not run locally (a local run starts its own execution)
    assert events.list_targets_by_rule(Rule="UploadRule")["Targets"] == []


def test_only_this_stacks_executions_reach_job_events(local: Local) -> None:
    # Regression: the local rule had no state-machine filter, so job_events recorded the
    # executions of any state machine in the emulator.
    ours = local.deployed.state_machines["diamond"]
    foreign = ours.replace(":diamond", ":someone-elses")
    events = local.aws.client("events")
    for arn in (foreign, ours):
        events.put_events(Entries=[{
            "Source": "aws.states", "DetailType": "Step Functions Execution Status Change",
            "Detail": json.dumps({"stateMachineArn": arn, "status": "RUNNING",
                                  "executionArn": arn.replace(":stateMachine:", ":execution:")
                                  + ":x"})}])
    _wait(lambda: any(e.get("source") == "aws.states" for e in local.received),
          "the stack's execution event")
    time.sleep(0.5)  # the foreign event, sent first, would have arrived by now
    machines = [e["detail"]["stateMachineArn"] for e in local.received
                if e.get("source") == "aws.states"]
    assert machines == [ours]


def test_every_substitution_is_filled_with_the_local_resource_it_names(local: Local) -> None:
    sfn = local.aws.client("stepfunctions")
    queue = local.aws.client("batch").describe_job_queues()["jobQueues"][0]["jobQueueArn"]
    for machine in local.stack.state_machines:
        filled = local.deployed.substitutions[machine.workflow]
        assert sorted(filled) == sorted(machine.substitutions)
        for key, ref in machine.substitutions.items():
            want = queue if isinstance(ref, description.JobQueueArn) else (
                local.deployed.physical[_logical(ref)])
            assert filled[key] == want
        text = sfn.describe_state_machine(
            stateMachineArn=local.deployed.state_machines[machine.workflow])["definition"]
        assert "${" not in text
        assert all(v in text for v in filled.values())


def _logical(ref: description.Reference) -> str:
    assert isinstance(ref, description.FunctionArn | description.JobDefinitionArn
                      | description.StateMachineArn)
    return ref.logical_id
