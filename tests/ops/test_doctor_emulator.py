"""`orchestrator doctor` against the emulator: one scenario per rule, built with real Batch
calls (environments, queues, job definitions, SubmitJob) and job-state rows written by the
same code the job_events Lambda runs.

Emulator gaps worked around here (moto 5.2.5), each in one helper:
- jobs never wait: with Docker off a job is SUCCEEDED on submission, with no status reason or
  attempt detail. ``Emulator.hold`` pins its status through moto's state manager (manual
  progression) and sets the reason and attempts on moto's job object.
- a compute environment is always VALID: ``Emulator.invalidate`` patches
  DescribeComputeEnvironments.
- jobStateTimeLimitActions are accepted by CreateJobQueue/UpdateJobQueue but not stored or
  described, so a queue that has them is covered by the pure rule tests only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.batch.models import BatchBackend, batch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager
from opskit import REGION

from orchestrator.aws import collect, doctor
from orchestrator.cli import main
from orchestrator_runtime import contracts, jobstate
from orchestrator_runtime.events import ExecutionEvent, JobEvent

TABLE = "jobs"
EXECUTION = f"arn:aws:states:{REGION}:{DEFAULT_ACCOUNT_ID}:execution:rnaseq:run-1"


@dataclass
class Emulator:
    session: boto3.Session
    subnet: str
    sg: str
    service_role: str
    instance_role: str
    table: Any
    invalid: dict[str, str] = field(default_factory=dict)

    @property
    def batch(self) -> Any:
        return self.session.client("batch")

    def ce(self, name: str, kind: str = "EC2", types: tuple[str, ...] = ("optimal",),
           max_vcpus: int = 64, state: str = "ENABLED") -> None:
        resources: dict[str, Any] = {"type": kind, "maxvCpus": max_vcpus,
                                     "subnets": [self.subnet], "securityGroupIds": [self.sg]}
        if kind in ("EC2", "SPOT"):
            resources.update(minvCpus=0, instanceTypes=list(types),
                             instanceRole=self.instance_role)
        self.batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED", state=state,
            computeResources=resources, serviceRole=self.service_role)

    def queue(self, name: str, *envs: str, state: str = "ENABLED") -> None:
        self.batch.create_job_queue(
            jobQueueName=name, state=state, priority=1,
            computeEnvironmentOrder=[{"order": i + 1, "computeEnvironment": e}
                                     for i, e in enumerate(envs)])

    def definition(self, name: str, vcpus: str = "1", memory: str = "2048", gpus: int = 0,
                   platform: str = "EC2") -> None:
        rr = [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}]
        if gpus:
            rr.append({"type": "GPU", "value": str(gpus)})
        props: dict[str, Any] = {"image": "busybox", "command": ["true"],
                                 "resourceRequirements": rr}
        if platform == "FARGATE":
            props["executionRoleArn"] = self.service_role
        self.batch.register_job_definition(jobDefinitionName=name, type="container",
                                           containerProperties=props,
                                           platformCapabilities=[platform])

    def submit(self, sample: str, queue: str, definition: str, *, stage: str = "align",
               depends_on: tuple[str, ...] = (), record: bool = True) -> str:
        job_id = str(self.batch.submit_job(
            jobName=f"{stage}-{sample}", jobQueue=queue, jobDefinition=definition,
            dependsOn=[{"jobId": d} for d in depends_on])["jobId"])
        if record:
            self.record(stage, sample, job_id, "SUCCEEDED")
        return job_id

    def hold(self, job_id: str, status: str, reason: str = "",
             attempts: tuple[dict[str, Any], ...] = ()) -> None:
        job = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs[job_id]
        job.status = status
        job.job_stopped_reason = reason or None
        job.attempts = list(attempts)
        row = next(r for r in jobstate.read_execution(self.table, EXECUTION)[1]
                   if r["job_id"] == job_id)
        self.record(row["stage"], row["sample"], job_id, status, reason, later=True)

    def record(self, stage: str, sample: str, job_id: str, status: str, reason: str = "",
               later: bool = False) -> None:
        when = datetime(2026, 1, 1, 12, 0, 1 if later else 0, tzinfo=UTC)
        jobstate.apply_job_event(self.table, JobEvent(
            execution=EXECUTION, workflow="rnaseq", stage=stage, sample=sample, job_id=job_id,
            job_name=f"{stage}-{sample}", status=status, status_reason=reason, attempts=0,
            time=when, event_id=f"{job_id}-{status}",
            created_ms=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)))

    def invalidate(self, name: str, reason: str) -> None:
        self.invalid[name] = reason

    def diagnose(self) -> list[doctor.Diagnosis]:
        facts = collect.collect(self.batch, EXECUTION,
                                collect.run_rows(self.table, EXECUTION))
        return doctor.diagnose(facts)


@dataclass(frozen=True)
class World:
    session: boto3.Session
    subnet: str
    sg: str
    service_role: str
    instance_profile: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One emulator per module (moto's EC2 backend is slow to build); each test resets Batch."""
    with mock_aws(config={"batch": {"use_docker": False}}):
        state_manager.set_transition("batch::job", {"progression": "manual", "times": 10**9})
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        ec2, iam = session.client("ec2"), session.client("iam")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
        trust = '{"Version":"2012-10-17","Statement":[]}'
        role = iam.create_role(RoleName="svc", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.create_role(RoleName="inst", AssumeRolePolicyDocument=trust)
        profile = iam.create_instance_profile(InstanceProfileName="inst")["InstanceProfile"]
        try:
            yield World(session, subnet, sg, role, profile["Arn"])
        finally:
            state_manager.unset_transition("batch::job")


@pytest.fixture
def emu(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    batch_backends[DEFAULT_ACCOUNT_ID][REGION].reset()
    dynamodb = world.session.resource("dynamodb")
    table = jobstate.create_table(dynamodb, TABLE)
    jobstate.apply_execution_event(table, ExecutionEvent(
        execution=EXECUTION, state_machine="rnaseq", name="run-1", status="RUNNING",
        time=datetime(2026, 1, 1, tzinfo=UTC), start_date=None, stop_date=None,
        error=None, cause=None))
    e = Emulator(world.session, world.subnet, world.sg, world.service_role,
                 world.instance_profile, table)
    original = BatchBackend.describe_compute_environments

    def describe(self: BatchBackend, environments: list[str] | None = None
                 ) -> list[dict[str, Any]]:
        found = original(self, environments)
        for env in found:
            if env["computeEnvironmentName"] in e.invalid:
                env.update(status="INVALID",
                           statusReason=e.invalid[env["computeEnvironmentName"]])
        return found

    monkeypatch.setattr(BatchBackend, "describe_compute_environments", describe)
    try:
        yield e
    finally:
        table.delete()
        for name in world.session.client("cloudformation").list_stacks()["StackSummaries"]:
            if name["StackStatus"] != "DELETE_COMPLETE":
                world.session.client("cloudformation").delete_stack(
                    StackName=name["StackName"])


def rules(found: list[doctor.Diagnosis]) -> dict[str, doctor.Diagnosis]:
    return {d.rule: d for d in found}


def test_healthy_run(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.submit("s1", "q", "align")
    assert emu.diagnose() == []


def test_ce_disabled(emu: Emulator) -> None:
    emu.ce("ec2", state="DISABLED")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE")
    found = rules(emu.diagnose())
    assert found["ce-disabled"].subjects == ("align/s1",)
    assert found["ce-disabled"].fix == "orchestrator batch ce enable ec2"
    assert "time-limit" in found  # waiting for capacity without a time-limit action


def test_ce_invalid(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE")
    emu.invalidate("ec2", "CLIENT_ERROR - The instance profile does not exist")
    assert "instance profile does not exist" in rules(emu.diagnose())["ce-invalid"].why


def test_queue_disabled(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE")
    emu.batch.update_job_queue(jobQueue="q", state="DISABLED")
    assert rules(emu.diagnose())["queue-disabled"].fix == "orchestrator batch queue enable q"


def test_too_large_for_every_instance_type(emu: Emulator) -> None:
    emu.ce("small", types=("m5.large", "c5.xlarge"), max_vcpus=256)
    emu.queue("q", "small")
    emu.definition("big", vcpus="8", memory="30000")
    emu.hold(emu.submit("s1", "q", "big"), "RUNNABLE")
    why = rules(emu.diagnose())["too-large"].why
    assert "largest instances are c5.xlarge (4 vCPU, 8192 MiB)" in why


def test_too_large_for_max_vcpus(emu: Emulator) -> None:
    emu.ce("capped", max_vcpus=4)
    emu.queue("q", "capped")
    emu.definition("big", vcpus="8", memory="8000")
    emu.hold(emu.submit("s1", "q", "big"), "RUNNABLE")
    assert "capped has maxvCpus 4" in rules(emu.diagnose())["too-large"].why


def test_fargate_job_on_ec2_queue(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("fg", vcpus="1", memory="2048", platform="FARGATE")
    emu.hold(emu.submit("s1", "q", "fg"), "RUNNABLE")
    assert "is for FARGATE" in rules(emu.diagnose())["platform-mismatch"].why


def test_fargate_size(emu: Emulator) -> None:
    emu.ce("fargate", kind="FARGATE")
    emu.queue("q", "fargate")
    emu.definition("fg", vcpus="1", memory="16384", platform="FARGATE")
    emu.hold(emu.submit("s1", "q", "fg"), "RUNNABLE")
    assert "is not a Fargate size" in rules(emu.diagnose())["fargate-size"].why


def test_gpu_job_without_gpu_instances(emu: Emulator) -> None:
    emu.ce("ec2", types=("optimal",))
    emu.queue("q", "ec2")
    emu.definition("gpu", vcpus="4", memory="8000", gpus=1)
    emu.hold(emu.submit("s1", "q", "gpu"), "RUNNABLE")
    assert "asks for 1 GPU" in rules(emu.diagnose())["gpu-no-instances"].why


def test_unknown_instance_type(emu: Emulator) -> None:
    emu.ce("ec2", types=("x1e.32xlarge",))
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE")
    found = rules(emu.diagnose())
    assert "x1e.32xlarge" in found["unknown-instance-type"].why and "too-large" not in found


def test_image_pull_failure(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    emu.hold(emu.submit("s1", "q", "align"), "FAILED", "Task failed to start",
             ({"container": {"reason": reason}, "statusReason": "Task failed to start"},))
    assert "manifest has been retried" in rules(emu.diagnose())["image-pull"].why


def test_spot_reclaims(emu: Emulator) -> None:
    emu.ce("spot", kind="SPOT")
    emu.queue("q", "spot")
    emu.definition("align")
    reclaimed = {"container": {}, "statusReason": "Host EC2 (instance i-0abc) terminated."}
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE", "", (reclaimed, reclaimed))
    assert rules(emu.diagnose())["spot-reclaim"].why.startswith("2 attempt(s)")


def test_waiting_on_a_failed_dependency(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    first = emu.submit("s1", "q", "align", stage="index")
    second = emu.submit("s1", "q", "align", stage="count", depends_on=(first,))
    emu.hold(first, "FAILED", "Essential container in task exited",
             ({"container": {"exitCode": 1}, "statusReason": "exited"},))
    emu.hold(second, "PENDING")
    found = rules(emu.diagnose())["failed-dependency"]
    assert found.subjects == ("count/s1",) and f"index/s1 ({first})" in found.why


def test_repeated_failure(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    attempt = {"container": {"exitCode": 3}, "statusReason": "Essential container exited"}
    emu.hold(emu.submit("s1", "q", "align"), "FAILED", "", (attempt, attempt, attempt))
    assert "exit codes 3, 3, 3" in rules(emu.diagnose())["repeated-failure"].why


def test_batch_status_reason_and_time_limit(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE",
             "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity")
    found = rules(emu.diagnose())
    assert "Batch says" in found["batch-status-reason"].why
    fix = found["time-limit"].fix
    actions = json.loads(fix[fix.index("'") + 1: fix.rindex("'")])
    assert {a["reason"] for a in actions} == set(doctor.TIME_LIMIT_REASONS)
    # the suggested command is a valid UpdateJobQueue request (botocore checks the shape)
    emu.batch.update_job_queue(jobQueue="q", jobStateTimeLimitActions=actions)


# ---------------------------------------------------------------- collection and the CLI


def test_describe_jobs_in_pages_of_100(emu: Emulator) -> None:
    emu.ce("ec2")
    emu.queue("q", "ec2")
    emu.definition("align")
    with emu.table.batch_writer() as rows:  # the job_events row shape, written in bulk
        for i in range(101):
            job_id = emu.submit(f"s{i}", "q", "align", record=False)
            rows.put_item(Item={"pk": EXECUTION, "sk": contracts.job_sk("align", f"s{i}"),
                                "stage": "align", "sample": f"s{i}", "job_id": job_id,
                                "status": "SUCCEEDED"})
    batch = emu.batch
    sizes: list[int] = []
    batch.meta.events.register("provide-client-params.batch.DescribeJobs",
                               lambda params, **_: sizes.append(len(params["jobs"])))
    facts = collect.collect(batch, EXECUTION, collect.run_rows(emu.table, EXECUTION))
    assert sorted(sizes) == [1, 100] and len(facts.jobs) == 101


def test_rows_batch_forgot_keep_what_the_table_knows(emu: Emulator) -> None:
    emu.record("align", "s9", "gone-1234", "FAILED", "Essential container exited")
    facts = collect.collect(emu.batch, EXECUTION, collect.run_rows(emu.table, EXECUTION))
    assert [(j.job_id, j.status, j.in_batch, j.label) for j in facts.jobs] == [
        ("gone-1234", "FAILED", False, "align/s9")]


def test_run_by_name(emu: Emulator) -> None:
    assert collect.execution_arn(emu.table, "run-1") == EXECUTION
    with pytest.raises(Exception, match="no execution named 'nope'"):
        collect.execution_arn(emu.table, "nope")


def test_cli_table_json_and_exit_codes(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu.ce("ec2", state="DISABLED")
    emu.queue("q", "ec2")
    emu.definition("align")
    emu.hold(emu.submit("s1", "q", "align"), "RUNNABLE")
    assert main(["doctor", "run-1", "--table", TABLE, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["run"] == EXECUTION and doc["jobs"] == 1
    assert {f["rule"] for f in doc["findings"]} == {"ce-disabled", "time-limit"}
    assert main(["doctor", EXECUTION, "--table", TABLE]) == 1
    out = capsys.readouterr().out
    assert "ce-disabled" in out and "align/s1" in out
    emu.batch.update_compute_environment(computeEnvironment="ec2", state="ENABLED")
    emu.hold(emu.batch.list_jobs(jobQueue="q", jobStatus="RUNNABLE")["jobSummaryList"][0]
             ["jobId"], "RUNNING")
    assert main(["doctor", "run-1", "--table", TABLE]) == 0
    assert "nothing found to change" in capsys.readouterr().out


def test_cli_table_from_the_stack_and_bad_input(emu: Emulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfn = emu.session.client("cloudformation")
    cfn.create_stack(StackName="orchestrator", TemplateBody=json.dumps({
        "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"JobStateTableName": {"Value": TABLE}}}))
    assert main(["doctor", "run-1"]) == 0
    assert "1 job(s)" not in capsys.readouterr().err
    assert main(["doctor", "nope", "--table", TABLE]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass its execution ARN" in err
    assert main(["doctor"]) == 2
    assert "give a RUN" in capsys.readouterr().err
