"""The AWS resources of one workflow, created in the embedded engine as template.yaml would:
bucket, job queue, one job definition per job, job-state table, the Batch-event rule -> SQS
-> job_events path, the check function, and the state machine with its substitutions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from orchestrator import jobspec, model
from orchestrator.local import casing
from orchestrator.local.adapter import LocalAws
from orchestrator_runtime import contracts as c
from orchestrator_runtime import jobstate

TABLE = "orchestrator-jobs"
CHECK_FUNCTION = "orchestrator-check-outputs"


@dataclass(frozen=True)
class Deployed:
    state_machine_arn: str
    table: Any
    substitutions: dict[str, str]


def job_definition(wf: model.Workflow, job: model.Job) -> dict[str, Any]:
    """RegisterJobDefinition parameters, in the API's spelling."""
    params: dict[str, Any] = {
        "JobDefinitionName": f"{wf.name}-{job.name}",
        "Type": "container",
        "ContainerProperties": {
            "Image": job.image,
            "Command": jobspec.container_command(),
            "ResourceRequirements": jobspec.resource_requirements(job),
        },
        "RetryStrategy": jobspec.retry_strategy(job),
        "Timeout": {"AttemptDurationSeconds": job.timeout_seconds},
        "PropagateTags": True,
    }
    casing.to_api(params, casing.operation("batch", "registerJobDefinition").input_shape)
    return params


def deploy(aws: LocalAws, wf: model.Workflow, definition: str,
           check_handler: Callable[..., Any], events_handler: Callable[..., Any]) -> Deployed:
    aws.client("s3").create_bucket(Bucket=wf.bucket_name)
    role = aws.client("iam").create_role(
        RoleName="orchestrator-local", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "batch.amazonaws.com"}}],
        }))["Role"]["Arn"]
    batch = aws.client("batch")
    env = batch.create_compute_environment(computeEnvironmentName="local", type="UNMANAGED",
                                           state="ENABLED", serviceRole=role)
    queue = batch.create_job_queue(
        jobQueueName="local", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
    )["jobQueueArn"]
    subs = {c.SUB_JOB_QUEUE: queue,
            c.SUB_CHECK_FUNCTION: aws.register_lambda(CHECK_FUNCTION, check_handler)}
    for job in wf.jobs:
        arn = batch.register_job_definition(**job_definition(wf, job))["jobDefinitionArn"]
        subs[c.substitution_key("JobDefinition", job.name)] = arn
    dynamodb = boto3.resource("dynamodb", endpoint_url=aws.endpoint_url, region_name=aws.region)
    table = jobstate.create_table(dynamodb, TABLE)
    _events_to_queue(aws, queue, events_handler)
    text = c.substitute(definition, subs)
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(name=wf.name, definition=text, roleArn=role,
                                   type="STANDARD")["stateMachineArn"]
    return Deployed(arn, table, subs)


def _events_to_queue(aws: LocalAws, job_queue: str, handler: Callable[..., Any]) -> None:
    """Batch and Step Functions status events -> SQS -> job_events, as on AWS (there the
    execution events go to the function directly; one queue keeps the local path simple)."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="orchestrator-job-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    queue_arn = arn["Attributes"]["QueueArn"]
    patterns = {
        "batch-job-state": c.BATCH_JOB_STATE_CHANGE.pattern({"jobQueue": [job_queue]}),
        "execution-status": c.EXECUTION_STATUS_CHANGE.pattern(),
    }
    for name, pattern in patterns.items():
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    aws.deliver_rule_to(url, handler)
