"""Shared values of the operations tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"


@dataclass(frozen=True)
class Network:
    endpoint: str
    subnet: str
    security_group: str
    service_role: str
    instance_role: str


def fargate_queue(session: Any, *, vcpus: str, memory: str) -> str:
    """In moto: a Fargate environment "env" behind job queue "queue", and job definition
    "align" asking for ``vcpus`` and ``memory`` (MiB). Returns the service role's ARN."""
    ec2, iam, batch = session.client("ec2"), session.client("iam"), session.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
    trust = '{"Version":"2012-10-17","Statement":[]}'
    role: str = iam.create_role(RoleName="svc", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    batch.create_compute_environment(
        computeEnvironmentName="env", type="MANAGED", state="ENABLED", serviceRole=role,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet],
                          "securityGroupIds": [sg]})
    batch.create_job_queue(jobQueueName="queue", state="ENABLED", priority=1,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "env"}])
    batch.register_job_definition(jobDefinitionName="align", type="container",
                                  containerProperties={
        "image": "busybox", "command": ["true"],
        "resourceRequirements": [{"type": "VCPU", "value": vcpus},
                                 {"type": "MEMORY", "value": memory}]})
    return role
