"""Which fan-out strategy a workflow compiles to, and the arithmetic behind the choice.

``inline`` runs every sample's stages in one inline Map: each sample proceeds on its own,
but the execution's history grows with samples times stages (:func:`inline_history_events`) and
the samples travel in the execution input. ``array`` runs each per-sample stage as Batch
array jobs over a manifest of only the samples that need it: history and payloads do not
depend on the number of samples, at the price of a barrier between stages. ``map`` runs each
sample's stages in its own child execution of a Distributed Map over the sheet in S3: no
barrier between stages and a parent history that does not grow with samples, at the price of
one child execution (and its transitions) per sample.

``auto`` (the default) picks ``inline`` only when its history and input fit at the
workflow's declared ``max_samples`` (``foreach(..., max_samples=...)``), else ``array``.
``map`` is never chosen by ``auto``: a workflow asks for it with ``strategy="map"``.
"""

from __future__ import annotations

from typing import Literal

from orchestrator import model
from orchestrator_runtime import limits

Strategy = Literal["inline", "array", "map"]

# Measured on the local engine (benchmarks/history.py prints these against a run's history):
# a run records 21 + N·(10 + 20·S) events for N samples and S per-sample stages inline
# (a stage that runs: Check, Skip the job?, Run the job, Verify the outputs, Which stage next?).
INLINE_FIXED_EVENTS = 21
INLINE_EVENTS_PER_SAMPLE = 10
INLINE_EVENTS_PER_SAMPLE_STAGE = 20
# Bytes one sample-sheet row of three short columns takes in the execution input.
INLINE_BYTES_PER_SAMPLE = 109


def inline_history_events(samples: int, stages: int) -> int:
    return INLINE_FIXED_EVENTS + samples * (
        INLINE_EVENTS_PER_SAMPLE + INLINE_EVENTS_PER_SAMPLE_STAGE * stages)


def inline_max_samples(stages: int) -> int:
    """The most samples an inline run of ``stages`` per-sample stages can hold."""
    by_history = (limits.HISTORY_EVENTS - INLINE_FIXED_EVENTS) // (
        INLINE_EVENTS_PER_SAMPLE + INLINE_EVENTS_PER_SAMPLE_STAGE * stages)
    by_payload = limits.PAYLOAD_BYTES // INLINE_BYTES_PER_SAMPLE
    return min(by_history, by_payload)


def per_sample_stages(wf: model.Workflow) -> int:
    return sum(1 for j in wf.jobs if j.per_sample)


def choose(wf: model.Workflow) -> Strategy:
    """The strategy ``wf`` compiles to (``inline`` for a workflow without fan-out)."""
    if wf.foreach is None:
        return "inline"
    asked = wf.foreach.strategy
    if asked != "auto":
        return asked
    fits = wf.foreach.max_samples <= inline_max_samples(per_sample_stages(wf))
    return "inline" if fits else "array"


def reads_sheet(wf: model.Workflow) -> bool:
    """Whether a run of ``wf`` reads its rows from a sheet in S3 (``array`` and ``map``): the
    run's first step checks the rows and writes the sheet every later step reads, and no
    per-sample list travels through the state machine."""
    return wf.foreach is not None and choose(wf) in ("array", "map")
