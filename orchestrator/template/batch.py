"""AWS Batch resources: one job definition per job, job roles, optional compute.

A job definition per job (not per image) means CloudFormation makes a new revision of a
job's definition only when that job's own properties change.
"""

from __future__ import annotations

from typing import Any

from orchestrator import model
from orchestrator.template import access, description
from orchestrator.template.cfn import (
    NO_VALUE,
    TemplateError,
    arn,
    get_att,
    if_,
    log_group,
    log_writer,
    policy,
    ref,
    role,
    statement,
    sub,
)
from orchestrator.template.ids import CREATED_QUEUE, job_role_id
from orchestrator.template.yamltext import Commented

JOB_LOG_GROUP = "JobLogGroup"
EXECUTION_ROLE = "JobExecutionRole"
COMPUTE_ENVIRONMENT = "ComputeEnvironment"
INSTANCE_ROLE = "ComputeInstanceRole"
INSTANCE_PROFILE = "ComputeInstanceProfile"

# Condition names (defined in build.py; ids.USE_QUEUE_PARAM too).
CREATE_COMPUTE = "CreateCompute"
CREATE_EC2_COMPUTE = "CreateEc2Compute"
USE_FARGATE = "UseFargate"
USE_SPOT = "UseSpot"


def job_definition(jd: description.JobDefinition, wf: model.Workflow) -> dict[str, Any]:
    container: dict[str, Any] = {
        "Image": jd.image,
        "Command": list(jd.command),
        "JobRoleArn": get_att(job_role_id(wf), "Arn"),
        "ExecutionRoleArn": if_(USE_FARGATE, get_att(EXECUTION_ROLE, "Arn"), NO_VALUE),
        "ResourceRequirements": jd.requirements(),
        "Environment": [{"Name": k, "Value": v} for k, v in jd.environment],
        "LogConfiguration": {"LogDriver": "awslogs", "Options": {
            "awslogs-group": ref(JOB_LOG_GROUP), "awslogs-stream-prefix": wf.name}},
        "FargatePlatformConfiguration": if_(USE_FARGATE, {"PlatformVersion": "LATEST"},
                                            NO_VALUE),
        "NetworkConfiguration": if_(USE_FARGATE, {"AssignPublicIp": ref("AssignPublicIp")},
                                    NO_VALUE),
    }
    return {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "JobDefinitionName": jd.name,
            "Type": "container",
            "PlatformCapabilities": if_(USE_FARGATE, ["FARGATE"], ["EC2"]),
            "ContainerProperties": container,
            "RetryStrategy": jd.retry(),
            "Timeout": {"AttemptDurationSeconds": jd.timeout_seconds},
            "Parameters": dict(jd.parameters),
            "PropagateTags": True,
            "Tags": dict(jd.tags),
        },
    }


def job_role(wf: model.Workflow, bucket_param: str) -> dict[str, Any]:
    """What a job's container may touch: its workflow's data, nothing else."""
    reads, writes = access.job_locations(wf, bucket_param)
    statements = [
        statement(["s3:GetObject"], sorted_arns(reads)),
        statement(["s3:AbortMultipartUpload", "s3:PutObject"], sorted_arns(writes)),
        # The runner removes the markers its new marker supersedes (contracts.marker_folder).
        statement(["s3:DeleteObject"], [access.meta_location(wf, bucket_param, "markers").arn()]),
        *access.list_buckets(reads | writes),
        access.kms_key(write=True),
    ]
    return role("ecs-tasks.amazonaws.com", [policy("workflow-data", statements)])


def sorted_arns(locations: set[access.Location]) -> list[Any]:
    return [loc.arn() for loc in sorted(locations)]


# A created EC2/Spot environment with only "optimal" has no GPU instances (GPU jobs would stay
# RUNNABLE): with GPU jobs it also offers these families (1-8 NVIDIA GPUs per instance; Batch
# gives GPU families its NVIDIA ECS AMI by default).
GPU_INSTANCE_FAMILIES = ("g4dn", "g5", "p3")


def instance_types(gpu_jobs: bool) -> list[str]:
    return ["optimal", *(GPU_INSTANCE_FAMILIES if gpu_jobs else ())]


def shared_resources(log_retention: Any, *, gpu_jobs: bool = False) -> dict[str, Any]:
    """The job log group, the Fargate execution role and the optional compute."""
    ecr_pull = statement(
        ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        [arn("ecr", "repository/*")])
    ecr_token = statement(
        ["ecr:GetAuthorizationToken"], "*",
        why_star="ecr:GetAuthorizationToken is account-wide and accepts only '*'; pulls are"
                 " limited to this account's repositories by the statement above.")
    return {
        JOB_LOG_GROUP: log_group(sub("/orchestrator/${AWS::StackName}/jobs"), log_retention),
        EXECUTION_ROLE: role("ecs-tasks.amazonaws.com", [policy("pull-and-log", [
            ecr_pull, ecr_token, log_writer(JOB_LOG_GROUP)])], condition=USE_FARGATE),
        INSTANCE_ROLE: role("ec2.amazonaws.com", [], condition=CREATE_EC2_COMPUTE, managed=[
            sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                "AmazonEC2ContainerServiceforEC2Role")]),
        INSTANCE_PROFILE: {"Type": "AWS::IAM::InstanceProfile", "Condition": CREATE_EC2_COMPUTE,
                           "Properties": {"Roles": [ref(INSTANCE_ROLE)]}},
        COMPUTE_ENVIRONMENT: {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Condition": CREATE_COMPUTE,
            "Metadata": {"cfn-lint": {"config": Commented(
                "W1030 reads Subnets and SecurityGroups as their empty defaults; the\n"
                "CreatedCompute rule rejects empty ones whenever this resource is created.",
                {"ignore_checks": ["W1030"]})}},
            "Properties": {
                "Type": "MANAGED",
                "State": "ENABLED",
                "ComputeResources": {
                    "Type": ref("ComputeType"),
                    "MaxvCpus": ref("MaxvCpus"),
                    "Subnets": ref("Subnets"),
                    "SecurityGroupIds": ref("SecurityGroups"),
                    "MinvCpus": if_(USE_FARGATE, NO_VALUE, 0),
                    "InstanceTypes": if_(USE_FARGATE, NO_VALUE, instance_types(gpu_jobs)),
                    "InstanceRole": if_(USE_FARGATE, NO_VALUE, get_att(INSTANCE_PROFILE, "Arn")),
                    "AllocationStrategy": if_(USE_FARGATE, NO_VALUE, if_(
                        USE_SPOT, "SPOT_PRICE_CAPACITY_OPTIMIZED", "BEST_FIT_PROGRESSIVE")),
                },
            },
        },
        CREATED_QUEUE: {
            "Type": "AWS::Batch::JobQueue",
            "Condition": CREATE_COMPUTE,
            "Properties": {
                "Priority": 1,
                "State": "ENABLED",
                "ComputeEnvironmentOrder": [
                    {"Order": 1, "ComputeEnvironment": ref(COMPUTE_ENVIRONMENT)}],
            },
        },
    }


def workflow_resources(wf: model.Workflow, stack: description.StackDescription,
                       bucket_param: str) -> dict[str, Any]:
    out: dict[str, Any] = {job_role_id(wf): job_role(wf, bucket_param)}
    for jd in stack.job_definitions_of(wf.name):
        if jd.logical_id in out:
            raise TemplateError(f"{jd.logical_id}: two jobs of workflow {wf.name!r} map to this "
                                "resource id (names that differ only in punctuation); rename one")
        out[jd.logical_id] = job_definition(jd, wf)
    return out
