"""The ``inline`` strategy: every sample's stages run in one inline Map iteration.

Samples do not wait for each other between stages, but the execution's history grows with
samples times stages (see orchestrator.fanout) and the samples travel in the execution input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator import blocks, dag, model, names
from orchestrator.asl.states import (
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Machine,
    Map,
    Parallel,
    Pass,
    State,
)
from orchestrator.compiler import stages
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from orchestrator.blocks import Block
    from orchestrator.compiler.compile import Emitter


def guard(wf: model.Workflow, start: str) -> list[State]:
    """Without rows the Map would do nothing and a stage gathering over samples would fail
    late; a "samples" that is not a list would raise States.Runtime at the Map."""
    assert wf.foreach is not None
    column = wf.foreach.column
    return [Choice(names.ANY_SAMPLES, rules=(ChoiceRule(
                f"$.{c.SAMPLES_KEY}[0]", "IsPresent", False, names.NO_SAMPLES),),
                   default=start),
            Fail(names.NO_SAMPLES, error=c.ERR_NO_SAMPLES, cause=(
                f"workflow {wf.name!r} runs once per sample, but the execution input has "
                f"no samples: start it with {{\"{c.SAMPLES_KEY}\": [{{\"{column}\": "
                f"\"S1\"}}, ...]}} or a sample sheet"))]


def block(em: Emitter, b: Block, next_: str) -> tuple[str, list[State]]:
    """One inline Map over the input's samples; each iteration runs the block's stages for
    its sample, a failed sample ends only its own iteration, and the summary fails the run
    if any failed."""
    assert em.wf.foreach is not None
    column = em.wf.foreach.column
    n = b.states
    inner = blocks.block_plan(b, em.weights)
    body = Parallel(
        n.body,
        branches=tuple(em.branch(x) for x in
                       (inner.branches if isinstance(inner, dag.Par) else (inner,))),
        next=n.ok,
        result_path=None,
        catch=(Catch(next=n.failed, result_path="$.error"),),
        comment="A failed sample ends its own iteration; the other samples go on",
    )
    # Only paths that exist for every row: "$.sample.<column>" raises States.Runtime on a
    # row without the column, which no Catch catches, and would end every sample's work.
    # The summary names the sample from the row at "index".
    ok = Pass(n.ok, parameters={"index.$": "$.index", "status": "SUCCEEDED"})
    failed = Pass(n.failed, parameters={
        "index.$": "$.index", "status": "FAILED", "error.$": "$.error"})
    fan_out = Map(
        b.name,
        items_path=f"$.{c.SAMPLES_KEY}",
        item_selector={"sample.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index",
                       "params.$": f"$.{c.PARAMS_KEY}", "force.$": f"$.{c.FORCE_KEY}",
                       "only.$": f"$.{c.ONLY_KEY}"},
        processor=Machine(body.name, (body, ok, failed)),
        max_concurrency=em.wf.foreach.max_concurrency,
        result_path="$.block_results",
        next=n.summarize,
    )
    verdict = stages.block_verdict(n, {
        "workflow": em.wf.name, "block": b.name, "execution.$": "$$.Execution.Id",
        "results.$": "$.block_results", "samples.$": f"$.{c.SAMPLES_KEY}",
        "sample_column": column}, next_)
    return fan_out.name, [fan_out, *verdict]
