"""Upload triggers: what the trigger Lambda accepts, and what it would do with each upload.

The Lambda refuses its whole configuration (every trigger of the stack) when one trigger is
malformed, and starts one execution per (workflow, object version): two triggers of one
workflow that match the same key would derive the same execution name, so one of the runs
would silently never start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from orchestrator import model
from orchestrator.checks.common import Check, error
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts, triggers

FILLERS = ("x1", "s1.fastq.gz")  # values tried for each placeholder


def _constant(value: str) -> Callable[[str], str]:
    return lambda _: value


def _what(trigger: model.Trigger) -> str:
    if trigger.kind == "key":
        return f"on_upload({trigger.pattern!r})"
    return f"on_sample_sheet(prefix={trigger.prefix!r})"


def _well_formed(trigger: model.Trigger) -> bool:
    if trigger.kind == "key":
        return isinstance(trigger.pattern, str) and bool(trigger.pattern)
    return isinstance(trigger.prefix, str) and isinstance(trigger.suffix, str)


def _matches(trigger: model.Trigger, key: str) -> bool:
    """What the trigger Lambda does with a key relative to the workflow's prefix."""
    if trigger.kind == "key":
        return triggers.pattern_regex(trigger.pattern).fullmatch(key) is not None
    prefix = trigger.prefix.strip("/")
    return (not prefix or key.startswith(prefix + "/")) and key.endswith(trigger.suffix or ".csv")


def _examples(trigger: model.Trigger) -> list[str]:
    """Keys the trigger matches, its placeholders filled with plausible values."""
    if trigger.kind == "key":
        return [contracts.fill_with(trigger.pattern, _constant(f)) for f in FILLERS]
    prefix = trigger.prefix.strip("/")
    return [f"{prefix}/sheet{trigger.suffix or '.csv'}" if prefix
            else f"sheet{trigger.suffix or '.csv'}"]


def well_formed(wf: model.Workflow) -> Iterator[Diagnostic]:
    for trigger in wf.triggers:
        if not _well_formed(trigger):
            yield error(
                "bad-trigger", trigger.source,
                f"{_what(trigger)}: the pattern, prefix and suffix must be strings"
                + (" and the pattern not empty" if trigger.kind == "key" else ""),
                "write e.g. wf.on_upload('incoming/{sample_id}.fastq.gz') or "
                "wf.on_sample_sheet(prefix='sheets/')",
            )


def sample_column(wf: model.Workflow) -> Iterator[Diagnostic]:
    """An upload names its sample through the foreach column; the Lambda refuses a trigger
    whose pattern lacks it (and with it every other trigger of the stack)."""
    for trigger in wf.triggers:
        if not _well_formed(trigger):
            continue
        if trigger.kind == "sheet":
            if wf.foreach is None:
                yield error(
                    "trigger-without-foreach", trigger.source,
                    f"{_what(trigger)}: a sample sheet needs wf.foreach(...) to name the "
                    "column that identifies each row",
                    "declare samples = wf.foreach('sample_id') in this workflow")
            continue
        if wf.foreach is None:
            continue
        column = wf.foreach.column
        used = contracts.placeholders(trigger.pattern)
        if column not in used:
            yield error(
                "trigger-without-sample", trigger.source,
                f"{_what(trigger)} does not use the foreach column {{{column}}}, so an upload "
                "could not name its sample; the trigger Lambda would refuse every trigger of "
                "the stack",
                f"put {{{column}}} in the pattern, e.g. 'incoming/{{{column}}}.fastq.gz'")
        columns = set(wf.foreach.all_columns)
        for name in dict.fromkeys(used):
            if name != column and name not in columns:
                yield error(
                    "trigger-unknown-column", trigger.source,
                    f"{_what(trigger)} uses {{{name}}}, which is not a sample-sheet column of "
                    "this workflow",
                    f"use {{{column}}}, or declare it: wf.foreach({column!r}, "
                    f"columns=[{name!r}])")


def overlaps(wf: model.Workflow) -> Iterator[Diagnostic]:
    """Two triggers of one workflow that match one key would start one run between them."""
    usable = [t for t in wf.triggers if _well_formed(t)]
    for i, later in enumerate(usable):
        for earlier in usable[:i]:
            shared = next((k for k in _examples(later) + _examples(earlier)
                           if _matches(later, k) and _matches(earlier, k)), None)
            if shared is not None:
                yield error(
                    "overlapping-triggers", later.source,
                    f"{_what(later)} and {_what(earlier)} (line {earlier.source.line}) both "
                    f"match an upload such as {shared!r}; both would start the same run "
                    "(one execution name per workflow and object), so one of them never "
                    "starts",
                    "make the patterns or prefixes disjoint, or keep only one of the triggers")


def miss_outputs(wf: model.Workflow) -> Iterator[Diagnostic]:
    """An upload trigger that matches a job's own output would start a run per output:
    a loop. Each output template is tried with its placeholders filled by a sample value."""
    for trigger in wf.triggers:
        if not _well_formed(trigger):
            continue
        for job in wf.jobs:
            for name, template in job.outputs.items():
                if not isinstance(template, str) or template.startswith("s3://"):
                    continue
                key = contracts.fill_with(template, lambda _: "x1")
                if _matches(trigger, key):
                    yield error(
                        "trigger-matches-output", trigger.source,
                        f"{_what(trigger)} also matches output {name!r} of job {job.name} "
                        f"({template}): every run would start more runs",
                        "make the trigger pattern or prefix specific to uploaded data")


CHECKS: tuple[Check, ...] = (well_formed, sample_column, overlaps, miss_outputs)
