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

# Retry rules every job gets besides its own exit codes: Spot reclaims and image pulls are
# retried, and a final catch-all exits (when no rule matches, Batch would retry).
ALWAYS_RETRY: tuple[tuple[str, str], ...] = (
    ("OnStatusReason", "Host EC2*"),
    ("OnReason", "CannotPullContainerError:*"),
)
CATCH_ALL = ("OnReason", "*")
RULES_ADDED = len(ALWAYS_RETRY) + 1
MAX_RETRY_EXIT_CODES = limits.BATCH_RETRY_RULES_MAX - RULES_ADDED


def container_command() -> list[str]:
    """The container command of every job: the runner reads the job's own command from its
    task document."""
    return [c.RUNNER_COMMAND]


def retry_strategy(job: model.Job) -> Json:
    """The Batch RetryStrategy for a job (also used for its job definition): Spot reclaims
    and image pulls are always retried, the job's exit codes too, anything else exits.

    Built anew on every call: callers convert it in place (e.g. to the API's camelCase)."""
    rules: list[Json] = [
        *({key: value, "Action": "RETRY"} for key, value in ALWAYS_RETRY),
        *({"OnExitCode": code, "Action": "RETRY"} for code in job.retry_exit_codes),
        {CATCH_ALL[0]: CATCH_ALL[1], "Action": "EXIT"},
    ]
    return {"Attempts": job.attempts, "EvaluateOnExit": rules}


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
