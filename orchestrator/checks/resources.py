"""What AWS Batch accepts for vCPUs, memory, GPUs, timeout and the retry strategy."""

from __future__ import annotations

import re
from collections.abc import Iterator

from orchestrator import jobspec, model, units
from orchestrator.checks.common import Check, error, warning
from orchestrator.errors import Diagnostic
from orchestrator_runtime import limits

FARGATE_FRACTIONS = limits.FARGATE_VCPU_FRACTIONS
MAX_VCPUS = limits.BATCH_MAX_VCPUS
MIN_MEMORY_MIB = limits.BATCH_MIN_MEMORY_MIB
MAX_MEMORY_MIB = limits.EC2_MAX_MEMORY_MIB
MAX_GPUS = limits.BATCH_MAX_GPUS
MIN_TIMEOUT_SECONDS = limits.BATCH_MIN_TIMEOUT_SECONDS
MAX_ATTEMPTS = limits.BATCH_ATTEMPTS_MAX
EXIT_CODE_GLOB = re.compile(r"[0-9]*\*?")
MAX_EXIT_CODE_GLOB = 512


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def cpus(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        value = job.cpus
        if not _is_number(value) or value <= 0:
            problem = "must be a number above 0"
        elif float(value).is_integer():
            problem = f"is above {MAX_VCPUS}" if value > MAX_VCPUS else ""
        elif value not in FARGATE_FRACTIONS:
            problem = "is fractional; only 0.25 and 0.5 exist (Fargate)"
        else:
            problem = ""
        if problem:
            yield error(
                "bad-cpus", job.source, f"job {job.name!r}: cpus={value!r} {problem}",
                f"use cpus=0.25, 0.5 or a whole number from 1 to {MAX_VCPUS}",
            )


def memory(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        try:
            mib = units.memory_mib(job.memory)
        except (ValueError, TypeError):
            yield error(
                "bad-memory", job.source,
                f"job {job.name!r}: memory={job.memory!r} is not a size",
                "write memory as '512 MiB', '4 GiB' or a whole number of MiB",
            )
            continue
        if not MIN_MEMORY_MIB <= mib <= MAX_MEMORY_MIB:
            yield error(
                "bad-memory", job.source,
                f"job {job.name!r}: memory={job.memory!r} is {mib} MiB; AWS Batch needs "
                f"{MIN_MEMORY_MIB} MiB to {MAX_MEMORY_MIB // units.MIB_PER_TIB} TiB",
                "give the container between 4 MiB and 24 TiB, e.g. memory='4 GiB'",
            )


def gpus(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        value = job.gpus
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GPUS:
            yield error(
                "bad-gpus", job.source,
                f"job {job.name!r}: gpus={value!r} is not a whole number from 0 to {MAX_GPUS}",
                f"use gpus=1 (or up to {MAX_GPUS}); leave it out for a job without GPUs",
            )


def timeout(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        try:
            seconds = units.duration_seconds(job.timeout)
        except (ValueError, TypeError):
            yield error(
                "bad-timeout", job.source,
                f"job {job.name!r}: timeout={job.timeout!r} is not a duration",
                "write the timeout as '90s', '30m', '2h30m' or a whole number of seconds",
            )
            continue
        if seconds < MIN_TIMEOUT_SECONDS:
            yield error(
                "bad-timeout", job.source,
                f"job {job.name!r}: timeout={job.timeout!r} is {seconds} s; AWS Batch needs at "
                f"least {MIN_TIMEOUT_SECONDS} s",
                "use timeout='1m' or more",
            )


def retries(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        value = job.retries
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 <= value <= MAX_ATTEMPTS - 1:
            attempts = f" ({value + 1} attempts)" if _is_number(value) else ""
            yield error(
                "bad-retries", job.source,
                f"job {job.name!r}: retries={value!r}{attempts} is out of range; AWS Batch "
                f"makes 1 to {MAX_ATTEMPTS} attempts and attempts = retries + 1",
                f"use retries from 0 to {MAX_ATTEMPTS - 1}",
            )


def retry_exit_codes(wf: model.Workflow) -> Iterator[Diagnostic]:
    """Exit codes are matched by the job runner, not by Batch rules (jobspec.retry_strategy),
    so any number fits; each must be a glob the runner and Batch read alike."""
    for job in wf.jobs:
        codes = job.retry_exit_codes
        for code in codes:
            if not isinstance(code, str) or not code or len(code) > MAX_EXIT_CODE_GLOB \
                    or not EXIT_CODE_GLOB.fullmatch(code):
                yield error(
                    "bad-retry-exit-codes", job.source,
                    f"job {job.name!r}: retry exit code {code!r} is not digits with an "
                    "optional trailing '*'",
                    "write exit codes like 137 or '13*'",
                )
        if codes and job.retries == 0:
            yield warning(
                "retry-codes-without-retries", job.source,
                f"job {job.name!r}: retry_exit_codes={list(codes)!r} never apply: retries=0 "
                "allows no retry of the command",
                "give retries=N (N extra attempts for those exit codes), or drop "
                "retry_exit_codes",
            )


CHECKS: tuple[Check, ...] = (cpus, memory, gpus, timeout, retries, retry_exit_codes)
FARGATE_TYPES = jobspec.FARGATE_TYPES

def for_compute_type(wf: model.Workflow, compute_type: str) -> list[Diagnostic]:
    """What AWS Batch would refuse on this compute type (the template's ComputeType)."""
    problem = jobspec.fargate_problem if compute_type in FARGATE_TYPES else jobspec.ec2_problem
    out: list[Diagnostic] = []
    for job in wf.jobs:
        why = problem(job)
        if why:
            hint = ("pick a listed size, e.g. cpus=1, memory='2 GiB'"
                          if compute_type in FARGATE_TYPES
                          else "use whole vCPUs on EC2/SPOT, or deploy with ComputeType=FARGATE")
            out.append(error("compute-type-size", job.source,
                             f"job {job.name!r} cannot run on {compute_type}: {why}", hint))
    return out
