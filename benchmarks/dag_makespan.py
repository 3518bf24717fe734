"""How much longer than the critical path do compiled plans take?

ASL cannot express arbitrary joins, so a non-series-parallel DAG gets some false waits.
This compares, on random DAGs with random job durations and unlimited parallelism:

* critical path: the lower bound any scheduler could reach;
* plan (unit weights): what `orchestrator compile` emits (it does not know durations);
* plan (true weights): the same planner told the real durations;
* levels: the naive mapping (topological levels, each a Parallel, one after another).

Run: python benchmarks/dag_makespan.py [--graphs 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics

from orchestrator.compiler import dag


def random_dag(rng: random.Random, n: int, p: float) -> dict[str, frozenset[str]]:
    names = [f"j{i}" for i in range(n)]
    return {v: frozenset(u for u in names[max(0, i - 6):i] if rng.random() < p)
            for i, v in enumerate(names)}


def levels_makespan(preds: dict[str, frozenset[str]], w: dict[str, float]) -> float:
    level: dict[str, int] = {}
    for v in dag.topological(list(preds), preds):
        level[v] = 1 + max((level[u] for u in preds[v]), default=-1)
    return sum(max(w[v] for v in preds if level[v] == k) for k in set(level.values()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"{'jobs':>5} {'edge p':>6} {'graphs':>6} | ratio to critical path (mean / worst)")
    print(f"{'':>5} {'':>6} {'':>6} | {'plan, unit w':>14} {'plan, true w':>14} {'levels':>14}"
          f" {'exact SP %':>10}")
    for n, p in [(4, 0.5), (8, 0.3), (8, 0.6), (16, 0.25), (16, 0.5), (32, 0.3)]:
        unit, true, lev, exact = [], [], [], 0
        for _ in range(args.graphs):
            preds = random_dag(rng, n, p)
            w = {v: rng.lognormvariate(0, 1) for v in preds}
            cp = dag.critical_path(list(preds), preds, w)
            plan_u = dag.plan(list(preds), preds)
            plan_t = dag.plan(list(preds), preds, w)
            unit.append(dag.makespan(plan_u, w) / cp)
            true.append(dag.makespan(plan_t, w) / cp)
            lev.append(levels_makespan(preds, w) / cp)
            exact += abs(dag.makespan(plan_t, w) - cp) < 1e-9
        cells = [f"{statistics.mean(x):6.3f} /{max(x):6.2f}" for x in (unit, true, lev)]
        print(f"{n:>5} {p:>6} {args.graphs:>6} | {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}"
              f" {100 * exact / args.graphs:>9.0f}%")


if __name__ == "__main__":
    main()
