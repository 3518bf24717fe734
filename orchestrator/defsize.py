"""How large a workflow's compiled definition can be, from the model alone.

The compiler plans the workflow (orchestrator.compiler.dag) and builds its states; that takes
seconds on hundreds of stages. Validation needs the answer at once, so it adds up the cost of
each construct the compiler emits, as a fixed number of bytes plus so many bytes per byte of
each name the construct repeats (the job's name in its state names and references, the
workflow's name and the foreach column in payloads, the job's source location in a comment),
plus one line's indentation per state, at its deepest. Each substituted ARN is counted at
its longest. A Parallel and its branches are named after the jobs they start with, which only
the plan knows: they are counted with names at the 80-character limit, for as many Parallels
as the dependency graph can need (none for a chain). The sum is an upper bound of the
deployed size (tests/unit/test_defsize.py compares it with the compiler on several shapes),
close enough to refuse a workflow before compiling it.

The constants were measured on the compiler's output (a stage's bytes with the indentation
taken out, and how they grow with each name); a change to the compiled shapes changes them,
and tests/unit/test_defsize.py fails until they are measured again. The size table of
benchmarks/compile_scale.py shows the estimate beside the deployed size, per stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator import fanout, model
from orchestrator_runtime import limits

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


# One stage, by strategy: its states and the references to its first state.
STAGE: dict[str, Cost] = {
    "inline": Cost(3540, job=20, workflow=3, column=3, source=1, lines=6),
    "once": Cost(3506, job=19, workflow=3, source=1, lines=6),
    "once_in_array": Cost(3567, job=19, workflow=3, column=3, source=1, lines=6),
    "once_in_inline": Cost(3563, job=19, workflow=3, column=3, source=1, lines=6),
    "array": Cost(5643, job=31, workflow=3, column=3, source=1, lines=24),
    "map": Cost(3540, job=20, workflow=3, column=3, source=1, lines=6),  # as inline's body
    "once_in_map": Cost(3567, job=19, workflow=3, column=3, source=1, lines=6),
}
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
# A map block that tolerates failures also hands the survivors' sheet on.
MAP_TOLERANCE = Cost(400, lines=2)
# An array block's summary lists its stages: per stage, its name and 3 bytes.
ARRAY_BLOCK_STAGE = Cost(3, job=1)
# A Parallel ("Parallel a + b": its key and two references to it) and each of its branches
# (the Succeed "a branch done" that ends it: its key and two references), the names counted
# apart: the Parallel's holds each branch's first job.
PARALLEL = Cost(140 + 3 * len("Parallel "), lines=8)
BRANCH = Cost(70, lines=6)
NAMES_PER_BRANCH = 3  # each branch adds its first job's name (and " + ") to three copies


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


def _pieces(preds: dict[str, frozenset[str]]) -> int:
    """How many leaves the planner can see in a graph: its jobs, with each chain (a job whose
    only successor has it as only predecessor) counted once."""
    succs: dict[str, list[str]] = {n: [] for n in preds}
    for n, ps in preds.items():
        for p in ps:
            if p in succs:
                succs[p].append(n)
    joined = sum(1 for n, s in succs.items()
                 if len(s) == 1 and len(preds[s[0]] & set(preds)) == 1)
    return max(1, len(preds) - joined)


def _parallels(scopes: list[dict[str, frozenset[str]]], longest_job: int) -> int:
    """Bytes of the Parallel states the plan of each scope may need: a tree over k pieces
    has at most k-1 Parallels and 2(k-1) branches."""
    branch = BRANCH.of() + NAMES_PER_BRANCH * (
        (longest_job + len(" + ")) + min(limits.STATE_NAME_CHARS,
                                         longest_job + len(" branch done")))
    total = 0
    for preds in scopes:
        k = _pieces(preds)
        if k > 1:
            total += (k - 1) * PARALLEL.of() + 2 * (k - 1) * branch
    return total


def _scopes(wf: model.Workflow) -> tuple[list[dict[str, frozenset[str]]], int]:
    """The graphs the compiler plans (the top level, and each Map block's jobs), and how many
    blocks there are. Per-sample jobs are grouped as the compiler groups them."""
    names = {j.name for j in wf.jobs}
    per_sample = {j.name for j in wf.jobs if j.per_sample}
    preds = {j.name: frozenset(a for a in j.after if a in names) for j in wf.jobs}
    ancestors: dict[str, frozenset[str]] = {}
    for j in wf.jobs:  # jobs come after their dependencies (validated)
        found: set[str] = set()
        for p in preds[j.name]:
            found |= {p} | ancestors.get(p, frozenset())
        ancestors[j.name] = frozenset(found)
    groups: dict[frozenset[str], list[str]] = {}
    for j in wf.jobs:
        if j.name in per_sample:
            key = frozenset(a for a in ancestors[j.name] if a not in per_sample)
            groups.setdefault(key, []).append(j.name)
    node = {n: n for n in names}
    for k, members in enumerate(groups.values()):
        node.update({m: f"\x00block{k}" for m in members})
    top: dict[str, set[str]] = {}
    for j in wf.jobs:
        top.setdefault(node[j.name], set()).update(
            node[p] for p in preds[j.name] if node[p] != node[j.name])
    scopes = [{k: frozenset(v) for k, v in top.items()}]
    scopes += [{m: preds[m] & set(members) for m in members} for members in groups.values()]
    return scopes, len(groups)


def estimate(wf: model.Workflow) -> int:
    """An upper bound of the deployed size of ``wf``'s definition, in bytes."""
    strategy = "none" if wf.foreach is None else fanout.choose(wf)
    w = _bytes(wf.name)
    col = _bytes(wf.foreach.column) if wf.foreach else 0
    total = WORKFLOW[strategy].of(workflow=w, column=col) + 2 * _bytes(wf.description)
    if strategy in ("array", "map"):
        total += _bytes(wf.bucket)
    for job in wf.jobs:
        j = _bytes(job.name)
        total += STAGE[stage_kind(wf, job)].of(job=j, workflow=w, column=col,
                                               source=_bytes(_where(job)))
        if strategy == "array" and job.per_sample:
            total += ARRAY_BLOCK_STAGE.of(job=j)
    scopes, blocks = _scopes(wf)
    if strategy != "none":
        total += blocks * BLOCK[strategy].of(workflow=w, column=col)
    if strategy == "map" and wf.foreach is not None and wf.foreach.tolerated_failure_percentage:
        total += blocks * MAP_TOLERANCE.of()
    longest = max((_bytes(j.name) for j in wf.jobs), default=0)
    return total + _parallels(scopes, longest)
