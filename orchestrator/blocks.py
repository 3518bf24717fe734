"""How a workflow is laid out before any state is built: per-sample jobs grouped into Map
blocks, and the plan (orchestrator.dag) of the top level and of each block, weighted by the
jobs' timeouts. The compiler emits states along these plans; orchestrator.defsize adds up
their cost along the same plans, so a workflow's size is known without building it."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from orchestrator import dag, model, names

N = TypeVar("N", bound=Hashable)


@dataclass(frozen=True, eq=False)  # a node of the top-level plan, by identity
class Block:
    """Per-sample jobs that run inside one Map iteration."""

    states: names.Block
    jobs: tuple[str, ...]
    preds: dict[str, frozenset[str]]

    @property
    def name(self) -> str:
        return self.states.map


Node = str | Block  # a top-level node: a once-job by name, or a Map block


def label(node: Node) -> str:
    """The state name a node is known by: the job's name, or the block's Map state."""
    return node.name if isinstance(node, Block) else node


def group(wf: model.Workflow) -> tuple[list[Node], dict[Node, frozenset[Node]], list[Block]]:
    """Top-level nodes (once-jobs and Map blocks), their predecessors, and the blocks.

    Per-sample jobs are grouped by the set of once-jobs they depend on (transitively): two
    jobs with the same set can share a Map without creating a cycle through a once-job.
    """
    order = [j.name for j in wf.jobs]
    preds = {j.name: frozenset(j.after) for j in wf.jobs}
    per_sample = {j.name for j in wf.jobs if j.per_sample}
    anc = dag.ancestors(order, preds)
    keys: dict[frozenset[str], list[str]] = {}
    for n in order:
        if n in per_sample:
            keys.setdefault(frozenset(a for a in anc[n] if a not in per_sample), []).append(n)
    column = wf.foreach.column if wf.foreach else "sample"
    node_of: dict[str, Node] = {n: n for n in order}
    blocks: list[Block] = []
    for k, members in enumerate(keys.values(), start=1):
        b = Block(names.block(column, k if len(keys) > 1 else None), tuple(members),
                  {m: preds[m] & set(members) for m in members})
        blocks.append(b)
        node_of.update({m: b for m in members})
    nodes: list[Node] = []
    top: dict[Node, set[Node]] = {}
    for n in order:
        node = node_of[n]
        if node not in top:
            nodes.append(node)
            top[node] = set()
        top[node] |= {node_of[p] for p in preds[n] if node_of[p] != node}
    return nodes, {k: frozenset(v) for k, v in top.items()}, blocks


def job_weights(wf: model.Workflow) -> dict[str, float]:
    """Planning weights: a job's timeout stands in for its duration (users size timeouts to
    expected run time)."""
    return {j.name: float(j.timeout_seconds) for j in wf.jobs}


def weights(wf: model.Workflow, blocks: list[Block]) -> dict[Node, float]:
    """Job weights, and a Map block weighs its inner critical path."""
    jobs = job_weights(wf)
    w: dict[Node, float] = {k: v for k, v in jobs.items()}
    for b in blocks:
        w[b] = dag.critical_path(list(b.jobs), b.preds, jobs)
    return w


def top_plan(wf: model.Workflow) -> tuple[dag.Plan[Node], dict[Node, float]]:
    """The top-level plan (once-jobs and blocks, as leaves) and the weights it was made
    with (a block's inner plan is made with the same weights)."""
    nodes, preds, found = group(wf)
    w = weights(wf, found)
    return dag.plan(nodes, preds, w), w


def block_plan(b: Block, w: dict[Node, float]) -> dag.Plan[Node]:
    """The plan of a block's own jobs."""
    jobs: list[Node] = list(b.jobs)
    preds: dict[Node, frozenset[Node]] = {k: v for k, v in b.preds.items()}
    return dag.plan(jobs, preds, w)


def branch_name(p: dag.Plan[N], label: Callable[[N], str]) -> str:
    """What a Parallel branch is named after: what it starts with. Its first job would not
    do: a branch that starts with a Parallel shares that job with the Parallel's first
    branch."""
    first = p.items[0] if isinstance(p, dag.Seq) else p
    if isinstance(first, dag.Par):
        return parallel_name(first, label)
    return label(dag.leaves(first)[0])


def parallel_name(p: dag.Par[N], label: Callable[[N], str]) -> str:
    return names.parallel([label(dag.leaves(b)[0]) for b in p.branches])
