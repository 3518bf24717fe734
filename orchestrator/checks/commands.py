"""What the container gets: an image, a command, an environment that fits in the override."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from orchestrator import jobspec, model
from orchestrator.checks.common import Check, error, warning
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts, limits

OVERRIDES_LIMIT = limits.CONTAINER_OVERRIDES_CHARS
# The compiler sends the runner as the command (the job's own command travels in the task
# document) plus ORCH_TASK_URI, the retry policy (jobspec.retry_environment) and the static
# environment. Batch adds its own AWS_BATCH_* variables to the same override; the task URI
# holds the bucket prefix, an execution name, the job name and a sample label (at most 60
# characters).
BATCH_OWN_VARIABLES = 600
TASK_URI_EXTRA = limits.EXECUTION_NAME_CHARS + 60 + len(contracts.task_uri("", "", "", ""))
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_ENV = (contracts.TASK_ENV, contracts.ATTEMPTS_ENV, contracts.RETRY_CODES_ENV)


def image(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        if not isinstance(job.image, str) or not job.image.strip():
            yield error("missing-image", job.source, f"job {job.name!r} has no container image",
                        "pass image='public.ecr.aws/docker/library/python:3.12-slim', say")


def command(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        bad = [a for a in job.command if not isinstance(a, str)]
        if not job.command:
            yield error("bad-command", job.source, f"job {job.name!r} has an empty command",
                        "pass command=['tool', '--flag', '{inputs.x}']")
        elif bad:
            yield error(
                "bad-command", job.source,
                f"job {job.name!r}: command item {bad[0]!r} is not a string",
                f"quote it: {str(bad[0])!r}",
            )
        elif job.shell and len(job.command) != 1:
            yield error(
                "bad-command", job.source,
                f"job {job.name!r}: shell=True needs exactly one command string, got "
                f"{len(job.command)}",
                "join the parts into one string, e.g. command=['sort {inputs.x} | uniq -c']",
            )
        elif not job.shell and len(job.command) == 1 and job.command[0].strip() \
                and len(job.command[0].split()) > 1:
            yield error(
                "command-needs-shell", job.source,
                f"job {job.name!r}: command {job.command[0]!r:.60} is one string without "
                "shell=True, so it would run a program named after the whole string",
                f"pass shell=True to run it with /bin/sh, or split it: "
                f"command={job.command[0].split()[:3]!r}",
            )


def _env_problem(key: object, value: object) -> tuple[str, str]:
    if not isinstance(key, str) or not ENV_NAME_RE.fullmatch(key):
        return (f"name {key!r} is not a valid variable name",
                "use letters, digits and '_', not starting with a digit")
    if key.startswith("AWS_BATCH"):
        return (f"{key} starts with AWS_BATCH, which AWS Batch reserves for its own variables",
                "rename the variable")
    if key in RESERVED_ENV:
        return f"{key} is set by the orchestrator", "rename the variable"
    if not isinstance(value, str):
        return f"{key}={value!r} is not a string", f"write it as a string: {str(value)!r}"
    return "", ""


def environment(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        for key, value in job.environment.items():
            problem, hint = _env_problem(key, value)
            if problem:
                yield error("bad-env", job.source, f"job {job.name!r}: env {problem}", hint)


def _overrides_size(wf: model.Workflow, job: model.Job) -> int:
    """Characters of the override JSON as ECS measures it, with the task URI estimated."""
    task_uri = "x" * (len(str(wf.bucket)) + len(str(job.name)) + TASK_URI_EXTRA)
    env = [{"name": contracts.TASK_ENV, "value": task_uri}]
    env += [{"name": str(k), "value": str(v)} for k, v in job.environment.items()]
    if isinstance(job.retries, int) and all(isinstance(x, str) for x in job.retry_exit_codes):
        env += [{"name": k, "value": v} for k, v in jobspec.retry_environment(job).items()]
    doc = {"command": jobspec.container_command(), "environment": env}
    return len(json.dumps(doc, separators=(",", ":"))) + BATCH_OWN_VARIABLES


def overrides_size(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        size = _overrides_size(wf, job)
        if size > OVERRIDES_LIMIT:
            yield error(
                "overrides-too-large", job.source,
                f"job {job.name!r}: its environment makes the Batch container overrides about "
                f"{size:,} characters; AWS Batch allows {OVERRIDES_LIMIT:,}",
                "move long values into a file the job reads as an input",
            )


def has_outputs(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        if not job.outputs:
            yield warning(
                "no-outputs", job.source,
                f"job {job.name!r} declares no outputs, so it runs on every execution "
                "(it can never be skipped)",
                "declare what it writes in outputs=, e.g. outputs={'log': 'logs/x.txt'}",
            )


CHECKS: tuple[Check, ...] = (image, command, environment, overrides_size, has_outputs)
