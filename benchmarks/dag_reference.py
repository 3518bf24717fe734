"""The DAG planner as it was before it was made fast (commit df5f56e), kept as a yardstick.

benchmarks/compile_scale.py times it against orchestrator.dag and compares its plans.
It builds the package's Leaf/Seq/Par so plans compare with ``==``. Not used by the package;
tests/unit/test_dag.py uses it as the oracle for series-parallel graphs (planned the same);
on other graphs it is the rule that the cuts in time and the lookahead improved on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestrator.dag import Leaf, N, Par, Plan, Seq, ancestors, critical_path


def plan(
    nodes: Sequence[N],
    preds: Mapping[N, frozenset[N] | set[N]],
    weight: Mapping[N, float] | None = None,
) -> Plan[N]:
    if not nodes:
        raise ValueError("cannot plan an empty graph")
    w = {n: (weight or {}).get(n, 1.0) for n in nodes}
    p = {n: frozenset(x for x in preds.get(n, ()) if x in w) for n in nodes}
    return _plan(list(nodes), p, w)


def _plan(nodes: list[N], preds: Mapping[N, frozenset[N]], w: Mapping[N, float]) -> Plan[N]:
    if len(nodes) == 1:
        return Leaf(nodes[0])
    members = set(nodes)
    sub = {n: preds[n] & members for n in nodes}
    comps = _components(nodes, sub)
    if len(comps) > 1:
        return Par(tuple(_plan(c, sub, w) for c in comps))
    first, rest = _best_cut(nodes, sub, w)
    return _seq(_plan(first, sub, w), _plan(rest, sub, w))


def _seq(a: Plan[N], b: Plan[N]) -> Seq[N]:
    items: list[Plan[N]] = []
    for x in (a, b):
        items.extend(x.items if isinstance(x, Seq) else (x,))
    return Seq(tuple(items))


def _components(nodes: list[N], preds: Mapping[N, frozenset[N]]) -> list[list[N]]:
    parent = {n: n for n in nodes}

    def find(x: N) -> N:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in nodes:
        for q in preds[n]:
            parent[find(n)] = find(q)
    groups: dict[N, list[N]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


def topological(nodes: list[N], preds: Mapping[N, frozenset[N]]) -> list[N]:
    """The old order (tests/unit/test_dag.py checks orchestrator.dag.topological with it)."""
    done: list[N] = []
    placed: set[N] = set()
    remaining = list(nodes)
    while remaining:
        ready = [n for n in remaining if preds[n] <= placed]
        if not ready:
            raise ValueError("cycle among: " + ", ".join(map(str, remaining)))
        for n in ready:
            done.append(n)
            placed.add(n)
        remaining = [n for n in remaining if n not in placed]
    return done


def _best_cut(nodes: list[N], preds: Mapping[N, frozenset[N]],
              w: Mapping[N, float]) -> tuple[list[N], list[N]]:
    anc = ancestors(nodes, preds)
    all_nodes = frozenset(nodes)
    candidates: list[frozenset[N]] = []
    for b in nodes:
        for cut in (anc[b], anc[b] | {b}):
            if cut and cut != all_nodes and cut not in candidates:
                candidates.append(cut)
    exact = [a for a in candidates if all(a <= anc[x] for x in all_nodes - a)]
    if exact:
        chosen = min(exact, key=len)
    else:
        def cost(a: frozenset[N]) -> tuple[float, int]:
            first = [n for n in nodes if n in a]
            rest = [n for n in nodes if n not in a]
            return (critical_path(first, preds, w) + critical_path(rest, preds, w), -len(a))

        chosen = min(candidates, key=cost)
    return [n for n in nodes if n in chosen], [n for n in nodes if n not in chosen]
