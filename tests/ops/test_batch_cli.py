"""`orchestrator batch ce|queue ...` against the emulator's server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from opskit import REGION, Network

from orchestrator.aws import batch_infra as infra
from orchestrator.aws.errors import AwsError, UsageError
from orchestrator.aws.facts import Queue
from orchestrator.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def create_ce(capsys: pytest.CaptureFixture[str], net: Network, name: str, kind: str,
              *extra: str) -> tuple[int, str, str]:
    args = ["batch", "ce", "create", name, "--type", kind, "--max-vcpus", "16",
            "--subnets", net.subnet, "--security-groups", net.security_group,
            "--service-role", net.service_role, "--poll", "0"]
    if kind in ("EC2", "SPOT"):
        args += ["--instance-role", net.instance_role]
    return run(capsys, *args, *extra)


def client(net: Network) -> Any:
    return boto3.client("batch", region_name=REGION, endpoint_url=net.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_create_ec2_spot_and_fargate_environments(network: Network,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert create_ce(capsys, network, "ondemand", "EC2", "--instance-types", "m5,c5")[0] == 0
    assert create_ce(capsys, network, "spot", "SPOT", "--bid-percentage", "60")[0] == 0
    code, out, _ = create_ce(capsys, network, "serverless", "FARGATE", "--disabled")
    assert code == 0 and "serverless: disabled" in out
    envs = {e["name"]: e for e in as_json(capsys, "batch", "ce", "list")["computeEnvironments"]}
    assert {n: (e["type"], e["state"]) for n, e in envs.items()} == {
        "ondemand": ("EC2", "ENABLED"), "spot": ("SPOT", "ENABLED"),
        "serverless": ("FARGATE", "DISABLED")}
    assert envs["ondemand"]["instanceTypes"] == ["m5", "c5"]
    assert envs["spot"]["instanceTypes"] == ["optimal"]
    described = client(network).describe_compute_environments(computeEnvironments=["spot"])
    resources = described["computeEnvironments"][0]["computeResources"]
    assert resources["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["bidPercentage"] == 60
    code, out, _ = run(capsys, "batch", "ce", "list")
    assert code == 0 and "ondemand" in out and "serverless" in out


def test_queue_with_priority_and_environment_order(network: Network,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "spot", "SPOT")
    create_ce(capsys, network, "ondemand", "EC2")
    code, _, err = run(capsys, "batch", "queue", "create", "main", "--priority", "10",
                       "--ce", "spot", "--ce", "ondemand", "--poll", "0")
    assert code == 0, err
    run(capsys, "batch", "queue", "create", "low", "--ce", "ondemand", "--poll", "0")
    queues = as_json(capsys, "batch", "queue", "list")["jobQueues"]
    assert [(q["name"], q["priority"], q["computeEnvironments"]) for q in queues] == [
        ("main", 10, ["spot", "ondemand"]), ("low", 1, ["ondemand"])]
    envs = {e["name"]: e["queues"] for e in
            as_json(capsys, "batch", "ce", "list")["computeEnvironments"]}
    assert envs == {"spot": ["main"], "ondemand": ["main", "low"]}


def test_enable_and_disable(network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "ondemand", "EC2")
    run(capsys, "batch", "queue", "create", "main", "--ce", "ondemand", "--poll", "0")
    assert as_json(capsys, "batch", "ce", "disable", "ondemand", "--poll", "0")["state"] == \
        "DISABLED"
    assert as_json(capsys, "batch", "queue", "disable", "main", "--poll", "0")["state"] == \
        "DISABLED"
    states = as_json(capsys, "batch", "queue", "list")["jobQueues"][0]["state"], \
        as_json(capsys, "batch", "ce", "list")["computeEnvironments"][0]["state"]
    assert states == ("DISABLED", "DISABLED")
    run(capsys, "batch", "ce", "enable", "ondemand", "--poll", "0")
    run(capsys, "batch", "queue", "enable", "main", "--poll", "0")
    assert as_json(capsys, "batch", "queue", "list")["jobQueues"][0]["state"] == "ENABLED"
    assert as_json(capsys, "batch", "ce", "list")["computeEnvironments"][0]["state"] == "ENABLED"


def test_deleting_an_attached_environment_names_the_queue(
        network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "ondemand", "EC2")
    run(capsys, "batch", "queue", "create", "main", "--ce", "ondemand", "--poll", "0")
    code, out, err = run(capsys, "batch", "ce", "delete", "ondemand", "--poll", "0")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "attached to job queue(s) main" in err
    envs = as_json(capsys, "batch", "ce", "list")["computeEnvironments"]
    assert [(e["name"], e["state"]) for e in envs] == [("ondemand", "ENABLED")]


def test_delete_disables_first_then_deletes(network: Network,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "ondemand", "EC2")
    run(capsys, "batch", "queue", "create", "main", "--ce", "ondemand", "--poll", "0")
    batch = client(network)
    calls: list[tuple[str, dict[str, Any]]] = []
    batch.meta.events.register("provide-client-params.batch.*",
                               lambda params, model, **_: calls.append((model.name, params)))
    infra.delete_queue(batch, "main", infra.Waiting(interval=0))
    infra.delete_environment(batch, "ondemand", infra.Waiting(interval=0))
    changes = [(name, p.get("state")) for name, p in calls
               if not name.startswith("Describe")]
    assert changes == [("UpdateJobQueue", "DISABLED"), ("DeleteJobQueue", None),
                       ("UpdateComputeEnvironment", "DISABLED"),
                       ("DeleteComputeEnvironment", None)]
    assert as_json(capsys, "batch", "queue", "list") == {"jobQueues": []}
    assert as_json(capsys, "batch", "ce", "list") == {"computeEnvironments": []}


def test_delete_through_the_cli(network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "serverless", "FARGATE")
    run(capsys, "batch", "queue", "create", "fq", "--ce", "serverless", "--poll", "0")
    assert as_json(capsys, "batch", "queue", "delete", "fq", "--poll", "0")["state"] == "DELETED"
    code, out, _ = run(capsys, "batch", "ce", "delete", "serverless", "--poll", "0")
    assert code == 0 and "serverless: deleted" in out
    assert as_json(capsys, "batch", "ce", "list") == {"computeEnvironments": []}


@pytest.mark.parametrize("argv,message", [
    (("batch", "ce", "enable", "nope"), "no compute environment 'nope'"),
    (("batch", "ce", "delete", "nope"), "no compute environment 'nope'"),
    (("batch", "queue", "disable", "nope"), "no job queue 'nope'"),
    (("batch", "queue", "create", "q", "--ce", "nope"), "no compute environment 'nope'"),
])
def test_unknown_names_are_one_line_errors(network: Network, capsys: pytest.CaptureFixture[str],
                                           argv: tuple[str, ...], message: str) -> None:
    code, out, err = run(capsys, *argv, "--poll", "0")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err and "list" in err


def test_mixing_fargate_and_ec2_in_a_queue_is_refused(
        network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    create_ce(capsys, network, "serverless", "FARGATE")
    create_ce(capsys, network, "ondemand", "EC2")
    code, _, err = run(capsys, "batch", "queue", "create", "q", "--ce", "serverless",
                       "--ce", "ondemand", "--poll", "0")
    assert code == 2 and "cannot mix Fargate (serverless) and EC2/SPOT (ondemand)" in err
    assert as_json(capsys, "batch", "queue", "list") == {"jobQueues": []}


def test_no_region(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                   tmp_path: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, _, err = run(capsys, "batch", "ce", "list")
    assert code == 2
    assert err == "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region\n"


def test_aws_region_alone_is_enough(monkeypatch: pytest.MonkeyPatch, network: Network,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert as_json(capsys, "batch", "ce", "list") == {"computeEnvironments": []}


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                        tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    code, _, err = run(capsys, "batch", "queue", "list")
    assert code == 2 and "no AWS credentials found" in err and err.count("\n") == 1, err


# ---------------------------------------------------------------- requests and waiting


BASE = infra.EnvironmentSpec(name="e", kind="EC2", max_vcpus=8, subnets=("s",),
                             security_groups=("g",), instance_role="arn:profile")


def test_fargate_request_has_no_instance_settings() -> None:
    from dataclasses import replace

    req = infra.environment_request(replace(BASE, kind="FARGATE", instance_role=""))
    assert req["computeResources"] == {"type": "FARGATE", "maxvCpus": 8, "subnets": ["s"],
                                       "securityGroupIds": ["g"]}
    with pytest.raises(UsageError, match="--instance-types: not used by FARGATE"):
        infra.environment_request(replace(BASE, kind="FARGATE", instance_role="",
                                          instance_types=("m5",)))
    with pytest.raises(UsageError, match="--instance-role"):
        infra.environment_request(replace(BASE, instance_role=""))
    with pytest.raises(UsageError, match="--bid-percentage: only for --type SPOT"):
        infra.environment_request(replace(BASE, bid_percentage=50))


def test_waiting_gives_up_after_the_timeout() -> None:
    now = [0.0]
    wait = infra.Waiting(timeout=30, interval=10, sleep=lambda s: now.__setitem__(0, now[0] + s),
                         clock=lambda: now[0])
    stuck = Queue("q", "arn:q", "ENABLED", "UPDATING")
    with pytest.raises(AwsError, match="still UPDATING/ENABLED after 30 s"):
        infra._settle(lambda: stuck, "job queue q", wait, "DISABLED")
    assert now[0] == 30
    settled = [Queue("q", "arn:q", "ENABLED", "UPDATING"), Queue("q", "arn:q", "DISABLED",
                                                                  "VALID")]
    infra._settle(lambda: settled.pop(0), "job queue q", infra.Waiting(sleep=lambda s: None),
                  "DISABLED")
    assert settled == []
