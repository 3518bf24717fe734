"""One description of the stack: every reader takes its names, patterns and substitutions."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from templatekit import definitions, examples, generate, resources

from orchestrator.aws import sdk, stack
from orchestrator.compiler import asl_text, compile_workflow
from orchestrator.dsl import Workflow
from orchestrator.local import resources as local_resources
from orchestrator.local.adapter import LocalAws
from orchestrator.template import build_template, describe, description, refs, substitution_keys


def _logical(ref: description.Reference) -> str:
    assert isinstance(ref, description.FunctionArn | description.JobDefinitionArn
                      | description.StateMachineArn)
    return ref.logical_id


def test_every_placeholder_is_in_the_description_and_the_template_substitutes_it() -> None:
    defs = definitions(examples())
    desc = describe(examples(), defs)
    machines = resources(generate(examples()), "AWS::Serverless::StateMachine")
    for machine in desc.state_machines:
        assert sorted(machine.substitutions) == substitution_keys(defs[machine.workflow])
        props = machines[machine.logical_id]["Properties"]
        assert props["DefinitionSubstitutions"] == refs.cfn(dict(machine.substitutions))


_JOB = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(_JOB, min_size=1, max_size=5, unique_by=lambda n: n.replace("_", "")))
def test_any_workflow_gets_a_value_for_every_placeholder(names: list[str]) -> None:
    wf = Workflow("w", bucket="s3://b/p")
    for i, name in enumerate(names):
        wf.job(name, image="img", command=["true"], outputs={"o": f"o{i}"},
               after=names[i - 1:i])
    built = wf.build()
    definition = compile_workflow(built)
    machine = describe([built], {"w": definition}).state_machine("w")
    assert sorted(machine.substitutions) == substitution_keys(definition)
    jobs = {_logical(r) for r in machine.substitutions.values()
            if isinstance(r, description.JobDefinitionArn)}
    declared = {d.logical_id for d in describe([built], {"w": definition}).job_definitions}
    assert jobs == declared  # each job's definition, and only declared ones
    filled = sdk.substitute(definition, {k: "arn:x" for k in machine.substitutions})
    assert "${" not in json.dumps(filled)
    template = build_template([built], {"w": definition})
    subs = template["Resources"]["WStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert subs == refs.cfn(dict(machine.substitutions))


def _rewired(workflow: str) -> tuple[description.StackDescription, str, str]:
    """The examples' description with two job-definition substitutions of ``workflow``
    swapped, and the two keys."""
    desc = describe(examples(), definitions(examples()))
    machine = desc.state_machine(workflow)
    first, second = sorted(k for k, r in machine.substitutions.items()
                           if isinstance(r, description.JobDefinitionArn))[:2]
    swapped = {**machine.substitutions, first: machine.substitutions[second],
               second: machine.substitutions[first]}
    return dataclasses.replace(desc, state_machines=tuple(
        dataclasses.replace(m, substitutions=swapped) if m is machine else m
        for m in desc.state_machines)), first, second


def test_local_engine_fills_definitions_from_the_description_it_is_given(
        tmp_path: Path) -> None:
    # Would fail if local/ built its own substitution map: the rewiring would not show.
    desc, first, second = _rewired("diamond")
    machine = desc.state_machine("diamond")
    texts = {wf.name: asl_text(compile_workflow(wf)) for wf in examples()}
    handlers: dict[str, Callable[..., Any]] = {"check_outputs": lambda event, context: {}}
    with LocalAws(cores=1, log_dir=tmp_path / "logs") as aws:
        deployed = local_resources.deploy(aws, desc, texts, handlers)
        text = aws.client("stepfunctions").describe_state_machine(
            stateMachineArn=deployed.state_machines["diamond"])["definition"]
    filled = deployed.substitutions["diamond"]
    assert filled[first] == deployed.physical[_logical(machine.substitutions[first])]
    assert filled[first].split("/")[-1].startswith("diamond-")
    assert filled[first] != filled[second]
    original = describe(examples(), definitions(examples())).state_machine("diamond")
    assert filled[first] == deployed.physical[_logical(original.substitutions[second])]
    assert json.loads(text) == sdk.substitute(definitions(examples())["diamond"], filled)


def _stubbed(physical: dict[str, str], queue: str, function_arn: str
             ) -> tuple[Any, Any, list[Stubber]]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    lam = boto3.client("lambda", region_name="us-east-1")
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cfn_stub, lam_stub = Stubber(cfn), Stubber(lam)
    cfn_stub.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": k, "PhysicalResourceId": v, "ResourceType": "AWS::X::Y",
         "LastUpdatedTimestamp": now, "ResourceStatus": "CREATE_COMPLETE"}
        for k, v in physical.items()]}, {"StackName": "orch"})
    lam_stub.add_response("get_function", {"Configuration": {"FunctionArn": function_arn}},
                          {"FunctionName": physical["CheckOutputsFunction"]})
    cfn_stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "orch", "CreationTime": now, "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": "JobQueueInUse", "OutputValue": queue}]}]},
        {"StackName": "orch"})
    return cfn, lam, [cfn_stub, lam_stub]


def test_aws_helpers_resolve_substitutions_through_the_description() -> None:
    # Would fail if aws/ built its own substitution map: the rewiring would not show.
    desc, first, second = _rewired("diamond")
    machine = desc.state_machine("diamond")
    physical = {d.logical_id: f"arn:aws:batch:us-east-1:1:job-definition/{d.name}:1"
                for d in desc.job_definitions}
    physical["CheckOutputsFunction"] = "orch-CheckOutputsFunction-abc"
    queue = "arn:aws:batch:us-east-1:1:job-queue/q"
    function_arn = "arn:aws:lambda:us-east-1:1:function:orch-CheckOutputsFunction-abc"
    cfn, lam, stubs = _stubbed(physical, queue, function_arn)
    with stubs[0], stubs[1]:
        values = stack.definition_substitutions(cfn, lam, "orch", machine)
    original = describe(examples(), definitions(examples())).state_machine("diamond")
    assert values[first] == physical[_logical(original.substitutions[second])]
    assert values[second] == physical[_logical(original.substitutions[first])]
    assert "JobQueueArn" not in values  # the check function names the queue (its environment)
    assert values["CheckOutputsFunctionArn"] == function_arn
    assert sorted(values) == sorted(machine.substitutions)


def test_only_the_description_maps_placeholders_to_resources() -> None:
    # The compiler writes placeholders and validation checks them; mapping them to resources
    # is the description's alone (local/ and aws/ resolve its References).
    root = Path(__file__).resolve().parents[2] / "orchestrator"
    writers = {"compiler/stages.py", "compiler/compile.py", "checks/names.py",
               "template/description.py"}
    names = re.compile(r"\b(substitution_key|SUB_JOB_QUEUE|SUB_CHECK_FUNCTION)\b")
    found = {str(p.relative_to(root)) for p in root.rglob("*.py")
             if names.search(p.read_text())}
    assert found <= writers, found - writers
