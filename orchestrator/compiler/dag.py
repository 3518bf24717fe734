"""Map a dependency DAG onto ASL's series/parallel structure.

ASL has sequences and Parallel states but no arbitrary joins. A plan is a tree of
:class:`Seq` and :class:`Par` over leaves (node names):

* weakly connected components run side by side in a Par;
* a connected graph is split at an *exact series cut* when one exists: a down-closed set A
  such that every node of A is an ancestor of every node outside A. Cutting there adds no
  wait that the DAG does not already imply, so series-parallel graphs map exactly;
* otherwise (the graph contains an "N": a->c, b->c, b->d) some false wait is unavoidable.
  Among the down-closed candidate cuts (each node's ancestors, with or without the node) we
  pick the one whose estimated makespan (critical path of A + critical path of the rest, with
  per-node weights) is smallest; ties go to the larger A, then to the node defined first.

How it stays fast (the rule above is unchanged, and so are the plans):

* the graph is indexed once in topological order; node sets are Python ints used as bitsets,
  and ancestors are computed once for the whole graph. Every set the recursion plans is convex
  (a path between two of its nodes stays inside it), so a node's ancestors inside it are just
  ``ancestors & set``; longest paths use the transitive reduction, which gives the same values;
* exact cuts are nested and each is a prefix of any topological order, so one pass finds all
  of them: the prefix of size k is a cut iff every later node has the first k nodes among its
  ancestors. A chain of n stages is one pass, not n levels;
* a candidate cut's cost needs no new longest-path pass: the critical path of A is the largest
  finish time inside A, that of the rest is the largest "longest path from here" outside A,
  each found by bisecting prefixes of nodes sorted by that time. With non-integer weights the
  backward sums may round differently from forward sums, so near-ties are settled with exact
  forward sums, and the chosen cut is bit-for-bit the one the forward rule picks.

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
        # Integer durations below 2**53 add up exactly, in any order.
        self.exact = all(x.is_integer() for x in self.w) and sum(self.w) < 2.0**53

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
        """The down-closed candidate cut of ``s`` (connected, no exact cut) of least cost."""
        members = _bits(s)
        inside = set(members)
        w = self.w
        finish: dict[int, float] = {}  # longest path in s ending at the node
        for i in members:
            finish[i] = w[i] + max((finish[q] for q in self.preds[i] if q in inside),
                                   default=0.0)
        tail: dict[int, float] = {}  # longest path in s starting at the node
        for i in reversed(members):
            tail[i] = w[i] + max((tail[c] for c in self.succs[i] if c in inside), default=0.0)
        by_tail = sorted(members, key=lambda i: -tail[i])
        prefix: list[int] = []
        acc = 0
        for i in by_tail:
            acc |= 1 << i
            prefix.append(acc)

        def first_in(rest: int) -> int:
            """Where in by_tail the first node of rest is: its tail is rest's critical path."""
            lo, hi = 0, len(prefix) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if prefix[mid] & rest:
                    hi = mid
                else:
                    lo = mid + 1
            return lo

        # Every candidate in rule order: (cut, critical path of the cut, cost estimate).
        cands: list[tuple[int, float, float]] = []
        seen: set[int] = set()
        for b in sorted(members, key=self.rank.__getitem__):
            below = self.anc[b] & s
            if below and below not in seen:
                seen.add(below)
                head = max(finish[q] for q in self.preds[b] if q in inside)
                cands.append((below, head, head + tail[by_tail[first_in(s ^ below)]]))
            upto = below | 1 << b
            if upto != s and upto not in seen:
                seen.add(upto)
                cands.append((upto, finish[b], finish[b] + tail[by_tail[first_in(s ^ upto)]]))
        if self.exact:
            return min(cands, key=lambda x: (x[2], -x[0].bit_count()))[0]
        # The rule sums paths forward, tail sums them backward: the two may differ in the last
        # bits. Only candidates within rounding of the best estimate can win; each of those
        # gets its exact cost from forward sums out of every start of the rest whose tail is
        # within rounding of the rest's top. (Relative rounding error of a sum of k >= 0 terms
        # is below k * 2**-53; tol leaves a wide margin.)
        tol = len(members) * 1e-15
        low = min(c for _, _, c in cands)
        near = [x for x in cands if x[2] <= low + low * tol]
        if len(near) == 1:
            return near[0][0]
        forward: dict[int, float] = {}

        def rest_path(rest: int) -> float:
            k = first_in(rest)
            top, longest = tail[by_tail[k]], -math.inf
            for i in by_tail[k:]:
                if tail[i] < top - top * tol:
                    break
                if rest >> i & 1:
                    if i not in forward:
                        forward[i] = self._forward_from(i, inside, tail, top - 3 * top * tol)
                    longest = max(longest, forward[i])
            return longest

        exact = [(cut, head + rest_path(s ^ cut)) for cut, head, _ in near]
        return min(exact, key=lambda x: (x[1], -x[0].bit_count()))[0]

    def _forward_from(self, start: int, inside: set[int], tail: Mapping[int, float],
                      floor: float) -> float:
        """Longest path from ``start`` inside the set, summed forward from ``start`` (as the
        rule sums it), exact when it is at least about ``floor``.

        A step to ``c`` is skipped when even the longest way on from ``c`` (``tail``) ends
        below ``floor``: what is skipped is shorter than the path that reaches ``c`` otherwise.
        """
        w = self.w
        reach = {start: w[start] + 0.0}
        heap = [start]  # topological positions: a node pops after all its predecessors
        best = -math.inf
        while heap:
            i = heapq.heappop(heap)
            f = reach[i]
            best = max(best, f)
            for c in self.succs[i]:
                if c in inside and f + tail[c] >= floor:
                    v = w[c] + f
                    if c not in reach:
                        reach[c] = v
                        heapq.heappush(heap, c)
                    elif v > reach[c]:
                        reach[c] = v
        return best


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
