"""Quotas of the fan-out strategy, as validation errors: an inline Map that cannot hold the
samples a workflow declares is refused before anything is deployed."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator import fanout, model
from orchestrator.checks.common import Check, error
from orchestrator.errors import Diagnostic
from orchestrator_runtime import limits


def inline_fits(wf: model.Workflow) -> Iterator[Diagnostic]:
    fe = wf.foreach
    if fe is None or fe.strategy != "inline" or not isinstance(fe.max_samples, int):
        return
    stages = fanout.per_sample_stages(wf)
    most = fanout.inline_max_samples(stages)
    if fe.max_samples > most:
        events = fanout.inline_history_events(fe.max_samples, stages)
        yield error(
            "inline-too-large", fe.source,
            f"an inline Map of {stages} per-sample stage(s) holds at most {most:,} samples "
            f"(at {fe.max_samples:,} a run would record about {events:,} history events; "
            f"Step Functions fails a run at {limits.HISTORY_EVENTS:,}, and its input at "
            f"{limits.PAYLOAD_BYTES // 1024} KiB)",
            f"use strategy=\"array\" (any number of samples), or max_samples={most} or fewer",
        )


CHECKS: tuple[Check, ...] = (inline_fits,)
