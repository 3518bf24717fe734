"""What a deployed stack holds: its outputs and the ARNs its definitions are filled with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from orchestrator.aws.errors import AwsError
from orchestrator.template import description as d
from orchestrator.template import ids


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise AwsError(f"stack {stack!r}: {exc.response['Error']['Message']}; deploy it first "
                       "(orchestrator deploy --stack-name NAME FILES...)") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def outputs_if_any(cfn: Any, stack: str) -> dict[str, str] | None:
    """The stack's outputs, None when there is no such stack (or it cannot be read)."""
    try:
        return outputs(cfn, stack)
    except AwsError:
        return None


def machine_arns(stack_outputs: Mapping[str, str]) -> list[str]:
    """The ARNs of the stack's state machines (one output per workflow)."""
    return [v for k, v in sorted(stack_outputs.items()) if ids.is_machine_output_key(k)]


def resources(cfn: Any, stack: str) -> dict[str, str]:
    """Logical id -> physical id of every resource (DescribeStackResources stops at 100)."""
    found: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            if r.get("LogicalResourceId") and r.get("PhysicalResourceId"):
                found[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    return found


class StackResolver:
    """Values of the description's References in a deployed stack: what CloudFormation gave
    them (read once, on first use)."""

    def __init__(self, cfn: Any, lam: Any, stack: str) -> None:
        self._cfn, self._lam, self._stack = cfn, lam, stack
        self._outputs: dict[str, str] | None = None
        self._physical: dict[str, str] | None = None

    def _output(self, key: str) -> str:
        if self._outputs is None:
            self._outputs = outputs(self._cfn, self._stack)
        if key not in self._outputs:
            raise AwsError(f"stack {self._stack!r} has no output {key}: redeploy it with this "
                           "version of orchestrator")
        return self._outputs[key]

    def _resource(self, logical: str) -> str:
        if self._physical is None:
            self._physical = resources(self._cfn, self._stack)
        if logical not in self._physical:
            raise AwsError(f"stack {self._stack!r} has no resource {logical}: redeploy it with "
                           "the workflow files it should serve")
        return self._physical[logical]

    def __call__(self, reference: d.Reference) -> str:
        match reference:
            case d.JobQueueArn():
                return self._output(ids.QUEUE_OUTPUT)
            case d.BucketName():
                stacks = self._cfn.describe_stacks(StackName=self._stack)["Stacks"]
                params = {p["ParameterKey"]: p["ParameterValue"]
                          for p in stacks[0].get("Parameters", [])}
                return str(params[ids.BUCKET_PARAM])
            case d.FunctionArn(logical):
                name = self._resource(logical)
                return str(self._lam.get_function(FunctionName=name)["Configuration"]
                           ["FunctionArn"])
            case d.JobDefinitionArn(logical) | d.StateMachineArn(logical):
                return self._resource(logical)  # their physical id is the ARN


def definition_substitutions(cfn: Any, lam: Any, stack: str,
                             machine: d.StateMachine) -> dict[str, str]:
    """The value CloudFormation gives each ``${...}`` of ``machine``'s definition in
    ``stack``: what DefinitionSubstitutions does, for creating the same state machine another
    way. ``machine`` comes from :func:`orchestrator.template.describe`."""
    resolve = StackResolver(cfn, lam, stack)
    return {key: resolve(ref) for key, ref in machine.substitutions.items()}
