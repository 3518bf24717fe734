"""How long the DAG planner takes on big workflows, before and after it was made fast.

"old" is the planner as it was (benchmarks/dag_reference.py), "new" is
orchestrator.compiler.dag. Both implement the same rule, so the plans must be identical; the
tables say so for every graph. Graphs:

* chain N: N stages, each after the one before (series-parallel: one exact cut per stage);
* local N: each job may depend on any of the 6 jobs before it (p=0.5), as in
  benchmarks/dag_makespan.py; mostly not series-parallel, in short pieces between exact cuts;
* wide N: each job may depend on any earlier job (mean 2 predecessors): one large
  non-series-parallel graph, the hard case for the estimated-makespan search.

First table: plan time with unit weights (best of --repeat for new; old runs once). Second:
mean makespan / critical path of the plans with random durations (lognormal), old vs new.
The new planner is exact (no bounded heuristic): it picks the same cut as the old one.

Run: python benchmarks/compile_scale.py [--graphs 5] [--repeat 3] [--seed 1] [--quick]
(--quick skips the old planner where it takes more than a few seconds: chain 500, wide 200).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from benchmarks import dag_reference
from benchmarks.dag_makespan import random_dag as local_dag
from orchestrator.compiler import dag

Preds = dict[str, frozenset[str]]
Planner = Callable[[list[str], Preds, dict[str, float] | None], dag.Plan[str]]


def chain(rng: random.Random, n: int) -> Preds:
    names = [f"j{i}" for i in range(n)]
    return {v: frozenset(names[i - 1:i]) for i, v in enumerate(names)}


def local(rng: random.Random, n: int) -> Preds:
    return local_dag(rng, n, 0.5)


def wide(rng: random.Random, n: int) -> Preds:
    names = [f"j{i}" for i in range(n)]
    return {v: frozenset(u for u in names[:i] if rng.random() < 4 / n)
            for i, v in enumerate(names)}


FAMILIES: dict[str, Callable[[random.Random, int], Preds]] = {
    "chain": chain, "local": local, "wide": wide}
SLOW_OLD = {("chain", 500), ("wide", 200)}


def timed(planner: Planner, preds: Preds, w: dict[str, float] | None,
          repeat: int) -> tuple[float, dag.Plan[str]]:
    best = float("inf")
    result: dag.Plan[str] | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = planner(list(preds), preds, w)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", type=int, default=5, help="random graphs per size (2nd table)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the new planner to time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip the slowest old runs")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    print("plan time, unit weights (seconds)")
    print(f"{'graph':>10} {'edges':>6} | {'old':>8} {'new':>8} {'old/new':>8} | same plan")
    sizes = {"chain": (100, 200, 500), "local": (50, 100, 200), "wide": (50, 100, 200)}
    for family, ns in sizes.items():
        for n in ns:
            preds = FAMILIES[family](rng, n)
            edges = sum(map(len, preds.values()))
            t_new, p_new = timed(dag.plan, preds, None, args.repeat)
            if args.quick and (family, n) in SLOW_OLD:
                print(f"{family + ' ' + str(n):>10} {edges:>6} | {'-':>8} {t_new:8.4f}"
                      f" {'-':>8} | -")
                continue
            t_old, p_old = timed(dag_reference.plan, preds, None, 1)
            print(f"{family + ' ' + str(n):>10} {edges:>6} | {t_old:8.3f} {t_new:8.4f}"
                  f" {t_old / t_new:8.0f} | {'yes' if p_old == p_new else 'NO'}")

    print()
    print(f"makespan / critical path, lognormal durations, {args.graphs} graphs per row")
    print(f"{'graph':>10} | {'old mean':>8} {'new mean':>8} | {'new worst':>9} "
          f"{'new s max':>9} | same plans")
    for family in ("local", "wide"):
        for n in (50, 100, 200):
            if args.quick and (family, n) in SLOW_OLD:
                continue
            old_r: list[float] = []
            new_r: list[float] = []
            new_t: list[float] = []
            same = 0
            for _ in range(args.graphs):
                preds = FAMILIES[family](rng, n)
                w = {v: rng.lognormvariate(0, 1) for v in preds}
                cp = dag.critical_path(list(preds), preds, w)
                t, p_new = timed(dag.plan, preds, w, 1)
                p_old = dag_reference.plan(list(preds), preds, w)
                old_r.append(dag.makespan(p_old, w) / cp)
                new_r.append(dag.makespan(p_new, w) / cp)
                new_t.append(t)
                same += p_old == p_new
            print(f"{family + ' ' + str(n):>10} | {statistics.mean(old_r):8.3f}"
                  f" {statistics.mean(new_r):8.3f} | {max(new_r):9.3f} {max(new_t):9.4f}"
                  f" | {same}/{args.graphs}")


if __name__ == "__main__":
    main()
