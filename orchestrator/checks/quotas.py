"""Service quotas a workflow would exceed once deployed or run, as validation errors: the
state machine's definition size (estimated from the model, so the answer is instant), and
what AWS Batch accepts of each job's submission and job definition."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from orchestrator import defsize, fanout, jobspec, model
from orchestrator.checks.common import Check, error
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits


def _sized(wf: model.Workflow) -> bool:
    """Whether the size can be worked out: names, dependencies and max_samples well typed,
    the dependencies plannable (other checks report those that are not)."""
    fe = wf.foreach
    return ((fe is None or (fe.strategy in ("auto", "inline", "array")
                            and isinstance(fe.max_samples, int)
                            and not isinstance(fe.max_samples, bool)
                            and isinstance(fe.column, str)))
            and isinstance(wf.name, str) and isinstance(wf.description, str)
            and all(isinstance(j.name, str) and all(isinstance(a, str) for a in j.after)
                    for j in wf.jobs)
            and defsize.plannable(wf))


def definition_fits(wf: model.Workflow) -> Iterator[Diagnostic]:
    if not _sized(wf):
        return
    size = defsize.estimate(wf)
    if size <= limits.DEFINITION_BYTES:
        return
    per_stage = size / max(1, len(wf.jobs))
    fits = int(limits.DEFINITION_BYTES // per_stage)
    other = _other_strategy(wf)
    hint = (f"split it into workflows of at most about {fits} jobs each (each job costs "
            f"about {per_stage / 1024:.1f} KiB of definition, whatever its command)")
    if other is not None:
        hint += f", or use strategy=\"{other}\", whose definition would fit"
    yield error(
        "definition-too-large", wf.source,
        f"the state machine of workflow {wf.name!r} would be up to {size:,} bytes once "
        f"deployed ({len(wf.jobs)} jobs); Step Functions allows "
        f"{limits.DEFINITION_BYTES:,} bytes per definition",
        hint)


def _other_strategy(wf: model.Workflow) -> str | None:
    """A fan-out strategy whose definition fits when the chosen one does not (the inline
    one only when it also holds max_samples)."""
    fe = wf.foreach
    if fe is None:
        return None
    current = fanout.choose(wf)
    for strategy in ("inline", "array"):
        if strategy == current:
            continue
        changed = dataclasses.replace(wf, foreach=dataclasses.replace(fe, strategy=strategy))
        if strategy == "inline" and fe.max_samples > fanout.inline_max_samples(
                fanout.per_sample_stages(wf)):
            continue
        if defsize.estimate(changed) <= limits.DEFINITION_BYTES:
            return strategy
    return None


# What a job definition holds besides the job's spec, environment, image and tags: the role
# and log-group ARNs, the log and Fargate settings, the resource requirements, the retry
# strategy and the timeout (about 1.2 kB rendered; counted with room to spare).
JOB_DEFINITION_OVERHEAD = 2048


def _job_definition_bytes(wf: model.Workflow, job: model.Job) -> int:
    env = {**job.environment, **jobspec.retry_environment(job)}
    doc = {"spec": jobspec.spec_parameters(wf, job), "image": job.image,
           "environment": [{"name": k, "value": v} for k, v in env.items()]}
    return len(c.canonical_json(doc).encode()) + JOB_DEFINITION_OVERHEAD


def job_definition_fits(wf: model.Workflow) -> Iterator[Diagnostic]:
    """A job's AWS Batch job definition holds its spec (command, paths, environment), and
    Batch refuses a job definition larger than limits.BATCH_JOB_DEFINITION_BYTES."""
    for job in wf.jobs:
        try:
            size = _job_definition_bytes(wf, job)
        except (TypeError, ValueError, AttributeError):  # malformed: its own checks say so
            continue
        if size > limits.BATCH_JOB_DEFINITION_BYTES:
            yield error(
                "job-definition-too-large", job.source,
                f"job {job.name!r}: its AWS Batch job definition would be about {size:,} bytes "
                f"(it holds the job's command, paths and environment); Batch allows "
                f"{limits.BATCH_JOB_DEFINITION_BYTES:,}",
                "move long scripts into the image or into a file the job reads as an input, "
                "and long values into params")


CHECKS: tuple[Check, ...] = (definition_fits, job_definition_fits)
