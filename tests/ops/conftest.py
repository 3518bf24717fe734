"""The emulator's server for the batch commands: moto's ThreadedMotoServer on 127.0.0.1 at a
free port, reached through AWS_ENDPOINT_URL (boto3 honours it, so the CLI runs unchanged)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from opskit import REGION, Network


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def network(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    """A fresh emulator state with what compute environments need; the CLI points at it."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=moto_server)
    iam = session.client("iam", endpoint_url=moto_server)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="batch", Description="batch",
                                   VpcId=vpc)["GroupId"]
    trust = '{"Version":"2012-10-17","Statement":[]}'
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=trust)["Role"]
    iam.create_role(RoleName="ecs-instance", AssumeRolePolicyDocument=trust)
    profile = iam.create_instance_profile(InstanceProfileName="ecs-instance")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="ecs-instance", RoleName="ecs-instance")
    yield Network(moto_server, subnet, sg, role["Arn"], profile["Arn"])
