"""What a deployed stack holds: its outputs and the ARNs its definitions are filled with."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestrator import model
from orchestrator.aws.errors import AwsError
from orchestrator.template import ids, placeholders
from orchestrator_runtime import contracts as c


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise AwsError(f"stack {stack!r}: {exc.response['Error']['Message']}; deploy it first "
                       "(orchestrator deploy --stack-name NAME FILES...)") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def resources(cfn: Any, stack: str) -> dict[str, str]:
    """Logical id -> physical id of every resource (DescribeStackResources stops at 100)."""
    found: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            if r.get("LogicalResourceId") and r.get("PhysicalResourceId"):
                found[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    return found


def definition_substitutions(cfn: Any, lam: Any, stack: str, wf: model.Workflow,
                             definition: dict[str, Any]) -> dict[str, str]:
    """The value CloudFormation gives each ``${...}`` of ``definition`` in ``stack``: what
    DefinitionSubstitutions does, for creating the same state machine another way."""
    out_values = outputs(cfn, stack)
    physical = resources(cfn, stack)

    def resource(logical: str) -> str:
        if logical not in physical:
            raise AwsError(f"stack {stack!r} has no resource {logical}: redeploy it with "
                           f"workflow {wf.name!r}")
        return str(physical[logical])

    values: dict[str, str] = {}
    for key in placeholders(definition):
        if key == c.SUB_CHECK_FUNCTION:
            name = resource(ids.function_id("check_outputs"))
            values[key] = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        elif key == c.SUB_JOB_QUEUE:
            values[key] = out_values[ids.QUEUE_OUTPUT]
        else:
            job = next((j for j in wf.jobs
                        if c.substitution_key("JobDefinition", j.name) == key), None)
            if job is None:
                raise AwsError(f"{c.substitution(key)} in the definition of {wf.name!r} names "
                               "no job of that workflow")
            values[key] = resource(ids.job_definition_id(wf, job))
    return values
