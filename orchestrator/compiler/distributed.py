"""The ``map`` strategy: a Distributed Map over the run's sheet in S3, one child execution
per sample running the block's stages with the per-sample checks of the inline strategy.

Run:      Read sample sheet (check function: checks the rows once, writes them as the Map's
          items, a JSON array, under the run's folder) -> the Distributed Map: its ItemReader
          reads the items, each child runs its sample's stages without waiting for the other
          samples; a failed stage fails only its child. Every child runs to its end
          (ToleratedFailureCount: all); the ResultWriter writes what each ended with under
          the run's folder, so no per-sample result travels through the parent.
Verdict:  Summarize samples (check function: reads the ResultWriter's manifest and FAILED
          files, names the failed samples) -> fails the run when more samples failed than
          the workflow tolerates (foreach(tolerated_failure_percentage=...), default 0),
          before any stage that gathers over samples. Failures within the tolerated share:
          the summary writes the sheet of the samples that did not fail, and ``$.sheet``
          points at it, so a stage that gathers over samples, and a later block, runs over
          those only (a Parallel that holds the block hands its sheet on: see compile.py).
Inside a child ``$$.Execution.Id`` names the child: the run's execution travels in the
child's input (``$.execution``) so task documents, job tags and job-state rows are the run's.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from orchestrator import blocks, model
from orchestrator.asl.states import (
    Choice,
    ChoiceRule,
    DistributedMap,
    Json,
    Machine,
    Parallel,
    Pass,
    State,
    Task,
)
from orchestrator.compiler import array, stages
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from orchestrator.blocks import Block
    from orchestrator.compiler.compile import Emitter

S3_GET = "arn:aws:states:::s3:getObject"
S3_PUT = "arn:aws:states:::s3:putObject"
EXECUTION = "$$.Execution.Id"
CHILD_EXECUTION = "$.execution"  # the run's execution ARN, in each child's input
# Every child runs to its end; the summary applies the workflow's own tolerance afterwards.
# A count, not ToleratedFailurePercentage 100: statelint wants that percentage an integer
# (the API types it Float) and moto's parser refuses an integer there. The count is a Long
# of at least 0 (UpdateMapRun, DescribeMapRun); no sheet has this many rows.
ALL_MAY_FAIL = 2_147_483_647


def prelude(wf: model.Workflow, start: str) -> list[State]:
    """The array strategy's prelude, whose sheet step also writes the Map's items and says
    where its results go (SheetResponse bucket, items, results)."""
    read, *rest = array.prelude(wf, start)
    assert isinstance(read, Task)
    payload: Json = {**read.parameters["Payload"], "items": True,
                     f"{c.PARAMS_KEY}.$": f"$.{c.PARAMS_KEY}",
                     f"{c.FORCE_KEY}.$": f"$.{c.FORCE_KEY}", f"{c.ONLY_KEY}.$": f"$.{c.ONLY_KEY}"}
    selector = {**(read.result_selector or {}),
                **{f"{k}.$": f"$.Payload.{k}" for k in ("bucket", "items", "results")}}
    return [dataclasses.replace(read, parameters={**read.parameters, "Payload": payload},
                                result_selector=selector), *rest]


def hand_on(wf: model.Workflow, state: Parallel, has_block: list[bool]) -> Parallel:
    """A Parallel whose branch holds a map block that may tolerate failed samples: the
    branch's ``$.sheet`` (the survivors') goes on after it, not the one the Parallel read.
    Blocks in two branches would need their survivors intersected: validation refuses that
    (checks/fanout.py), so at most one branch is here."""
    assert wf.foreach is not None
    if not wf.foreach.tolerated_failure_percentage or not any(has_block):
        return state
    assert has_block.count(True) == 1, "validation refuses side-by-side tolerant blocks"
    carried = {k: f"$[0].{k}" for k in (c.PARAMS_KEY, c.FORCE_KEY, c.ONLY_KEY)}
    return dataclasses.replace(state, result_path="$", result_selector={
        **{f"{k}.$": v for k, v in carried.items()},
        "sheet.$": f"$[{has_block.index(True)}].sheet"})


def block(em: Emitter, b: Block, next_: str) -> tuple[str, list[State]]:
    """One Distributed Map over the sheet; each child runs the block's stages for its
    sample; the summary fails the run if more samples failed than tolerated."""
    fe = em.wf.foreach
    assert fe is not None
    n = b.states
    inner = blocks.block_plan(b, em.weights)
    ok = Pass(n.ok, parameters={"index.$": "$.index", "status": "SUCCEEDED"},
              comment="A small output: the ResultWriter keeps one per sample")
    with em.scoped(n.body) as scope:
        start, sts = em.emit(inner, ok.name)
    fan_out = DistributedMap(
        b.name,
        reader={"Resource": S3_GET, "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": "$.sheet.bucket", "Key.$": "$.sheet.items"}},
        item_selector={"sample.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index",
                       "params.$": f"$.{c.PARAMS_KEY}", "force.$": f"$.{c.FORCE_KEY}",
                       "only.$": f"$.{c.ONLY_KEY}", "execution.$": EXECUTION},
        processor=Machine(start, (*sts, *scope.states(), ok)),
        max_concurrency=fe.max_concurrency,
        writer={"Resource": S3_PUT,
                "Parameters": {"Bucket.$": "$.sheet.bucket", "Prefix.$": "$.sheet.results"}},
        tolerated_failure_count=ALL_MAY_FAIL,
        rebind=((EXECUTION, CHILD_EXECUTION),),
        result_path="$.block_results",
        next=n.summarize,
        comment="Each sample in its own child execution; a failed sample fails only its own",
    )
    tolerant = bool(fe.tolerated_failure_percentage)  # else a failure fails the run
    survivors: Json = {"bucket": em.wf.bucket, "run_sheet.$": "$.sheet"} if tolerant else {}
    summary, _, fail = stages.block_verdict(n, {
        "workflow": em.wf.name, "block": b.name, "execution.$": EXECUTION,
        "sample_column": fe.column, "written.$": "$.block_results.ResultWriterDetails",
        "total.$": "$.sheet.count", "tolerated": fe.tolerated_failure_percentage,
        **survivors}, next_)
    assert isinstance(summary, Task)
    summary = dataclasses.replace(summary, result_selector={
        **(summary.result_selector or {}), "over.$": "$.Payload.over",
        **({"sheet.$": "$.Payload.sheet"} if tolerant else {})})
    choice = Choice(n.any_failed, rules=(
        ChoiceRule("$.block_results.over", "BooleanEquals", True, n.fail),),
        default=n.survivors if tolerant else next_,
        comment="More failed samples than the workflow tolerates?")
    if not tolerant:
        return fan_out.name, [fan_out, summary, choice, fail]
    # The summary's sheet: the one the Map read, or (failures tolerated) the survivors'.
    keep = Pass(n.survivors, input_path="$.block_results.sheet", result_path="$.sheet",
                next=next_, comment="Later stages, and any gathering stage, read the samples "
                                    "that did not fail")
    return fan_out.name, [fan_out, summary, choice, fail, keep]
