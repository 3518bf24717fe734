"""Each doctor rule: one fixture that triggers it, one close to it that does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.aws import capacity, doctor
from orchestrator.aws.facts import (
    Attempt,
    ComputeEnvironment,
    Facts,
    Job,
    Queue,
    TimeLimitAction,
)

ARN = "arn:aws:batch:us-east-1:123456789012"
EC2 = ComputeEnvironment("ec2", f"{ARN}:compute-environment/ec2", "ENABLED", "VALID",
                         kind="EC2", instance_types=("optimal",), max_vcpus=256)
FARGATE = ComputeEnvironment("fg", f"{ARN}:compute-environment/fg", "ENABLED", "VALID",
                             kind="FARGATE", max_vcpus=64)
ALL_LIMITS = tuple(TimeLimitAction(r, "RUNNABLE", 3600, "CANCEL")
                   for r in doctor.TIME_LIMIT_REASONS)
QUEUE = Queue("q", f"{ARN}:job-queue/q", "ENABLED", "VALID", priority=1,
              environments=(EC2.arn,), time_limit_actions=ALL_LIMITS)
JOB = Job("j1", "align", "RUNNABLE", label="align/s1", queue=QUEUE.arn,
          definition=f"{ARN}:job-definition/align:1", vcpus=2, memory_mib=4096)


def facts(*jobs: Job, queue: Queue = QUEUE,
          envs: tuple[ComputeEnvironment, ...] = (EC2,), related: tuple[Job, ...] = ()) -> Facts:
    return Facts("run", jobs or (JOB,), (queue,), envs, related)


def fired(rule_id: str, f: Facts) -> list[doctor.Finding]:
    return doctor.RULES[rule_id](f)


def test_healthy_run_has_no_findings() -> None:
    assert doctor.diagnose(facts()) == []


def test_every_rule_is_registered_with_a_test() -> None:
    tested = {"queue-disabled", "ce-disabled", "ce-invalid", "platform-mismatch",
              "gpu-no-instances", "too-large", "fargate-size", "unknown-instance-type",
              "image-pull", "spot-reclaim", "failed-dependency", "repeated-failure",
              "batch-status-reason", "time-limit"}
    assert set(doctor.RULES) == tested


def test_queue_disabled() -> None:
    found = fired("queue-disabled", facts(queue=replace(QUEUE, state="DISABLED")))
    assert [f.fix for f in found] == ["orchestrator batch queue enable q"]
    assert fired("queue-disabled", facts(replace(JOB, status="RUNNING"),
                                         queue=replace(QUEUE, state="DISABLED"))) == []


def test_ce_disabled() -> None:
    found = fired("ce-disabled", facts(envs=(replace(EC2, state="DISABLED"),)))
    assert "ec2 is DISABLED" in found[0].why and found[0].fix == "orchestrator batch ce enable ec2"
    assert fired("ce-disabled", facts(replace(JOB, status="SUCCEEDED"),
                                      envs=(replace(EC2, state="DISABLED"),))) == []


def test_ce_invalid_carries_the_status_reason() -> None:
    env = replace(EC2, status="INVALID", status_reason="CLIENT_ERROR - role not found")
    found = fired("ce-invalid", facts(envs=(env,)))
    assert "CLIENT_ERROR - role not found" in found[0].why
    assert fired("ce-invalid", facts()) == []


def test_platform_mismatch_both_ways_and_fractional_vcpu() -> None:
    fargate_job = replace(JOB, platform="FARGATE")
    assert "only EC2/SPOT" in fired("platform-mismatch", facts(fargate_job))[0].why
    fargate_queue = replace(QUEUE, environments=(FARGATE.arn,))
    found = fired("platform-mismatch", facts(queue=fargate_queue, envs=(FARGATE,)))
    assert "only Fargate" in found[0].why
    assert "whole vCPUs" in fired("platform-mismatch", facts(replace(JOB, vcpus=0.5)))[0].why
    assert fired("platform-mismatch", facts(fargate_job, queue=fargate_queue,
                                            envs=(FARGATE,))) == []


def test_gpu_job_on_optimal_environment() -> None:
    found = fired("gpu-no-instances", facts(replace(JOB, gpus=1)))
    assert "no GPU instance types" in found[0].why
    gpu_env = replace(EC2, instance_types=("g5",))
    assert fired("gpu-no-instances", facts(replace(JOB, gpus=1), envs=(gpu_env,))) == []
    # asking for more GPUs than one instance has is the same problem
    assert "at most 8 GPU" in fired("gpu-no-instances", facts(replace(JOB, gpus=16),
                                                                envs=(gpu_env,)))[0].why


def test_too_large_for_every_instance_type() -> None:
    small = replace(EC2, instance_types=("m5.large", "c5"))
    found = fired("too-large", facts(replace(JOB, vcpus=4, memory_mib=200_000), envs=(small,)))
    assert "c5.24xlarge (96 vCPU, 196608 MiB)" in found[0].why
    assert fired("too-large", facts(replace(JOB, vcpus=4, memory_mib=8000), envs=(small,))) == []


def test_memory_equal_to_an_instance_does_not_fit() -> None:
    only = replace(EC2, instance_types=("m5.large",))
    assert fired("too-large", facts(replace(JOB, vcpus=2, memory_mib=8192), envs=(only,)))
    assert not fired("too-large", facts(replace(JOB, vcpus=2, memory_mib=7000), envs=(only,)))


def test_too_large_for_max_vcpus() -> None:
    capped = replace(EC2, max_vcpus=4)
    found = fired("too-large", facts(replace(JOB, vcpus=8), envs=(capped,)))
    assert "maxvCpus 4" in found[0].why
    assert fired("too-large", facts(replace(JOB, vcpus=4), envs=(capped,))) == []


def test_one_fitting_environment_is_enough() -> None:
    tiny = replace(EC2, name="tiny", arn=f"{ARN}:compute-environment/tiny", max_vcpus=1)
    queue = replace(QUEUE, environments=(tiny.arn, EC2.arn))
    assert fired("too-large", facts(queue=queue, envs=(tiny, EC2))) == []


def test_fargate_size() -> None:
    queue = replace(QUEUE, environments=(FARGATE.arn,))
    job = replace(JOB, platform="FARGATE", vcpus=1, memory_mib=16384)
    found = fired("fargate-size", facts(job, queue=queue, envs=(FARGATE,)))
    assert "2048-8192 in steps of 1024" in found[0].fix
    ok = replace(job, memory_mib=8192)
    assert fired("fargate-size", facts(ok, queue=queue, envs=(FARGATE,))) == []


def test_unknown_instance_type_is_said_not_guessed() -> None:
    odd = replace(EC2, instance_types=("x2iezn.12xlarge",))
    huge = replace(JOB, vcpus=200)  # under maxvCpus 256: only the instance size is in doubt
    assert "x2iezn.12xlarge" in fired("unknown-instance-type", facts(huge, envs=(odd,)))[0].why
    assert fired("too-large", facts(huge, envs=(odd,))) == []
    assert fired("unknown-instance-type", facts(huge)) == []


def test_image_pull_failure() -> None:
    job = replace(JOB, status="FAILED", attempts=(Attempt(
        "Task failed to start", "CannotPullContainerError: pull access denied for nope"),))
    assert "pull access denied" in fired("image-pull", facts(job))[0].why
    failed = replace(JOB, status="FAILED", attempts=(Attempt("Essential container exited", "",
                                                             1),))
    assert fired("image-pull", facts(failed)) == []


def test_spot_reclaim() -> None:
    reclaimed = Attempt("Host EC2 (instance i-0abc) terminated.")
    job = replace(JOB, status="RUNNABLE", attempts=(reclaimed, reclaimed))
    found = fired("spot-reclaim", facts(job))
    assert found[0].why.startswith("2 attempt(s)") and "Host EC2*" in found[0].fix
    assert fired("spot-reclaim", facts(replace(JOB, attempts=(Attempt("exit", "", 1),)))) == []


def test_failed_dependency() -> None:
    dep = replace(JOB, job_id="j0", label="index/s1", status="FAILED")
    waiting = replace(JOB, status="PENDING", depends_on=("j0",))
    found = fired("failed-dependency", facts(waiting, related=(dep,)))
    assert "waits on failed dependency index/s1 (j0)" in found[0].why
    failed = replace(JOB, status="FAILED", status_reason="Dependent Job failed",
                     depends_on=("j0",))
    assert "failed because of" in fired("failed-dependency", facts(failed, related=(dep,)))[0].why
    assert fired("failed-dependency", facts(waiting, related=(replace(dep, status="RUNNING"),))
                 ) == []


def test_repeated_failure_and_out_of_memory() -> None:
    job = replace(JOB, status="FAILED", attempts=(Attempt("Essential container exited", "", 2),
                                                  Attempt("Essential container exited", "", 2)))
    assert "exit codes 2, 2" in fired("repeated-failure", facts(job))[0].why
    oom = replace(job, attempts=(Attempt("", "OutOfMemoryError: Container killed", 137),) * 2)
    assert "raise the job's memory" in fired("repeated-failure", facts(oom))[0].fix
    once = replace(job, attempts=job.attempts[:1])
    assert fired("repeated-failure", facts(once)) == []
    # a retry that worked: the successful attempt carries a reason and exit code 0
    recovered = replace(job, status="RUNNING", attempts=(
        Attempt("Essential container exited", "", 1), Attempt("Essential container exited", "",
                                                              0)))
    assert fired("repeated-failure", facts(recovered)) == []
    assert fired("repeated-failure", facts(replace(job, status="SUCCEEDED"))) == []


def test_reclaims_and_pull_errors_that_were_retried_successfully_are_not_reported() -> None:
    reclaimed = Attempt("Host EC2 (instance i-0abc) terminated.")
    pulled = Attempt("", "CannotPullContainerError: timeout")
    done = replace(JOB, status="SUCCEEDED", attempts=(reclaimed, pulled, Attempt("", "", 0)))
    assert fired("spot-reclaim", facts(done)) == [] and fired("image-pull", facts(done)) == []


def test_batch_status_reason() -> None:
    job = replace(JOB, status_reason="CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no m5")
    assert "Batch says" in fired("batch-status-reason", facts(job))[0].why
    assert fired("batch-status-reason", facts(replace(JOB, status_reason="waiting"))) == []


def test_time_limit_suggested_for_waiting_queue_without_actions() -> None:
    bare = replace(QUEUE, time_limit_actions=())
    found = fired("time-limit", facts(queue=bare))
    assert found[0].subject == "queue q"
    assert "--job-state-time-limit-actions" in found[0].fix
    assert "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY" in found[0].fix
    assert fired("time-limit", facts()) == []  # QUEUE has all three actions
    assert fired("time-limit", facts(replace(JOB, status="RUNNING"), queue=bare)) == []


def test_findings_fold_across_jobs() -> None:
    jobs = tuple(replace(JOB, job_id=f"j{i}", label=f"align/s{i}") for i in range(50))
    found = doctor.diagnose(facts(*jobs, envs=(replace(EC2, state="DISABLED"),)))
    disabled = [d for d in found if d.rule == "ce-disabled"]
    assert len(disabled) == 1 and len(disabled[0].subjects) == 50


@pytest.mark.parametrize("vcpus,memory", [(0.25, 512), (0.5, 4096), (2, 16384), (8, 61440),
                                          (16, 122880)])
def test_fargate_table_accepts_documented_pairs(vcpus: float, memory: int) -> None:
    assert capacity.fargate_fits(vcpus, memory)


@pytest.mark.parametrize("vcpus,memory", [(0.25, 4096), (4, 32768), (8, 18432), (3, 8192)])
def test_fargate_table_rejects_other_pairs(vcpus: float, memory: int) -> None:
    assert not capacity.fargate_fits(vcpus, memory)
