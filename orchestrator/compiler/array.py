"""The ``array`` strategy: each per-sample stage is Batch array jobs over the samples that
need it, so a run's transitions and history do not depend on how many samples it has.

One stage:  Plan (check function: which samples are missing or stale; writes a manifest)
            -> How many? 0: done | 1: one job | up to 10,000: one array job | more: a Map
            over chunks of at most 10,000 -> Collect (which samples now have complete
            outputs; why the others failed). A failed sample only fails itself: later plans
            leave it out, and the block's summary fails the run before anything gathers.
Payloads hold counts and S3 URIs (the sheet, the manifest), never per-sample lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator import model, names
from orchestrator.asl.states import (
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Json,
    Machine,
    Map,
    Parallel,
    Pass,
    State,
    Succeed,
    Task,
)
from orchestrator.compiler import dag, stages
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

if TYPE_CHECKING:
    from orchestrator.compiler.compile import Block, Emitter

PLAN = "$.plan"  # the stage's PlanResponse while it runs
BATCH = "$.batch"  # what its Batch task(s) returned, or the error they raised


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
    jobs: list[str] = list(b.jobs)
    inner = dag.plan(jobs, b.preds, {j: em.weights.get(j, 1.0) for j in jobs})
    start, body = _emit(em, inner, n.summarize)
    verdict = stages.block_verdict(n, {
        "workflow": wf.name, "block": b.name, "execution.$": "$$.Execution.Id",
        "bucket": wf.bucket, "sheet.$": stages.SHEET_URI, "stages": list(b.jobs)}, next_)
    return start, [*body, *verdict]


def _emit(em: Emitter, p: dag.Plan[str], next_: str) -> tuple[str, list[State]]:
    if isinstance(p, dag.Leaf):
        sts = stage_states(em.wf, em.wf.job(p.name), next_)
        return sts[0].name, sts
    if isinstance(p, dag.Seq):
        out: list[State] = []
        for item in reversed(p.items):
            next_, sts = _emit(em, item, next_)
            out = sts + out
        return next_, out
    branches = []
    for branch in p.branches:
        done = Succeed(names.branch_done(stages.branch_name(branch, str)))
        start, sts = _emit(em, branch, done.name)
        branches.append(Machine(start, (*sts, done)))
    name = stages.parallel_name(p, str)
    return name, [Parallel(name, branches=tuple(branches), next=next_, result_path=None,
                           comment="Independent stages run at the same time")]


def _payload(wf: model.Workflow, job: model.Job, action: c.Action,
             submitted: str | None = None) -> Json:
    payload = stages.check_payload(wf, job, action, submitted)
    payload.pop("sample.$", None)
    return payload | {"sheet.$": stages.SHEET_URI}


def stage_states(wf: model.Workflow, job: model.Job, next_: str) -> list[State]:
    """States of ``job`` over every sample; the stage continues to ``next_`` when done."""
    n = names.array_stage(job.name)
    to_explain = (Catch(next=n.explain, result_path="$.error"),)
    to_collect = (Catch(next=n.collect, result_path=BATCH),)
    plan = Task(
        n.plan, resource=stages.LAMBDA_INVOKE,
        parameters=stages.invoke(_payload(wf, job, "plan")),
        # what the Choice, the Batch tasks and "collect" read
        result_selector={f"{k}.$": f"$.Payload.{k}" for k in (
            "count", "failed", "blocked", "manifest", "chunks", "submit")},
        result_path=PLAN, retry=(stages.LAMBDA_RETRY,), catch=to_explain, next=n.how_many,
        comment=stages.where(job),
    )
    how_many = Choice(n.how_many, rules=(
        ChoiceRule(f"{PLAN}.count", "NumericEquals", 0, next_),
        ChoiceRule(f"{PLAN}.count", "NumericEquals", 1, n.run_one),
        ChoiceRule(f"{PLAN}.count", "NumericLessThanEquals", limits.BATCH_ARRAY_MAX,
                   n.run_array),
    ), default=n.run_chunks)
    submit = stages.submit_parameters(f"{PLAN}.submit")
    one = _run_task(n.run_one, submit, n.collect, to_collect)
    array = _run_task(n.run_array, submit | {
        "ArrayProperties": {"Size.$": f"{PLAN}.count"}}, n.collect, to_collect)
    chunk = _run_task(n.run_chunk, stages.submit_parameters(
        f"{PLAN}.submit", "$.chunk.overrides") | {
        "ArrayProperties": {"Size.$": "$.chunk.size"}}, None,
        (Catch(next=n.chunk_ended, result_path="$"),))
    ended = Pass(n.chunk_ended, comment="A failed chunk fails only its samples")
    chunks = Map(
        n.run_chunks, items_path=f"{PLAN}.chunks",
        item_selector={"chunk.$": "$$.Map.Item.Value", "plan.$": PLAN},
        processor=Machine(chunk.name, (chunk, ended)), max_concurrency=0,
        result_path=BATCH, next=n.collect,
        comment=f"More than {limits.BATCH_ARRAY_MAX:,} samples: one array job per chunk",
    )
    collect = Task(
        n.collect, resource=stages.LAMBDA_INVOKE,
        parameters=stages.invoke(_payload(wf, job, "collect", f"{PLAN}.submit") | {
            "plan.$": PLAN, "batch.$": BATCH}),
        result_selector={"failed.$": "$.Payload.failed"}, result_path="$.collected",
        retry=(stages.LAMBDA_RETRY,), catch=to_explain, next=next_,
    )
    explain, fail = stages.failure_states(wf, job, n.explain, n.failed, sample=False)
    return [plan, how_many, one, array, chunks, collect, explain, fail]


def _run_task(name: str, parameters: Json, next_: str | None, catch: tuple[Catch, ...]) -> Task:
    return Task(name, resource=stages.BATCH_SUBMIT_SYNC, parameters=parameters,
                result_selector={"JobId.$": "$.JobId"}, result_path=BATCH if next_ else "$",
                retry=(stages.BATCH_RETRY,), catch=catch, next=next_)
