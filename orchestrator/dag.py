"""Map a dependency DAG onto ASL's series/parallel structure.

ASL has sequences and Parallel states but no arbitrary joins. A plan is a tree of
:class:`Seq` and :class:`Par` over leaves (node names):

* weakly connected components run side by side in a Par;
* a connected graph is split at an *exact series cut* when one exists: a down-closed set A
  such that every node of A is an ancestor of every node outside A. Cutting there adds no
  wait that the DAG does not already imply, so series-parallel graphs map exactly (and their
  plans do not depend on anything below);
* otherwise (the graph contains an "N": a->c, b->c, b->d) some false wait is unavoidable, and
  the first item of the Seq must be a down-closed set A (a connected graph cannot be a Par).
  The candidates for A are each node's ancestors, with or without the node, and the *cuts in
  time*: the nodes that finish by t in the earliest schedule, for each finish time t (the
  cut that waits for what is due first; an "N" or "W" often has no ancestor set that good).
  Each candidate gets an estimated makespan, critical path of A + critical path of the rest,
  with the per-node weights (durations);
* lookahead: for a piece of at most ``LOOKAHEAD_NODES`` nodes, the ``LOOKAHEAD_CUTS``
  best-estimated candidates are planned out (both sides, recursively, by the estimate alone,
  memoized per set) and the one whose plan is shortest wins. A larger non-series-parallel
  piece takes the best estimate without lookahead (the bounded fallback). Ties go to the
  larger A, then to the candidate listed first (ancestor cuts in definition order, then cuts
  in time).

With durations as weights the plans' makespan is on average within 1% of the critical path
on the random DAGs of benchmarks/run.py row 4 (the rule before the cuts in time and the
lookahead lost 2% and 9%); benchmarks/dag_reference.py keeps that older rule as a yardstick,
and the oracle of series-parallel plans.

How it stays fast:

* the graph is indexed once in topological order; node sets are Python ints used as bitsets,
  and ancestors are computed once for the whole graph. Every set the recursion plans is convex
  (a path between two of its nodes stays inside it), so a node's ancestors inside it are just
  ``ancestors & set``; longest paths use the transitive reduction, which gives the same values;
* exact cuts are nested and each is a prefix of any topological order, so one pass finds all
  of them: the prefix of size k is a cut iff every later node has the first k nodes among its
  ancestors. A chain of n stages is one pass, not n levels;
* a candidate's estimate needs no new longest-path pass: the critical path of A is the
  largest finish time inside A, that of the rest the largest "longest path from here" outside
  A, each known outright for the candidate it was built from or found by bisecting prefixes of
  nodes sorted by that time;
* the lookahead is bounded: at most ``LOOKAHEAD_CUTS`` candidates per level, on pieces of at
  most ``LOOKAHEAD_NODES`` nodes, and a set's plan length is computed once.

Weights must be finite and >= 0 (durations). benchmarks/dag_makespan.py measures the makespan of
these plans against the critical path; benchmarks/compile_scale.py times the planner.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)  # a node: a job name, or whatever the caller plans over

LOOKAHEAD_NODES = 64  # a non-series-parallel piece up to this size gets the lookahead
LOOKAHEAD_CUTS = 4  # how many of the best-estimated cuts the lookahead plans out


@dataclass(frozen=True)
class Leaf(Generic[N]):
    name: N


@dataclass(frozen=True)
class Seq(Generic[N]):
    items: tuple[Plan[N], ...]


@dataclass(frozen=True)
class Par(Generic[N]):
    branches: tuple[Plan[N], ...]


Plan = Leaf[N] | Seq[N] | Par[N]


def plan(
    nodes: Sequence[N],
    preds: Mapping[N, frozenset[N] | set[N]],
    weight: Mapping[N, float] | None = None,
) -> Plan[N]:
    """Plan ``nodes`` (in definition order) given each node's direct predecessors."""
    if not nodes:
        raise ValueError("cannot plan an empty graph")
    w = {n: float((weight or {}).get(n, 1.0)) for n in nodes}
    for n, x in w.items():
        if not (math.isfinite(x) and x >= 0):
            raise ValueError(f"weight of {n}: {x!r} is not a duration (a finite number >= 0)")
    p = {n: frozenset(x for x in preds.get(n, ()) if x in w) for n in nodes}
    return _Planner(list(w), p, w).plan()


def _bits(s: int) -> list[int]:
    """Positions of the set bits of ``s``, ascending."""
    out: list[int] = []
    while s:
        low = s & -s
        out.append(low.bit_length() - 1)
        s ^= low
    return out


class _Planner(Generic[N]):
    """One graph indexed for planning: bit i of a set is the i-th node in topological order."""

    def __init__(self, nodes: list[N], preds: Mapping[N, frozenset[N]],
                 w: Mapping[N, float]) -> None:
        order = topological(nodes, preds)  # raises on a cycle
        pos = {n: i for i, n in enumerate(order)}
        rank = {n: i for i, n in enumerate(nodes)}
        self.names = order
        self.rank = [rank[n] for n in order]  # definition order, for every tie-break
        self.w = [w[n] for n in order]
        self.anc: list[int] = []
        self.preds: list[list[int]] = []  # transitive reduction
        self.succs: list[list[int]] = [[] for _ in order]
        self.nbr = [0] * len(order)
        for i, n in enumerate(order):
            direct = [pos[q] for q in preds[n]]
            implied = anc = 0
            for q in direct:
                implied |= self.anc[q]
            for q in direct:
                anc |= self.anc[q] | 1 << q
            reduced = sorted(q for q in direct if not implied >> q & 1)
            self.anc.append(anc)
            self.preds.append(reduced)
            for q in reduced:
                self.succs[q].append(i)
                self.nbr[q] |= 1 << i
                self.nbr[i] |= 1 << q
        self.memo: dict[int, float] = {}  # set -> makespan of its plan without lookahead

    def plan(self) -> Plan[N]:
        return self._plan((1 << len(self.names)) - 1)

    def _plan(self, s: int) -> Plan[N]:
        if s & (s - 1) == 0:
            return Leaf(self.names[s.bit_length() - 1])
        comps = self._components(s)
        if len(comps) > 1:
            return Par(tuple(self._plan(c) for c in comps))
        return Seq(tuple(self._series(s)))

    def _series(self, s: int) -> list[Plan[N]]:
        """The items of the Seq for a connected ``s``: its pieces in order, each flattened."""
        items: list[Plan[N]] = []
        todo = [s]  # a stack: the next piece is last
        while todo:
            t = todo.pop()
            if t & (t - 1) == 0:
                items.append(Leaf(self.names[t.bit_length() - 1]))
                continue
            comps = self._components(t)
            if len(comps) > 1:
                items.append(Par(tuple(self._plan(c) for c in comps)))
                continue
            segments = self._segments(t)
            if len(segments) > 1:
                todo.extend(reversed(segments))
                continue
            first = self._best_cut(t)
            todo += [t ^ first, first]
        return items

    def _components(self, s: int) -> list[int]:
        """Weakly connected components of ``s``, ordered by their first node defined."""
        comps: list[int] = []
        rest = s
        while rest:
            comp = rest & -rest
            stack = [comp.bit_length() - 1]
            while stack:
                new = self.nbr[stack.pop()] & rest & ~comp
                if new:
                    comp |= new
                    stack += _bits(new)
            comps.append(comp)
            rest ^= comp
        if len(comps) > 1:
            comps.sort(key=lambda c: min(self.rank[i] for i in _bits(c)))
        return comps

    def _segments(self, s: int) -> list[int]:
        """``s`` split at every exact series cut, in order (just ``[s]`` when there is none).

        The cuts are the prefixes (in topological order) of size k such that every later node
        has the first k nodes of ``s`` among its ancestors.
        """
        members = _bits(s)
        lead: list[int] = []  # how many of the first members of s are ancestors of each
        for x in members:
            missing = s & ~self.anc[x]  # not empty: x is not its own ancestor
            lead.append((s & ((missing & -missing) - 1)).bit_count())
        cuts: list[int] = []
        low = len(members)
        for k in range(len(members) - 1, 0, -1):
            low = min(low, lead[k])
            if low >= k:
                cuts.append(members[k])
        if not cuts:
            return [s]
        segments: list[int] = []
        below = 0
        for p in reversed(cuts):
            segment = s & ((1 << p) - 1) & ~below
            segments.append(segment)
            below |= segment
        segments.append(s & ~below)
        return segments

    def _best_cut(self, s: int) -> int:
        """The down-closed candidate cut of ``s`` (connected, no exact cut) to plan first."""
        cuts = self._candidates(s)
        if s.bit_count() > LOOKAHEAD_NODES:
            return min(cuts, key=lambda a: (cuts[a], -a.bit_count()))
        look = heapq.nsmallest(LOOKAHEAD_CUTS, cuts, key=lambda a: (cuts[a], -a.bit_count()))
        return min(look, key=lambda a: (self._greedy(a) + self._greedy(s ^ a), -a.bit_count()))

    def _candidates(self, s: int) -> dict[int, float]:
        """The down-closed candidate cuts of ``s`` (connected, no exact cut), in rule order,
        each with its estimated makespan: critical path of the cut + that of the rest."""
        members = _bits(s)
        w = self.w
        finish: dict[int, float] = {}  # longest path in s ending at the node
        for i in members:
            finish[i] = w[i] + max((finish[q] for q in self.preds[i] if s >> q & 1),
                                   default=0.0)
        tail: dict[int, float] = {}  # longest path in s starting at the node
        for i in reversed(members):
            tail[i] = w[i] + max((tail[c] for c in self.succs[i] if s >> c & 1), default=0.0)
        # The critical path of a down-closed A is its largest finish time, that of the rest its
        # largest tail: where it is not known outright, it is found by bisecting the prefixes
        # of the nodes sorted by that time.
        top_finish = _Top(members, finish)
        top_tail = _Top(members, tail)
        cuts: dict[int, float] = {}  # duplicates keep their first place
        for b in sorted(members, key=self.rank.__getitem__):
            below = self.anc[b] & s
            if below and below not in cuts:
                head = max(finish[q] for q in self.preds[b] if s >> q & 1)
                cuts[below] = head + top_tail.first(s ^ below)
            upto = below | 1 << b
            if upto != s and upto not in cuts:
                cuts[upto] = finish[b] + top_tail.first(s ^ upto)
        # Cuts in time: what finishes by t in the earliest schedule, for each finish time t.
        # Equal times stay together, so each cut is down-closed.
        for cut, head in top_finish.levels():
            if cut not in cuts:
                cuts[cut] = head + top_tail.first(s ^ cut)
        return cuts

    def _greedy(self, s: int) -> float:
        """Makespan of the plan of ``s`` by the estimate alone (no lookahead), memoized."""
        got = self.memo.get(s)
        if got is not None:
            return got
        if s & (s - 1) == 0:
            got = self.w[s.bit_length() - 1]
        else:
            comps = self._components(s)
            if len(comps) > 1:
                got = max(self._greedy(c) for c in comps)
            else:
                segments = self._segments(s)
                if len(segments) > 1:
                    got = sum(self._greedy(x) for x in segments)
                else:
                    cuts = self._candidates(s)
                    first = min(cuts, key=lambda a: (cuts[a], -a.bit_count()))
                    got = self._greedy(first) + self._greedy(s ^ first)
        self.memo[s] = got
        return got


class _Top:
    """Nodes sorted by a time, largest first: the largest time within a set in O(log n)."""

    def __init__(self, members: list[int], time: Mapping[int, float]) -> None:
        self.order = sorted(members, key=lambda i: -time[i])
        self.time = [time[i] for i in self.order]
        self.prefix: list[int] = []
        acc = 0
        for i in self.order:
            acc |= 1 << i
            self.prefix.append(acc)

    def first(self, part: int) -> float:
        """The largest time of a node of ``part`` (not empty)."""
        lo, hi = 0, len(self.prefix) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.prefix[mid] & part:
                hi = mid
            else:
                lo = mid + 1
        return self.time[lo]

    def levels(self) -> list[tuple[int, float]]:
        """Every set of the nodes whose time is at most some value, but the empty set and all
        nodes, each with the largest time inside it."""
        n, t = len(self.order), self.time
        full = self.prefix[-1]
        return [(full ^ self.prefix[k], t[k + 1]) for k in range(n - 1) if t[k] != t[k + 1]]


def ancestors(nodes: list[N], preds: Mapping[N, frozenset[N]]) -> dict[N, frozenset[N]]:
    out: dict[N, frozenset[N]] = {}
    for n in topological(nodes, preds):
        acc: set[N] = set()
        for q in preds[n]:
            acc.add(q)
            acc |= out[q]
        out[n] = frozenset(acc)
    return out


def topological(nodes: list[N], preds: Mapping[N, frozenset[N]]) -> list[N]:
    """Definition order where possible (stable Kahn); raises ValueError on a cycle.

    Rounds: every node whose predecessors are all placed, in definition order, then the next
    round. A predecessor that is not among ``nodes`` is never placed.
    """
    rank = {n: i for i, n in enumerate(nodes)}
    waiting = {n: len(preds[n]) for n in nodes}
    succs: dict[N, list[N]] = {n: [] for n in nodes}
    for n in nodes:
        for q in preds[n]:
            if q in succs:
                succs[q].append(n)
    done: list[N] = []
    ready = [n for n in nodes if waiting[n] == 0]
    while ready:
        done += ready
        nxt: list[N] = []
        for n in ready:
            for s in succs[n]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    nxt.append(s)
        ready = sorted(nxt, key=rank.__getitem__)
    if len(done) < len(nodes):
        placed = set(done)
        raise ValueError("cycle among: " + ", ".join(str(n) for n in nodes if n not in placed))
    return done


def critical_path(nodes: list[N], preds: Mapping[N, frozenset[N]],
                  w: Mapping[N, float]) -> float:
    finish: dict[N, float] = {}
    members = set(nodes)
    for n in topological(nodes, {k: preds[k] & members for k in nodes}):
        finish[n] = w[n] + max((finish[q] for q in preds[n] if q in members), default=0.0)
    return max(finish.values(), default=0.0)


def makespan(p: Plan[N], w: Mapping[N, float]) -> float:
    """How long a plan takes with unlimited parallelism and the given durations."""
    if isinstance(p, Leaf):
        return w[p.name]
    if isinstance(p, Seq):
        return sum(makespan(x, w) for x in p.items)
    return max(makespan(x, w) for x in p.branches)


def leaves(p: Plan[N]) -> list[N]:
    if isinstance(p, Leaf):
        return [p.name]
    items = p.items if isinstance(p, Seq) else p.branches
    return [n for x in items for n in leaves(x)]
