"""What AWS Batch and the job runner are told about a job: its spec for the runner, its
retry strategy and resource requirements, and the container command.

The compiler (SubmitJob overrides), the template (job definitions) and the local engine
(registered job definitions) all read these, so they describe a job the same way.
"""

from __future__ import annotations

from typing import Any

from orchestrator import model
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
