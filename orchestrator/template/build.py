"""Workflows + compiled definitions -> the SAM template (a dict). Pure: no files, no AWS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator import jobspec, model
from orchestrator.template import access, batch, description, functions, machines, refs
from orchestrator.template.cfn import TemplateError, equals, ref
from orchestrator.template.ids import (
    BUCKET_PARAM,
    QUEUE_OUTPUT,
    USE_QUEUE_PARAM,
    machine_id,
    machine_output_key,
)
from orchestrator.template.yamltext import to_yaml

LOG_RETENTION_PARAM = "LogRetentionInDays"
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653]
FARGATE_TYPES = list(jobspec.FARGATE_TYPES)
# Empty, or a job-queue ARN in any partition (aws, aws-cn, aws-us-gov).
JOB_QUEUE_ARN_PATTERN = (r"^$|^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:"
                         r"job-queue/[A-Za-z0-9_-]{1,128}$")


def _param(kind: str, description: str, default: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": kind, "Description": description}
    if default is not None:
        out["Default"] = default
    out.update(extra)
    return out


def parameters(bucket: str) -> dict[str, Any]:
    return {
        "JobQueueArn": _param(
            "String", "ARN of an existing AWS Batch job queue; leave empty when "
            "CreateComputeEnvironment is true", "",
            AllowedPattern=JOB_QUEUE_ARN_PATTERN,
            ConstraintDescription="an AWS Batch job queue ARN "
            "(arn:aws:batch:REGION:ACCOUNT:job-queue/NAME), or empty"),
        BUCKET_PARAM: _param(
            "String", "Bucket of the workflows' data, as named in the workflow files (change "
            "bucket= there and regenerate to use another)", bucket, AllowedValues=[bucket]),
        access.KMS_KEY_PARAM: _param(
            "String", "ARN of the customer-managed KMS key the data bucket is encrypted with "
            "(SSE-KMS); leave empty for S3-managed keys", "",
            AllowedPattern=access.KMS_KEY_ARN_PATTERN,
            ConstraintDescription="a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), or empty"),
        "CreateComputeEnvironment": _param(
            "String", "true: create a managed compute environment and job queue", "false",
            AllowedValues=["true", "false"]),
        "ComputeType": _param(
            "String", "What jobs run on. EC2/SPOT job definitions also suit an existing EC2 "
            "queue; FARGATE* needs a Fargate queue and has no GPUs", "SPOT",
            AllowedValues=["EC2", "SPOT", *FARGATE_TYPES]),
        "Subnets": _param("CommaDelimitedList",
                          "Subnet ids for a created compute environment", ""),
        "SecurityGroups": _param("CommaDelimitedList",
                                 "Security group ids for a created compute environment", ""),
        "MaxvCpus": _param("Number", "Upper bound of a created compute environment", 256,
                           MinValue=1),
        "AssignPublicIp": _param(
            "String", "Fargate jobs: ENABLED to pull public images from a public subnet",
            "ENABLED", AllowedValues=["ENABLED", "DISABLED"]),
        "StateMachineLogLevel": _param(
            "String", "Execution logging to CloudWatch Logs (ALL logs every state)", "ERROR",
            AllowedValues=["ALL", "ERROR", "FATAL", "OFF"]),
        LOG_RETENTION_PARAM: _param("Number", "Days to keep function, job and execution logs",
                                    30, AllowedValues=RETENTION_DAYS),
        "EventFunctionsReservedConcurrency": _param(
            "Number", "Concurrency reserved for job_events and s3_trigger each, so an event "
            "storm cannot starve other functions; 0 reserves none (needed on accounts whose "
            "concurrency limit is 10)", 5, MinValue=0),
    }


def conditions() -> dict[str, Any]:
    return {
        batch.CREATE_COMPUTE: equals(ref("CreateComputeEnvironment"), "true"),
        USE_QUEUE_PARAM: {"Fn::Not": [equals(ref("JobQueueArn"), "")]},
        batch.USE_FARGATE: {"Fn::Or": [equals(ref("ComputeType"), t) for t in FARGATE_TYPES]},
        batch.USE_SPOT: equals(ref("ComputeType"), "SPOT"),
        access.USE_KMS_KEY: {"Fn::Not": [equals(ref(access.KMS_KEY_PARAM), "")]},
        batch.CREATE_EC2_COMPUTE: {"Fn::And": [{"Condition": batch.CREATE_COMPUTE},
                                               {"Fn::Not": [{"Condition": batch.USE_FARGATE}]}]},
        functions.RESERVE_CONCURRENCY: {"Fn::Not": [
            equals(ref("EventFunctionsReservedConcurrency"), "0")]},
    }


def _assert(condition: Any, description: str) -> dict[str, Any]:
    return {"Assert": condition, "AssertDescription": description}


def rules(workflows: Sequence[model.Workflow]) -> dict[str, Any]:
    """Parameter combinations CloudFormation refuses before creating anything."""
    out: dict[str, Any] = {
        "ExistingQueue": {
            "RuleCondition": equals(ref("CreateComputeEnvironment"), "false"),
            "Assertions": [_assert(
                {"Fn::Not": [equals(ref("JobQueueArn"), "")]},
                "JobQueueArn is empty: give the ARN of an existing AWS Batch job queue, or set "
                "CreateComputeEnvironment to true")],
        },
        "CreatedCompute": {
            "RuleCondition": equals(ref("CreateComputeEnvironment"), "true"),
            "Assertions": [
                *(_assert({"Fn::Not": [{"Fn::EachMemberEquals": [ref(p), ""]}]},
                          f"{p} is empty: a created compute environment needs at least one")
                  for p in ("Subnets", "SecurityGroups")),
                _assert(equals(ref("JobQueueArn"), ""),
                        "JobQueueArn is set: leave it empty when CreateComputeEnvironment is "
                        "true (the stack creates the queue)"),
            ],
        },
    }
    not_fargate = [f"{wf.name}/{j.name}" for wf in workflows for j in wf.jobs
                   if not j.gpus and jobspec.fargate_problem(j)]
    if not_fargate:
        out["JobSizesFitFargate"] = {"Assertions": [_assert(
            {"Fn::Not": [{"Fn::Contains": [FARGATE_TYPES, ref("ComputeType")]}]},
            f"jobs {', '.join(not_fargate)} ask for a vCPU/memory pair Fargate does not offer "
            "(orchestrator validate --compute-type FARGATE lists them): use ComputeType EC2 "
            "or SPOT, or change their sizes")]}
    fractional = [f"{wf.name}/{j.name}" for wf in workflows for j in wf.jobs
                  if jobspec.ec2_problem(j)]
    if fractional:
        out["FractionalCpusNeedFargate"] = {"Assertions": [_assert(
            {"Fn::Contains": [FARGATE_TYPES, ref("ComputeType")]},
            f"jobs {', '.join(fractional)} ask for a fraction of a vCPU, which only Fargate "
            "offers: use ComputeType FARGATE or FARGATE_SPOT")]}
    gpu = [f"{wf.name}/{j.name}" for wf in workflows for j in wf.jobs if j.gpus]
    if gpu:
        out["GpuJobsNeedEc2"] = {"Assertions": [_assert(
            {"Fn::Not": [{"Fn::Contains": [FARGATE_TYPES, ref("ComputeType")]}]},
            f"jobs {', '.join(gpu)} need GPUs, which Fargate does not have: use ComputeType "
            "EC2 or SPOT")]}
    return out


def globals_(table: description.Table) -> dict[str, Any]:
    return {"Function": {
        "Runtime": functions.RUNTIME,
        "Handler": "app.handler",
        "MemorySize": 256,
        "Tracing": "Active",
        "Layers": [ref(functions.LAYER)],
        "Environment": {"Variables": {
            "TABLE_NAME": ref(table.logical_id),
            "POWERTOOLS_METRICS_NAMESPACE": "Orchestrator",
        }},
    }}


def outputs(workflows: Sequence[model.Workflow],
            stack: description.StackDescription) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for wf in workflows:
        out[machine_output_key(wf.name)] = {
            "Description": f"State machine of workflow {wf.name}",
            "Value": ref(machine_id(wf))}
    out["JobStateTableName"] = {"Description": "Job-state table",
                                "Value": ref(stack.tables[0].logical_id)}
    for fn in stack.functions:
        out[fn.logical_id + "Name"] = {"Description": f"The {fn.name} function",
                                       "Value": ref(fn.logical_id)}
    out[QUEUE_OUTPUT] = {"Description": "The job queue jobs are submitted to",
                       "Value": refs.job_queue()}
    return out


def build_template(workflows: Sequence[model.Workflow],
                   definitions: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The SAM template serving ``workflows``; ``definitions`` maps name -> ASL document."""
    return sam_template(description.describe(workflows, definitions), workflows)


def sam_template(stack: description.StackDescription,
                 workflows: Sequence[model.Workflow]) -> dict[str, Any]:
    """The SAM template of ``stack`` (described from ``workflows``)."""
    wfs = sorted(workflows, key=lambda w: w.name)
    retention = ref(LOG_RETENTION_PARAM)
    resources: dict[str, Any] = {}
    parts = [functions.table(stack.tables[0]), functions.layer(),
             functions.check_outputs(wfs, BUCKET_PARAM, retention),
             functions.job_events(wfs, stack, BUCKET_PARAM, retention),
             functions.s3_trigger(wfs, stack, BUCKET_PARAM, retention),
             batch.shared_resources(
                 retention, gpu_jobs=any(j.gpus for wf in wfs for j in wf.jobs))]
    for wf in wfs:
        parts.append(machines.resources(wf, stack, retention, BUCKET_PARAM))
        parts.append(batch.workflow_resources(wf, stack, BUCKET_PARAM))
    for part in parts:
        clash = sorted(set(part) & set(resources))
        if clash:
            raise TemplateError(f"resource id(s) {', '.join(clash)} would be generated twice: "
                                "workflow or job names differ only in punctuation; rename one")
        resources.update(part)
    names = ", ".join(wf.name for wf in wfs)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"Batch orchestrator: workflows {names} on AWS Step Functions and "
                       "AWS Batch (generated)",
        "Parameters": parameters(stack.bucket),
        "Rules": rules(wfs),
        "Conditions": conditions(),
        "Globals": globals_(stack.tables[0]),
        "Resources": resources,
        "Outputs": outputs(wfs, stack),
    }


HEADER = ("Generated by `orchestrator template`. Do not edit: change the workflow files and\n"
          "regenerate (orchestrator template FILES... -o template.yaml).")


def template_yaml(template: dict[str, Any]) -> str:
    """Deterministic YAML with the generated-file header."""
    return to_yaml(template, HEADER)

