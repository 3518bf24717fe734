"""Names AWS will see: jobs (Batch job and job-definition names), the workflow (state
machine name), params and sample-sheet columns (placeholders). State names need no check:
orchestrator.names makes every one fit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from orchestrator import model
from orchestrator.checks.common import Check, error
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts, limits

BATCH_NAME_MAX = limits.BATCH_NAME_CHARS
WORKFLOW_NAME_MAX = limits.STATE_MACHINE_NAME_CHARS  # it names the state machine
BATCH_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_PLACEHOLDERS = frozenset({"inputs", "outputs"})


def _valid_batch_name(name: object) -> bool:
    return (isinstance(name, str) and len(name) <= BATCH_NAME_MAX
            and BATCH_NAME_RE.fullmatch(name) is not None)


def duplicate_jobs(wf: model.Workflow) -> Iterator[Diagnostic]:
    first: dict[str, model.Job] = {}
    for job in wf.jobs:
        if not isinstance(job.name, str):
            continue
        if job.name in first:
            yield error(
                "duplicate-job", job.source,
                f"job {job.name!r} is defined twice; the first definition is at line "
                f"{first[job.name].source.line}",
                "give each job its own name",
            )
        else:
            first[job.name] = job


def workflow_name(wf: model.Workflow) -> Iterator[Diagnostic]:
    name = wf.name
    if not isinstance(name, str) or not name:
        yield error("bad-workflow-name", wf.source, "the workflow has no name",
                    "pass a name: Workflow('my-pipeline', bucket=...)")
    elif len(name) > WORKFLOW_NAME_MAX:
        yield error(
            "bad-workflow-name", wf.source,
            f"workflow name {name[:20]!r}... is {len(name)} characters; it names the state "
            f"machine, which allows {WORKFLOW_NAME_MAX}",
            f"shorten the workflow name to at most {WORKFLOW_NAME_MAX} characters",
        )
    elif not BATCH_NAME_RE.fullmatch(name):
        yield error(
            "bad-workflow-name", wf.source,
            f"workflow name {name!r} is not valid: it names the state machine and begins every "
            "Batch job-definition name",
            "use letters, digits, '-' and '_', starting with a letter or digit",
        )


def job_names(wf: model.Workflow) -> Iterator[Diagnostic]:
    reported: set[str] = set()
    for job in wf.jobs:
        name = job.name
        if isinstance(name, str) and name in reported:
            continue
        reported.add(str(name))
        if not _valid_batch_name(name):
            shown = repr(name) if len(str(name)) <= 40 else f"{str(name)[:40]!r}..."
            yield error(
                "bad-job-name", job.source,
                f"job name {shown} is not a valid AWS Batch name ({len(str(name))} characters)",
                f"use 1-{BATCH_NAME_MAX} letters, digits, '-' and '_', starting with a letter "
                "or digit",
            )
            continue
        definition = f"{wf.name}-{name}"
        if len(definition) > BATCH_NAME_MAX:
            yield error(
                "job-definition-name-too-long", job.source,
                f"job {name!r}: its Batch job definition {definition[:30]!r}... would be "
                f"{len(definition)} characters; Batch allows {BATCH_NAME_MAX}",
                f"keep len(workflow name) + len(job name) under {BATCH_NAME_MAX}",
            )


def resource_keys(wf: model.Workflow) -> Iterator[Diagnostic]:
    """Job names that differ only in punctuation or the case of a first letter share the
    DefinitionSubstitutions key (and template resource) of their job definition."""
    first: dict[str, model.Job] = {}
    for job in wf.jobs:
        if not _valid_batch_name(job.name):
            continue
        key = contracts.substitution_key("JobDefinition", job.name)
        other = first.setdefault(key, job)
        if other.name != job.name:
            yield error(
                "job-name-clash", job.source,
                f"jobs {other.name!r} (line {other.source.line}) and {job.name!r} would share "
                f"the job-definition key {key}",
                "rename one so the names differ in more than '-', '_' and capitals",
            )


def params_and_columns(wf: model.Workflow) -> Iterator[Diagnostic]:
    columns: set[str] = set()
    if wf.foreach is not None:
        fe = wf.foreach
        for column in fe.all_columns:
            if not isinstance(column, str) or not IDENTIFIER_RE.fullmatch(column) \
                    or column in RESERVED_PLACEHOLDERS:
                yield error(
                    "bad-column", fe.source,
                    f"sample-sheet column {column!r} cannot be used as a placeholder",
                    "name columns with letters, digits and '_' (not 'inputs' or 'outputs'), "
                    "e.g. sample_id",
                )
            columns.add(str(column))
        if isinstance(fe.max_concurrency, bool) or not isinstance(fe.max_concurrency, int) \
                or fe.max_concurrency < 0:
            yield error(
                "bad-max-concurrency", fe.source,
                f"foreach max_concurrency {fe.max_concurrency!r} is not a whole number >= 0",
                "pass max_concurrency=8, say, or 0 for no limit",
            )
        if fe.strategy not in model.STRATEGIES:
            yield error(
                "bad-strategy", fe.source, f"foreach strategy {fe.strategy!r} is not one of "
                f"{', '.join(map(repr, model.STRATEGIES))}",
                "leave it out (auto) or pass strategy=\"array\" or strategy=\"map\"",
            )
        if isinstance(fe.max_samples, bool) or not isinstance(fe.max_samples, int) \
                or fe.max_samples < 1:
            yield error(
                "bad-max-samples", fe.source,
                f"foreach max_samples {fe.max_samples!r} is not a whole number >= 1",
                "pass the most samples one run may have, e.g. max_samples=5000",
            )
    declared: set[str] = set()
    for param in wf.params:
        name = param.name
        if not isinstance(name, str) or not IDENTIFIER_RE.fullmatch(name) \
                or name in RESERVED_PLACEHOLDERS:
            yield error(
                "bad-param", param.source, f"param name {name!r} cannot be used as a placeholder",
                "name params with letters, digits and '_' (not 'inputs' or 'outputs')",
            )
        elif name in declared:
            yield error("bad-param", param.source, f"param {name!r} is declared twice",
                        "declare each param once")
        elif name in columns:
            yield error(
                "bad-param", param.source,
                f"param {name!r} has the name of a sample-sheet column, so {{{name}}} is "
                "ambiguous",
                "rename the param or the column",
            )
        elif param.default is not None and not isinstance(param.default, str):
            yield error(
                "bad-param", param.source,
                f"param {name!r} has default {param.default!r}; defaults are strings",
                f"write default={str(param.default)!r}",
            )
        declared.add(str(name))


CHECKS: tuple[Check, ...] = (
    workflow_name, duplicate_jobs, job_names, resource_keys, params_and_columns,
)
