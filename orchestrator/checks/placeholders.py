"""Every {placeholder} must have a value where it is used, and names must be usable in one.

A command or environment value may use params, ``inputs.X``, ``outputs.X`` and
``outputs.X.parent``, and, in a per-sample job, the sample-sheet columns. Paths are resolved
before the job runs, so they may use params and sample columns only: a per-sample job's paths
use its own row; a once-job's input paths may use columns too (they gather one object per
sample), its output paths may not.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator import model
from orchestrator.checks.common import Check, closest, command_templates, error, path_templates
from orchestrator.checks.names import IDENTIFIER_RE
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts


def per_sample_needs_foreach(wf: model.Workflow) -> Iterator[Diagnostic]:
    if wf.foreach is not None:
        return
    for job in wf.jobs:
        if job.per_sample:
            yield error(
                "per-sample-without-foreach", job.source,
                f"job {job.name!r} runs per sample, but the workflow has no foreach",
                "declare samples = wf.foreach('sample_id') and pass per=samples",
            )


def io_names(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        for kind, paths in (("input", job.inputs), ("output", job.outputs)):
            for name in paths:
                if not isinstance(name, str) or not IDENTIFIER_RE.fullmatch(name):
                    yield error(
                        "bad-io-name", job.source,
                        f"job {job.name!r}: {kind} name {name!r} cannot be used as "
                        f"{{{kind}s.{name}}}",
                        "name inputs and outputs with letters, digits and '_', e.g. reads_1",
                    )


def stdout(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        if job.stdout is not None and (not isinstance(job.stdout, str)
                                       or job.stdout not in job.outputs):
            declared = ", ".join(sorted(job.outputs)) or "none"
            yield error(
                "bad-stdout", job.source,
                f"job {job.name!r}: stdout={job.stdout!r} is not one of its outputs "
                f"(declared: {declared})",
                f"name a declared output, or declare outputs={{{job.stdout!r}: 'path/...'}}",
            )


def _io_values(job: model.Job) -> set[str]:
    names = {f"inputs.{n}" for n in job.inputs}
    for n in job.outputs:
        names |= {f"outputs.{n}", f"outputs.{n}.parent"}
    return names


def _explain(name: str, field: str, job: model.Job, columns: tuple[str, ...],
             allowed: set[str]) -> tuple[str, str]:
    """Message and hint for one undefined placeholder."""
    where = f"job {job.name!r}: {field} uses {{{name}}}"
    is_path = field.startswith(("input ", "output "))
    if name in columns:
        return (f"{where}, but the job runs once, not per sample; only its input paths may "
                "use sample columns (each gathers one object per sample)",
                "pass per=samples to run it for each sample")
    if is_path and name.startswith(("inputs.", "outputs.")):
        return (f"{where}; paths are resolved before the job runs, so they may only use "
                "params and sample columns",
                "write the path out, or use a param")
    kind, _, rest = name.partition(".")
    if kind in ("inputs", "outputs") and rest:
        own = job.inputs if kind == "inputs" else job.outputs
        base = rest.split(".", 1)[0]
        if base in own:
            forms = f"{{inputs.{base}}}" if kind == "inputs" \
                else f"{{outputs.{base}}} or {{outputs.{base}.parent}}"
            return f"{where}, which is not a form that has a value", f"use {forms}"
        match = closest(base, own)
        return (f"{where}, but {job.name} has no {kind[:-1]} named {base!r}",
                f"did you mean {{{kind}.{match}}}?" if match
                else f"declare it in {kind}= of job {job.name}")
    match = closest(name, allowed)
    suffix = f"; did you mean {{{match}}}?" if match else ""
    hint = (f"declare it with wf.param({name!r}) or as a sample-sheet column in "
            f"wf.foreach(..., columns=[{name!r}]){suffix}")
    if not is_path and match is None:
        hint += f"; for literal braces write {{{{{name}}}}}"
    return f"{where}, which is not a param, sample column, input or output", hint


def undefined_placeholders(wf: model.Workflow) -> Iterator[Diagnostic]:
    params = {p.name for p in wf.params if isinstance(p.name, str)}
    columns = tuple(c for c in (wf.foreach.all_columns if wf.foreach is not None else ())
                    if isinstance(c, str))
    for job in wf.jobs:
        unknown_columns = job.per_sample and wf.foreach is None  # reported on its own
        row = set(columns) if job.per_sample else set()
        allowed_by_field: list[tuple[str, str, set[str]]] = [
            (field, t, params | row | _io_values(job)) for field, t in command_templates(job)
        ]
        allowed_by_field += [(f, t, params | set(columns))
                             for _, f, t in path_templates(job.inputs, "input")]
        allowed_by_field += [(f, t, params | row)
                             for _, f, t in path_templates(job.outputs, "output")]
        for field, template, allowed in allowed_by_field:
            for name in dict.fromkeys(contracts.placeholders(template)):
                if name in allowed or (unknown_columns and "." not in name):
                    continue
                message, hint = _explain(name, field, job, columns, allowed)
                yield error("undefined-placeholder", job.source, message, hint)


CHECKS: tuple[Check, ...] = (
    per_sample_needs_foreach, io_names, stdout, undefined_placeholders,
)
