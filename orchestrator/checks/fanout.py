"""Quotas of the fan-out strategy, as validation errors: an inline Map that cannot hold the
samples a workflow declares is refused before anything is deployed."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator import fanout, model
from orchestrator.checks.common import Check, ancestors, error
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


def map_settings(wf: model.Workflow) -> Iterator[Diagnostic]:
    """A Distributed Map runs at most DISTRIBUTED_MAP_CONCURRENCY children at once, and a
    failure tolerance is a percentage that only the map strategy honours."""
    fe = wf.foreach
    if fe is None:
        return
    share = fe.tolerated_failure_percentage
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 100:
        yield error(
            "bad-tolerated-failure", fe.source,
            f"foreach tolerated_failure_percentage {share!r} is not a number from 0 to 100",
            "pass the share of samples that may fail without failing the run, e.g. 5 (0, "
            "the default, fails the run on any failed sample)",
        )
    elif share and fe.strategy != "map":
        yield error(
            "tolerance-needs-map", fe.source,
            f"foreach tolerated_failure_percentage={share} is honoured by strategy=\"map\" "
            f"only, not by {fe.strategy!r}",
            "pass strategy=\"map\", or leave tolerated_failure_percentage out",
        )
    if (fe.strategy == "map" and isinstance(fe.max_concurrency, int)
            and fe.max_concurrency > limits.DISTRIBUTED_MAP_CONCURRENCY):
        yield error(
            "map-concurrency", fe.source,
            f"foreach max_concurrency {fe.max_concurrency:,} is more child executions than a "
            f"Distributed Map runs at once ({limits.DISTRIBUTED_MAP_CONCURRENCY:,})",
            f"pass max_concurrency={limits.DISTRIBUTED_MAP_CONCURRENCY} or fewer (0: as many "
            "as Step Functions allows)",
        )


def tolerant_blocks_in_order(wf: model.Workflow) -> Iterator[Diagnostic]:
    """Failures tolerated by a map block leave later steps the survivors' sheet; two blocks
    that may run side by side would each leave their own (their survivors are not
    intersected), so a tolerance needs the workflow's per-sample blocks in one order. Blocks
    are grouped as the compiler groups them: per-sample jobs by the once-jobs they follow."""
    fe = wf.foreach
    if fe is None or fe.strategy != "map" or not fe.tolerated_failure_percentage:
        return
    anc = ancestors(wf)
    per_sample = {j.name for j in wf.jobs if j.per_sample}
    blocks: dict[frozenset[str], list[str]] = {}
    for j in wf.jobs:
        if j.per_sample:
            blocks.setdefault(anc[j.name] - per_sample, []).append(j.name)
    groups = list(blocks.values())
    for i, first in enumerate(groups):
        for second in groups[i + 1:]:
            if not any(anc[b] & set(first) for b in second) and not any(
                    anc[a] & set(second) for a in first):
                yield error(
                    "tolerant-blocks-side-by-side", fe.source,
                    f"per-sample jobs {', '.join(first)} and {', '.join(second)} may run side "
                    "by side, but with tolerated_failure_percentage="
                    f"{fe.tolerated_failure_percentage} a later step must know which samples "
                    "survived both",
                    f"make {second[0]} run after {first[-1]} (after=[...]), or leave "
                    "tolerated_failure_percentage out")
                return


CHECKS: tuple[Check, ...] = (inline_fits, map_settings, tolerant_blocks_in_order)
