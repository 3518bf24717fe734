"""The ``array`` strategy: each per-sample stage is Batch array jobs over the samples that
need it, so a run's transitions and history do not depend on how many samples it has.

One stage:  Plan x (check function: which samples are missing or stale; writes a manifest)
            -> How many samples? 0: done | 1: one job | up to 10,000: one array job | more:
            a Map over chunks of at most 10,000 -> Collect the results (which samples now
            have complete outputs; why the others failed); every state after "Plan x" is
            shared by the stages of its scope (orchestrator.compiler.scope). A failed sample
            only fails itself: later plans leave it out, and the block's summary fails the
            run before anything gathers.
Payloads hold counts and S3 URIs (the sheet, the manifest), never per-sample lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator import blocks, dag, model, names
from orchestrator.asl.states import (
    Catch,
    Fail,
    Machine,
    Parallel,
    Pass,
    State,
    Succeed,
    Task,
)
from orchestrator.compiler import stages
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from orchestrator.blocks import Block, Node
    from orchestrator.compiler.compile import Emitter


def prelude(wf: model.Workflow, start: str) -> list[State]:
    """Read the run's rows once (inline samples or a sheet in S3), check them, keep only the
    sheet's location and row count in the state."""
    assert wf.foreach is not None
    read = Task(
        names.READ_SHEET,
        resource=stages.LAMBDA_INVOKE,
        parameters=stages.invoke({
            "action": "sheet", "workflow": wf.name, "execution.$": "$$.Execution.Id",
            "bucket": wf.bucket, "sample_column": wf.foreach.column,
            "samples.$": f"$.{c.SAMPLES_KEY}", "sheet.$": "$.sheet"}),
        result_selector={"sheet.$": "$.Payload.sheet", "count.$": "$.Payload.count"},
        result_path="$.sheet",
        retry=(stages.LAMBDA_RETRY,),
        catch=(Catch(next=names.EXPLAIN_SHEET, result_path="$.error"),),
        next=names.KEEP_SHEET,
        comment="Check the samples once; a bad sheet fails the run here, naming the row",
    )
    explain = Task(
        names.EXPLAIN_SHEET, resource=stages.LAMBDA_INVOKE,
        parameters=stages.invoke({"action": "explain", "workflow": wf.name,
                                  "execution.$": "$$.Execution.Id", "error.$": "$.error"}),
        result_selector={"Error.$": "$.Payload.error", "Cause.$": "$.Payload.cause"},
        result_path="$.failure", retry=(stages.LAMBDA_RETRY,),
        catch=(Catch(next=names.BAD_SHEET, result_path="$.failure"),), next=names.BAD_SHEET)
    bad = Fail(names.BAD_SHEET, error=c.ERR_BAD_SHEET, cause_path="$.failure.Cause")
    keep = Pass(names.KEEP_SHEET, next=start, parameters={
        f"{c.PARAMS_KEY}.$": f"$.{c.PARAMS_KEY}", f"{c.FORCE_KEY}.$": f"$.{c.FORCE_KEY}",
        f"{c.ONLY_KEY}.$": f"$.{c.ONLY_KEY}", "sheet.$": "$.sheet"})
    return [read, explain, bad, keep]


def block(em: Emitter, b: Block, next_: str) -> tuple[str, list[State]]:
    """The block's stages in dependency order (side by side where independent), then the
    summary that fails the run if any sample failed."""
    wf = em.wf
    n = b.states
    inner = blocks.block_plan(b, em.weights)
    start, body = _emit(em, inner, n.summarize)
    verdict = stages.block_verdict(n, {
        "workflow": wf.name, "block": b.name, "execution.$": "$$.Execution.Id",
        "bucket": wf.bucket, "sheet.$": stages.SHEET_URI, "stages": list(b.jobs)}, next_)
    return start, [*body, *verdict]


def _emit(em: Emitter, p: dag.Plan[Node], next_: str) -> tuple[str, list[State]]:
    if isinstance(p, dag.Leaf):
        assert isinstance(p.name, str)  # a block's plan holds its jobs
        sts = em.scope.stage(em.wf.job(p.name), next_)
        return sts[0].name, sts
    if isinstance(p, dag.Seq):
        out: list[State] = []
        for item in reversed(p.items):
            next_, sts = _emit(em, item, next_)
            out = sts + out
        return next_, out
    branches = []
    for branch in p.branches:
        first = blocks.branch_name(branch, blocks.label)
        done = Succeed(names.branch_done(first))
        with em.scoped(names.branch_scope(first)) as scope:
            start, sts = _emit(em, branch, done.name)
        branches.append(Machine(start, (*sts, *scope.states(), done)))
    name = blocks.parallel_name(p, blocks.label)
    return name, [Parallel(name, branches=tuple(branches), next=next_, result_path=None,
                           comment="Independent stages run at the same time")]
