"""Map a dependency DAG onto ASL's series/parallel structure.

ASL has sequences and Parallel states but no arbitrary joins. A plan is a tree of
:class:`Seq` and :class:`Par` over leaves (node names):

* weakly connected components run side by side in a Par;
* a connected graph is split at an *exact series cut* when one exists: a down-closed set A
  such that every node of A is an ancestor of every node outside A. Cutting there adds no
  wait that the DAG does not already imply, so series-parallel graphs map exactly;
* otherwise (the graph contains an "N": a->c, b->c, b->d) some false wait is unavoidable.
  Among the down-closed candidate cuts we pick the one whose estimated makespan
  (critical path of A + critical path of the rest, with per-node weights) is smallest.

benchmarks/dag_makespan.py measures the makespan of these plans against the critical path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Leaf:
    name: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Plan, ...]


@dataclass(frozen=True)
class Par:
    branches: tuple[Plan, ...]


Plan = Leaf | Seq | Par


def plan(
    nodes: Sequence[str],
    preds: Mapping[str, frozenset[str] | set[str]],
    weight: Mapping[str, float] | None = None,
) -> Plan:
    """Plan ``nodes`` (in definition order) given each node's direct predecessors."""
    if not nodes:
        raise ValueError("cannot plan an empty graph")
    w = {n: (weight or {}).get(n, 1.0) for n in nodes}
    p = {n: frozenset(x for x in preds.get(n, ()) if x in w) for n in nodes}
    return _plan(list(nodes), p, w)


def _plan(nodes: list[str], preds: Mapping[str, frozenset[str]], w: Mapping[str, float]) -> Plan:
    if len(nodes) == 1:
        return Leaf(nodes[0])
    members = set(nodes)
    sub = {n: preds[n] & members for n in nodes}
    comps = _components(nodes, sub)
    if len(comps) > 1:
        return Par(tuple(_plan(c, sub, w) for c in comps))
    first, rest = _best_cut(nodes, sub, w)
    return _seq(_plan(first, sub, w), _plan(rest, sub, w))


def _seq(a: Plan, b: Plan) -> Seq:
    items: list[Plan] = []
    for x in (a, b):
        items.extend(x.items if isinstance(x, Seq) else (x,))
    return Seq(tuple(items))


def _components(nodes: list[str], preds: Mapping[str, frozenset[str]]) -> list[list[str]]:
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in nodes:
        for q in preds[n]:
            parent[find(n)] = find(q)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())  # ordered by each component's first node


def ancestors(nodes: list[str], preds: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for n in topological(nodes, preds):
        acc: set[str] = set()
        for q in preds[n]:
            acc.add(q)
            acc |= out[q]
        out[n] = frozenset(acc)
    return out


def topological(nodes: list[str], preds: Mapping[str, frozenset[str]]) -> list[str]:
    """Definition order where possible (stable Kahn); raises ValueError on a cycle."""
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(nodes)
    while remaining:
        ready = [n for n in remaining if preds[n] <= placed]
        if not ready:
            raise ValueError("cycle among: " + ", ".join(remaining))
        for n in ready:
            done.append(n)
            placed.add(n)
        remaining = [n for n in remaining if n not in placed]
    return done


def critical_path(nodes: list[str], preds: Mapping[str, frozenset[str]],
                  w: Mapping[str, float]) -> float:
    finish: dict[str, float] = {}
    members = set(nodes)
    for n in topological(nodes, {k: preds[k] & members for k in nodes}):
        finish[n] = w[n] + max((finish[q] for q in preds[n] if q in members), default=0.0)
    return max(finish.values(), default=0.0)


def _best_cut(nodes: list[str], preds: Mapping[str, frozenset[str]],
              w: Mapping[str, float]) -> tuple[list[str], list[str]]:
    anc = ancestors(nodes, preds)
    all_nodes = frozenset(nodes)
    candidates: list[frozenset[str]] = []
    for b in nodes:
        for cut in (anc[b], anc[b] | {b}):
            if cut and cut != all_nodes and cut not in candidates:
                candidates.append(cut)
    exact = [a for a in candidates if all(a <= anc[x] for x in all_nodes - a)]
    if exact:
        chosen = min(exact, key=len)
    else:
        def cost(a: frozenset[str]) -> tuple[float, int]:
            first = [n for n in nodes if n in a]
            rest = [n for n in nodes if n not in a]
            return (critical_path(first, preds, w) + critical_path(rest, preds, w), -len(a))

        chosen = min(candidates, key=cost)
    return [n for n in nodes if n in chosen], [n for n in nodes if n not in chosen]


def makespan(p: Plan, w: Mapping[str, float]) -> float:
    """How long a plan takes with unlimited parallelism and the given durations."""
    if isinstance(p, Leaf):
        return w[p.name]
    if isinstance(p, Seq):
        return sum(makespan(x, w) for x in p.items)
    return max(makespan(x, w) for x in p.branches)


def leaves(p: Plan) -> list[str]:
    if isinstance(p, Leaf):
        return [p.name]
    items = p.items if isinstance(p, Seq) else p.branches
    return [n for x in items for n in leaves(x)]
