"""How large a workflow's compiled definition can be, from the model, without building it.

Validation needs the answer at once, before any state is built. This walks the plan the
compiler follows (orchestrator.blocks: the grouping into Map blocks and orchestrator.dag's
plan, milliseconds even at hundreds of jobs) and adds up the cost of each construct the
compiler emits there: each stage's own state, the states each scope's stages share
(orchestrator.compiler.scope), Parallels, branches and blocks. A cost is a fixed number of
bytes plus so many bytes per byte of each name it repeats (the job's name, the workflow's
name and the foreach column in payloads, the job's source location in a comment, the scope's
tag in shared state names), plus one line's indentation per state, at its deepest. Each
substituted ARN is counted at its longest. The sum is an upper bound of the deployed size
(tests/unit/test_defsize.py compares it with the compiler on chains, random DAGs, the
examples and the goldens: within 10%), close enough to refuse a workflow before compiling.

The constants were measured on the compiler's output (a stage's bytes with the indentation
taken out, and how they grow with each name); a change to the compiled shapes changes them,
and tests/unit/test_defsize.py fails until they are measured again. The size table of
benchmarks/compile_scale.py shows the estimate beside the deployed size, per stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator import blocks, dag, fanout, model, names

MAX_INDENT = 8  # the compiler indents a state's line by its depth, at most this many spaces


@dataclass(frozen=True)
class Cost:
    """Bytes of one construct: ``fixed``, plus per byte of each name it repeats, plus the
    indentation of its ``lines`` state lines."""

    fixed: int
    job: int = 0  # per byte of the job's name
    workflow: int = 0  # per byte of the workflow's name
    column: int = 0  # per byte of the foreach column
    source: int = 0  # per byte of "file.py:line"
    lines: int = 0

    def of(self, job: int = 0, workflow: int = 0, column: int = 0, source: int = 0) -> int:
        return (self.fixed + self.job * job + self.workflow * workflow
                + self.column * column + self.source * source + self.lines * MAX_INDENT)


# One stage, by strategy: its own state (orchestrator.compiler.scope), the two Choice rules
# that lead to its successor, and the references to it; in a Parallel branch each stage also
# names two of its scope's shared states (STAGE_SCOPE_NAMES times the scope's tag).
STAGE: dict[str, Cost] = {
    "inline": Cost(1350, job=7, workflow=1, column=1, source=1, lines=1),
    "once": Cost(1332, job=7, workflow=1, source=1, lines=1),
    "once_in_array": Cost(1362, job=7, workflow=1, column=1, source=1, lines=1),
    "once_in_inline": Cost(1360, job=7, workflow=1, column=1, source=1, lines=1),
    "array": Cost(1403, job=6, workflow=1, column=1, source=1, lines=1),
    "map": Cost(1343, job=7, workflow=1, column=1, source=1, lines=1),  # as inline's
    "once_in_map": Cost(1362, job=7, workflow=1, column=1, source=1, lines=1),
}
STAGE_SCOPE_NAMES = 2
# A scope's only stage has no Choice rules and one reference: STAGE counts its name 7 times
# (its state's key, payload and ResultSelector, two rules, two references), this one 4 times,
# and the scope has no "Which stage next?".
SINGLE_STAGE = Cost(50, job=3)
# A tagged name is at most 80 characters: the tag adds at most 80 - len("Run one job").
TAG_MAX = 69
# The states the stages of one scope share, by their kind (a scope of array stages and
# once-stages has both, sharing SHARED_COMMON once), and how many times they name the scope
# (its tag, " (<first job> branch)" in a Parallel branch, "" at the top).
SHARED: dict[str, Cost] = {
    "inline": Cost(2530, workflow=1, column=3, lines=6),
    "once": Cost(2484, workflow=1, lines=6),
    "once_in_array": Cost(2439, column=2, lines=6),
    "once_in_inline": Cost(2524, workflow=1, column=1, lines=6),
    "array": Cost(4792, column=3, lines=11),
    "map": Cost(2489, column=4, lines=6),
    "once_in_map": Cost(2602, column=2, lines=6),
}
SHARED_COMMON = Cost(850)  # explain, fail and "Which stage next?" (bytes of the smallest)
SCOPE_NAMES = {"array": 25}  # how often the shared states name their scope, by kind
CHECK_SCOPE_NAMES = 13  # every other kind (check, skip, run, verify)
# The workflow's own states (input defaults, the guard or the sheet's prelude, Done), and
# one Map block's (inline: the Map, its body and the summary; array: the summary).
WORKFLOW: dict[str, Cost] = {
    "none": Cost(509, workflow=3, lines=3),
    "inline": Cost(820, workflow=4, column=2, lines=8),
    "array": Cost(2446, workflow=6, column=1, lines=12),
    "map": Cost(2446, workflow=6, column=1, lines=12),  # the array's prelude
}
BLOCK: dict[str, Cost] = {
    "inline": Cost(2100, workflow=1, column=2, lines=20),
    "array": Cost(864, workflow=1, lines=6),
    "map": Cost(2250, workflow=1, column=2, lines=20),
}
# A map block's child executions are a scope of their own, tagged " (Sample pipeline (N))".
MAP_CHILD_TAG = len(" (Sample pipeline (99))")
# A map block that tolerates failures also hands the survivors' sheet on.
MAP_TOLERANCE = Cost(400, lines=2)
# An array block's summary lists its stages: per stage, its name and 3 bytes.
ARRAY_BLOCK_STAGE = Cost(3, job=1)
# A Parallel: its key and two references to it, besides its name; each of its branches: the
# Succeed that ends it ("<first job> branch done": its key and two references), besides it.
PARALLEL = Cost(140, lines=8)
BRANCH = Cost(70, lines=6)
NAME_COPIES = 3


def _bytes(text: str) -> int:
    """Bytes of ``text`` in the definition (JSON-escaped, UTF-8)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _where(job: model.Job) -> str:
    return f"{job.source.file.rsplit('/', 1)[-1]}:{job.source.line}"


def stage_kind(wf: model.Workflow, job: model.Job) -> str:
    if wf.foreach is None:
        return "once"
    strategy = fanout.choose(wf)
    if job.per_sample:
        return strategy
    return f"once_in_{strategy}"


def _shared(kinds: set[str], workflow: int, column: int, tag: int) -> int:
    """Bytes of the states one scope's stages of ``kinds`` share, its names tagged ``tag``."""
    if not kinds:
        return 0
    return (sum(SHARED[k].of(workflow=workflow, column=column) for k in kinds)
            - (len(kinds) - 1) * SHARED_COMMON.of()
            + tag * sum(SCOPE_NAMES.get(k, CHECK_SCOPE_NAMES) for k in kinds))


class _Walk:
    """Adds up the states the compiler emits along the workflow's plan, scope by scope."""

    def __init__(self, wf: model.Workflow, weights: dict[blocks.Node, float]) -> None:
        self.wf = wf
        self.weights = weights
        self.strategy = "none" if wf.foreach is None else fanout.choose(wf)
        self.w = _bytes(wf.name)
        self.col = _bytes(wf.foreach.column) if wf.foreach else 0
        self.total = 0
        self.stages: list[int] = []  # the name bytes of each stage of the current scope

    def scope(self, p: dag.Plan[blocks.Node], tag: int) -> None:
        kinds: set[str] = set()
        outer, self.stages = self.stages, []
        self._items(p, min(tag, TAG_MAX), kinds)
        self.total += _shared(kinds, self.w, self.col, min(tag, TAG_MAX))
        if len(self.stages) == 1:
            self.total -= SINGLE_STAGE.of(job=self.stages[0])
        self.stages = outer

    def _items(self, p: dag.Plan[blocks.Node], tag: int, kinds: set[str]) -> None:
        if isinstance(p, dag.Seq):
            for item in p.items:
                self._items(item, tag, kinds)
        elif isinstance(p, dag.Par):
            self.total += PARALLEL.of() + NAME_COPIES * _bytes(
                blocks.parallel_name(p, blocks.label))
            for branch in p.branches:
                self._branch(branch)
        elif isinstance(p.name, blocks.Block):
            self._block(p.name, tag, kinds)
        else:
            job = self.wf.job(p.name)
            kind = stage_kind(self.wf, job)
            kinds.add(kind)
            self.stages.append(_bytes(job.name))
            self.total += STAGE[kind].of(job=_bytes(job.name), workflow=self.w, column=self.col,
                                         source=_bytes(_where(job))) + STAGE_SCOPE_NAMES * tag

    def _branch(self, p: dag.Plan[blocks.Node]) -> None:
        first = blocks.branch_name(p, blocks.label)
        self.total += BRANCH.of() + NAME_COPIES * _bytes(names.branch_done(first))
        self.scope(p, _bytes(f" ({names.branch_scope(first)})"))

    def _block(self, b: blocks.Block, tag: int, kinds: set[str]) -> None:
        inner = blocks.block_plan(b, self.weights)
        self.total += BLOCK[self.strategy].of(workflow=self.w, column=self.col)
        if self.strategy == "array":  # its stages are the enclosing scope's
            self.total += sum(ARRAY_BLOCK_STAGE.of(job=_bytes(j)) for j in b.jobs)
            self._items(inner, tag, kinds)
        elif self.strategy == "map":  # each child execution is a scope
            fe = self.wf.foreach
            if fe is not None and fe.tolerated_failure_percentage:
                self.total += MAP_TOLERANCE.of()
            self.scope(inner, _bytes(f" ({b.states.body})"))
        else:  # inline: the iteration's Parallel, a branch per independent part
            for branch in inner.branches if isinstance(inner, dag.Par) else (inner,):
                self._branch(branch)


def plannable(wf: model.Workflow) -> bool:
    """Whether the compiler could plan ``wf`` (what :func:`estimate` walks): it has jobs,
    every dependency names a job and none is circular, every timeout reads as a duration,
    per-sample jobs have a foreach. Other checks report what is not so."""
    known = {j.name for j in wf.jobs}
    if not wf.jobs or not all(set(j.after) <= known for j in wf.jobs):
        return False
    if wf.foreach is None and any(j.per_sample for j in wf.jobs):
        return False
    try:
        for j in wf.jobs:
            j.timeout_seconds  # noqa: B018 (raises on a duration it cannot read)
        dag.topological([j.name for j in wf.jobs], {j.name: frozenset(j.after) for j in wf.jobs})
    except (ValueError, TypeError, OverflowError):  # a duration it cannot read, or a cycle
        return False
    return True


def estimate(wf: model.Workflow) -> int:
    """An upper bound of the deployed size of ``wf``'s definition, in bytes (``wf`` must be
    :func:`plannable`)."""
    strategy = "none" if wf.foreach is None else fanout.choose(wf)
    total = WORKFLOW[strategy].of(workflow=_bytes(wf.name), column=_bytes(
        wf.foreach.column) if wf.foreach else 0) + 2 * _bytes(wf.description)
    if strategy in ("array", "map"):
        total += _bytes(wf.bucket)
    plan, weights = blocks.top_plan(wf)
    walk = _Walk(wf, weights)
    walk.scope(plan, 0)
    return total + walk.total
