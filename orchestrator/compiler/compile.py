"""Model -> ASL document. Pure: no AWS calls, no clock, no environment, no files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from orchestrator import model
from orchestrator.asl.check import check
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
    Succeed,
    Task,
)
from orchestrator.compiler import dag, stages
from orchestrator.errors import WorkflowError
from orchestrator_runtime import contracts as c

MAX_DEFINITION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Block:
    """Per-sample jobs that run inside one Map iteration."""

    name: str
    jobs: tuple[str, ...]
    preds: dict[str, frozenset[str]]


def group(wf: model.Workflow) -> tuple[list[str], dict[str, frozenset[str]], dict[str, Block]]:
    """Top-level nodes (once-jobs and Map blocks), their predecessors, and the blocks.

    Per-sample jobs are grouped by the set of once-jobs they depend on (transitively): two
    jobs with the same set can share a Map without creating a cycle through a once-job.
    """
    names = [j.name for j in wf.jobs]
    preds = {j.name: frozenset(j.after) for j in wf.jobs}
    per_sample = {j.name for j in wf.jobs if j.per_sample}
    anc = dag.ancestors(names, preds)
    keys: dict[frozenset[str], list[str]] = {}
    for n in names:
        if n in per_sample:
            keys.setdefault(frozenset(a for a in anc[n] if a not in per_sample), []).append(n)
    column = wf.foreach.column if wf.foreach else "sample"
    node_of = {n: n for n in names}
    blocks: dict[str, Block] = {}
    for k, members in enumerate(keys.values(), start=1):
        name = f"For each {column}" + (f" ({k})" if len(keys) > 1 else "")
        inside = set(members)
        blocks[name] = Block(name, tuple(members), {m: preds[m] & inside for m in members})
        node_of.update({m: name for m in members})
    nodes: list[str] = []
    top: dict[str, set[str]] = {}
    for n in names:
        node = node_of[n]
        if node not in top:
            nodes.append(node)
            top[node] = set()
        top[node] |= {node_of[p] for p in preds[n] if node_of[p] != node}
    return nodes, {k: frozenset(v) for k, v in top.items()}, blocks


class _Emitter:
    def __init__(self, wf: model.Workflow, blocks: dict[str, Block]) -> None:
        self.wf = wf
        self.blocks = blocks

    def emit(self, p: dag.Plan, next_: str) -> tuple[str, list[State]]:
        """States of plan ``p`` continuing to ``next_``; returns (first state, states)."""
        if isinstance(p, dag.Leaf):
            if p.name in self.blocks:
                return self.block(self.blocks[p.name], next_)
            sts = stages.stage_states(self.wf, self.wf.job(p.name), next_)
            return sts[0].name, sts
        if isinstance(p, dag.Seq):
            out: list[State] = []
            for item in reversed(p.items):
                next_, sts = self.emit(item, next_)
                out = sts + out
            return next_, out
        return self.parallel(p, next_)

    def parallel(self, p: dag.Par, next_: str) -> tuple[str, list[State]]:
        branches = [self.branch(b) for b in p.branches]
        firsts = [dag.leaves(b)[0] for b in p.branches]
        name = "Parallel " + " + ".join(firsts)
        if len(name) > 80:
            name = f"Parallel {firsts[0]} + {len(firsts) - 1} more"
        state = Parallel(name, branches=tuple(branches), next=next_, result_path=None,
                         comment="Independent stages run at the same time")
        return name, [state]

    def block(self, b: Block, next_: str) -> tuple[str, list[State]]:
        assert self.wf.foreach is not None
        column = self.wf.foreach.column
        tag = b.name[len(f"For each {column}"):]  # "" or " (2)" when there are several blocks
        n = _block_names(tag)
        inner = dag.plan(list(b.jobs), b.preds, weights(self.wf, {}))
        body = Parallel(
            n.body,
            branches=tuple(self.branch(x) for x in
                           (inner.branches if isinstance(inner, dag.Par) else (inner,))),
            next=n.ok,
            result_path=None,
            catch=(Catch(next=n.failed, result_path="$.error"),),
            comment="A failed sample ends its own iteration; the other samples go on",
        )
        ok = Pass(n.ok, parameters={"sample.$": f"$.sample.{column}", "status": "SUCCEEDED"})
        failed = Pass(n.failed, parameters={
            "sample.$": f"$.sample.{column}", "status": "FAILED", "cause.$": "$.error.Cause"})
        fan_out = Map(
            b.name,
            items_path=f"$.{c.SAMPLES_KEY}",
            item_selector={"sample.$": "$$.Map.Item.Value", "params.$": f"$.{c.PARAMS_KEY}"},
            processor=Machine(body.name, (body, ok, failed)),
            max_concurrency=self.wf.foreach.max_concurrency,
            result_path="$.block_results",
            next=n.summarize,
        )
        summary = Task(
            n.summarize,
            resource=stages.LAMBDA_INVOKE,
            parameters={"FunctionName": "${" + c.SUB_CHECK_FUNCTION + "}", "Payload": {
                "action": "summarize", "workflow": self.wf.name, "block": b.name,
                "execution.$": "$$.Execution.Id", "results.$": "$.block_results"}},
            result_selector={"total.$": "$.Payload.total", "failed.$": "$.Payload.failed",
                             "cause.$": "$.Payload.cause"},
            result_path="$.block_results",
            retry=(stages.LAMBDA_RETRY,),
            next=n.any_failed,
        )
        choice = Choice(n.any_failed, rules=(
            ChoiceRule("$.block_results.failed", "NumericGreaterThan", 0, n.fail),),
            default=next_)
        failure = Fail(n.fail, error=c.ERR_SAMPLES_FAILED, cause_path="$.block_results.cause")
        return fan_out.name, [fan_out, summary, choice, failure]

    def branch(self, p: dag.Plan) -> Machine:
        done = Succeed(f"{dag.leaves(p)[0]} branch done")
        start, sts = self.emit(p, done.name)
        return Machine(start, (*sts, done))


class _BlockNames(NamedTuple):
    """Fixed state names of a Map block. Job names have no spaces, so names of three or more
    words (or ending in '?') can never equal a job's "Run x" / "x failed" states."""

    body: str
    ok: str
    failed: str
    summarize: str
    any_failed: str
    fail: str


def _block_names(tag: str) -> _BlockNames:
    """``tag`` is "" or " (2)" when a workflow has several Map blocks."""
    return _BlockNames(f"Sample pipeline{tag}", f"Sample pipeline{tag} succeeded",
                       f"Sample pipeline{tag} failed", f"Summarize samples{tag}",
                       f"Any sample{tag} failed?", f"Some samples failed{tag}")


def weights(wf: model.Workflow, blocks: dict[str, Block]) -> dict[str, float]:
    """Planning weights: a job's timeout stands in for its duration (users size timeouts to
    expected run time); a Map block weighs its inner critical path."""
    w: dict[str, float] = {j.name: float(j.timeout_seconds) for j in wf.jobs}
    for b in blocks.values():
        w[b.name] = dag.critical_path(list(b.jobs), b.preds, w)
    return w


def build_machine(wf: model.Workflow) -> Machine:
    nodes, preds, blocks = group(wf)
    w = weights(wf, blocks)
    plan = dag.plan(nodes, preds, w)
    done = Pass("Done", parameters={"workflow": wf.name,
                                    "samples.$": f"States.ArrayLength($.{c.SAMPLES_KEY})"})
    start, sts = _Emitter(wf, blocks).emit(plan, done.name)
    defaults = Pass("Read input", next="Apply defaults", parameters={
        "defaults": {c.PARAMS_KEY: {}, c.SAMPLES_KEY: []}, "input.$": "$"},
        comment="samples and params may be omitted from the execution input")
    merge = Pass("Apply defaults", next=start, output_path="$.merged", parameters={
        "merged.$": "States.JsonMerge($.defaults, $.input, false)"})
    comment = f"{wf.name}: {wf.description}" if wf.description else wf.name
    return Machine(defaults.name, (defaults, merge, *sts, done),
                   comment=f"{comment} (generated by orchestrator; do not edit)")


def compile_workflow(wf: model.Workflow) -> dict[str, Any]:
    """The ASL document of a valid workflow (validate first: see orchestrator.validate)."""
    doc = build_machine(wf).render()
    check(doc)
    size = len(render(doc).encode())
    if size > MAX_DEFINITION_BYTES:
        from orchestrator.validate import check_definition_size

        raise WorkflowError(check_definition_size(wf, render(doc)))
    return doc


def render(doc: dict[str, Any]) -> str:
    """Deterministic JSON: key order as built, indent 2, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
