"""The stack of a :class:`~orchestrator.template.description.StackDescription`, created in the
embedded engine: what template.yaml creates, read from the same description, so names, event
patterns and substitutions cannot drift from the template.

Local stand-ins: one UNMANAGED compute environment and queue (the queue reference resolves
to it), resources named by their logical ids (CloudFormation would add the stack's name and
a suffix), and a rule whose function runs locally and consumes an SQS queue delivers to that
queue, even where AWS targets the function itself (moto's EventBridge delivers to SQS only,
gap 4). Any other rule (the upload rule: a local run starts its own execution) is registered
with no target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from orchestrator.errors import OrchestratorError
from orchestrator.local import casing
from orchestrator.local.adapter import LocalAws
from orchestrator.template import description as d
from orchestrator_runtime import contracts as c

LOCAL_QUEUE = "local"


class LocalStackError(OrchestratorError):
    """The description names something the local engine did not create."""


@dataclass(frozen=True)
class Deployed:
    state_machines: dict[str, str]  # workflow -> state machine ARN
    tables: dict[str, Any]  # logical id -> boto3 Table
    physical: dict[str, str]  # logical id -> what the engine created (ARN or name)
    substitutions: dict[str, dict[str, str]]  # workflow -> ${Key} -> value it was filled with

    @property
    def table(self) -> Any:
        """The job-state table (the stack's only table)."""
        (table,) = self.tables.values()
        return table


def table_name(table: d.Table) -> str:
    return table.logical_id


def register_parameters(jd: d.JobDefinition) -> dict[str, Any]:
    """RegisterJobDefinition parameters of ``jd``, in the API's spelling."""
    params = jd.register_parameters()
    casing.to_api(params, casing.operation("batch", "registerJobDefinition").input_shape)
    return params


@dataclass(frozen=True)
class Resolver:
    """Local values of the description's References."""

    physical: Mapping[str, str]
    job_queue: str
    bucket: str

    def __call__(self, reference: d.Reference) -> str:
        match reference:
            case d.JobQueueArn():
                return self.job_queue
            case d.BucketName():
                return self.bucket
            case d.FunctionArn(lid) | d.JobDefinitionArn(lid) | d.StateMachineArn(lid):
                if lid not in self.physical:
                    raise LocalStackError(f"{lid} is not run by the local engine")
                return self.physical[lid]


def deploy(aws: LocalAws, stack: d.StackDescription, definitions: Mapping[str, str],
           handlers: Mapping[str, Callable[..., Any]]) -> Deployed:
    """Create ``stack``: ``definitions`` maps workflow -> compiled ASL text, ``handlers`` maps
    function name (``check_outputs``...) -> the handler run for it."""
    aws.client("s3").create_bucket(Bucket=stack.bucket)
    role = aws.client("iam").create_role(
        RoleName="orchestrator-local", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "batch.amazonaws.com"}}],
        }))["Role"]["Arn"]
    batch = aws.client("batch")
    env = batch.create_compute_environment(computeEnvironmentName=LOCAL_QUEUE,
                                           type="UNMANAGED", state="ENABLED", serviceRole=role)
    queue = batch.create_job_queue(
        jobQueueName=LOCAL_QUEUE, state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
    )["jobQueueArn"]
    aws.set_function_env({c.JOB_QUEUE_ENV: queue})  # the template sets it on check_outputs
    physical: dict[str, str] = {}
    for fn in stack.functions:  # invoked directly (by state machines); the rest via queues
        if fn.name in handlers and fn.queue is None:
            physical[fn.logical_id] = aws.register_lambda(fn.logical_id, handlers[fn.name])
    for jd in stack.job_definitions:
        physical[jd.logical_id] = batch.register_job_definition(
            **register_parameters(jd))["jobDefinitionArn"]
    tables = {t.logical_id: _table(aws, t) for t in stack.tables}
    resolve = Resolver(physical, queue, stack.bucket)
    sfn = aws.client("stepfunctions")
    machines: dict[str, str] = {}
    filled: dict[str, dict[str, str]] = {}
    for machine in stack.state_machines:
        if machine.workflow not in definitions:
            continue
        values = {key: resolve(ref) for key, ref in machine.substitutions.items()}
        text = _substitute(definitions[machine.workflow], values)
        arn = sfn.create_state_machine(name=machine.name, definition=text, roleArn=role,
                                       type="STANDARD")["stateMachineArn"]
        physical[machine.logical_id] = machines[machine.workflow] = arn
        filled[machine.workflow] = values
    _rules(aws, stack, resolve, handlers)
    return Deployed(machines, tables, physical, filled)


def _substitute(text: str, values: Mapping[str, str]) -> str:
    """What DefinitionSubstitutions does to the definition's text."""
    return c.substitute(text, values)


def _table(aws: LocalAws, spec: d.Table) -> Any:
    dynamodb = boto3.resource("dynamodb", endpoint_url=aws.endpoint_url, region_name=aws.region)
    keys = [spec.partition_key, spec.sort_key]
    table = dynamodb.create_table(
        TableName=table_name(spec), BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": spec.partition_key, "KeyType": "HASH"},
                   {"AttributeName": spec.sort_key, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys])
    table.wait_until_exists()
    table.meta.client.update_time_to_live(
        TableName=table_name(spec),
        TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute})
    return table


def _rules(aws: LocalAws, stack: d.StackDescription, resolve: Resolver,
           handlers: Mapping[str, Callable[..., Any]]) -> None:
    sqs, events = aws.client("sqs"), aws.client("events")
    queues: dict[str, str] = {}  # function logical id -> ARN of the queue feeding it
    for rule in stack.rules:
        events.put_rule(Name=rule.logical_id, Description=rule.description, State="ENABLED",
                        EventPattern=json.dumps(d.resolve_references(dict(rule.pattern), resolve)))
        fn = stack.function(rule.function)
        if fn.name not in handlers or fn.queue is None:
            continue
        if fn.logical_id not in queues:
            url = sqs.create_queue(QueueName=fn.queue)["QueueUrl"]
            queues[fn.logical_id] = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            aws.deliver_rule_to(url, handlers[fn.name])
        events.put_targets(Rule=rule.logical_id,
                           Targets=[{"Id": rule.target, "Arn": queues[fn.logical_id]}])
