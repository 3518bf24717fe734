"""What AWS Batch and the job runner are told about a job: its spec for the runner, its
retry strategy and resource requirements, and the container command.

The compiler (SubmitJob overrides), the template (job definitions) and the local engine
(registered job definitions) all read these, so they describe a job the same way.
"""

from __future__ import annotations

import itertools
from typing import Any

from orchestrator import model, units
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

Json = dict[str, Any]

# How a job is retried: the README's promise is that Spot reclaims and image-pull failures
# are always retried, and that a failing command is retried only for its retry_exit_codes and
# at most `retries` times. AWS Batch's RetryStrategy (Batch user guide "Automated job
# retries"; API reference RetryStrategy and EvaluateOnExit) gives one budget of `attempts`
# (1-10) for every reason, and up to 5 evaluateOnExit rules, each a set of globs (onStatusReason,
# onReason, onExitCode: an exact string, or a prefix and a final "*") that must all match;
# the rules are tried in order, the first match decides RETRY or EXIT, and when none matches
# the job IS retried (hence the final catch-all EXIT). So the budget is split in two:
#
# - Attempts = the job's attempts (retries + 1) + INFRA_RESERVE, at most 10: the extra
#   attempts are there for the two infrastructure rules, which come first;
# - the command's share is kept by the job runner, which knows the job's attempts and exit
#   codes (retry_environment) and the attempt number (AWS_BATCH_JOB_ATTEMPT, set by Batch,
#   1-based): when the command fails with a listed code on an attempt below the job's
#   attempts, the runner exits contracts.RETRY_EXIT_CODE, the only exit code a rule retries;
#   any other failure keeps its own exit code and meets the catch-all EXIT.
#
# Attempts lost to the infrastructure count in AWS_BATCH_JOB_ATTEMPT too, so after a Spot
# reclaim the command has one retry fewer: it never gets more than `retries`. The four rules
# are the same for every job: retry_exit_codes take no rule, however many there are. (Giving
# each code a RETRY rule and having the runner exit a "stop" code on the last attempt would
# also work, but leaves room for one code only and hides the command's exit code on exactly
# the attempt that `status` and the failure's cause show.)
INFRA_RESERVE = 3
ALWAYS_RETRY: tuple[tuple[str, str], ...] = (
    ("OnStatusReason", "Host EC2*"),  # Spot reclaim: "Host EC2 (instance i-...) terminated."
    ("OnReason", "CannotPullContainerError:*"),
)
RUNNER_RETRY = ("OnExitCode", str(c.RETRY_EXIT_CODE))
CATCH_ALL = ("OnReason", "*")


def container_command() -> list[str]:
    """The container command of every job: the runner reads the job's own command from its
    task document."""
    return [c.RUNNER_COMMAND]


def total_attempts(job: model.Job) -> int:
    """RetryStrategy Attempts: the job's own attempts and the infrastructure reserve."""
    return min(limits.BATCH_ATTEMPTS_MAX, job.attempts + INFRA_RESERVE)


def retry_strategy(job: model.Job) -> Json:
    """The Batch RetryStrategy for a job (also used for its job definition); see the comment
    above for the rules.

    Built anew on every call: callers convert it in place (e.g. to the API's camelCase)."""
    rules: list[Json] = [
        *({key: value, "Action": "RETRY"} for key, value in (*ALWAYS_RETRY, RUNNER_RETRY)),
        {CATCH_ALL[0]: CATCH_ALL[1], "Action": "EXIT"},
    ]
    return {"Attempts": total_attempts(job), "EvaluateOnExit": rules}


def retry_environment(job: model.Job) -> dict[str, str]:
    """What the runner needs to keep the command's share of the attempts (see above); no
    codes, no variable (an empty value would say the same)."""
    env = {c.ATTEMPTS_ENV: str(job.attempts)}
    if job.retry_exit_codes:
        env[c.RETRY_CODES_ENV] = ",".join(job.retry_exit_codes)
    return env


def resource_requirements(job: model.Job) -> list[Json]:
    cpus = job.cpus
    reqs = [{"Type": "VCPU", "Value": str(int(cpus)) if float(cpus).is_integer() else str(cpus)},
            {"Type": "MEMORY", "Value": str(job.memory_mib)}]
    if job.gpus:
        reqs.append({"Type": "GPU", "Value": str(job.gpus)})
    return reqs


def job_spec(wf: model.Workflow, job: model.Job) -> c.JobSpec:
    return {
        "image": job.image,
        "command": list(job.command),
        "environment": dict(sorted(job.environment.items())),
        "inputs": dict(job.inputs),
        "outputs": dict(job.outputs),
        "bucket": wf.bucket.rstrip("/"),
        "allow_empty": job.allow_empty,
        "shell": job.shell,
        "stdout": job.stdout,
    }


def stage_spec(wf: model.Workflow, job: model.Job) -> c.StageSpec:
    """What the job definition of ``job`` stores for the check function (SPEC_PARAMETER)."""
    return {"job": job_spec(wf, job), "param_defaults": param_defaults(wf)}


def param_defaults(wf: model.Workflow) -> dict[str, str]:
    return {p.name: p.default for p in wf.params if p.default is not None}


def spec_parameters(wf: model.Workflow, job: model.Job) -> dict[str, str]:
    """The job definition's Parameters: the stage spec, as canonical JSON."""
    return {c.SPEC_PARAMETER: c.canonical_json(stage_spec(wf, job))}


def spec_digest(wf: model.Workflow, job: model.Job) -> str:
    """The TAG_SPEC of ``job``'s job definition, which the compiled definition names."""
    return c.spec_digest(stage_spec(wf, job))


# What jobs run on: the template's ComputeType parameter, `validate --compute-type`.
COMPUTE_TYPES = ("EC2", "SPOT", "FARGATE", "FARGATE_SPOT")
FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")


def fargate_problem(job: model.Job) -> str:
    """Why Fargate would refuse to register this job's size ("" when it accepts it)."""
    if job.gpus:
        return f"gpus={job.gpus}: Fargate has no GPUs"
    try:
        mib = units.memory_mib(job.memory)
    except (ValueError, TypeError):
        return ""  # reported by the memory check
    if not _is_number(job.cpus):
        return ""
    sizes = limits.FARGATE_MEMORY_MIB.get(float(job.cpus))
    if sizes is None:
        return (f"cpus={job.cpus!r}: Fargate offers "
                f"{', '.join(f'{v:g}' for v in limits.FARGATE_MEMORY_MIB)} vCPUs")
    if mib not in sizes:
        steps = {b - a for a, b in itertools.pairwise(sizes)}
        allowed = (f"{sizes[0]}-{sizes[-1]} MiB in steps of {steps.pop()} MiB"
                   if len(steps) == 1 else f"one of {', '.join(map(str, sizes))} MiB")
        return f"cpus={job.cpus:g} with {mib} MiB: Fargate needs {allowed} for {job.cpus:g} vCPU"
    return ""


def ec2_problem(job: model.Job) -> str:
    if _is_number(job.cpus) and not float(job.cpus).is_integer():
        return f"cpus={job.cpus!r}: fractional vCPUs exist only on Fargate"
    return ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
