"""How much longer than the critical path do compiled plans take?

ASL cannot express arbitrary joins, so a non-series-parallel DAG gets some false waits.
This compares, on random DAGs with random job durations and unlimited parallelism:

* critical path: the lower bound any scheduler could reach;
* plan (unit weights): the planner not told the durations (all jobs weigh the same);
* plan (true weights): the planner told the real durations (`orchestrator compile` weighs
  each job by its timeout: this is the case where timeouts are proportional to durations);
* levels: the naive mapping (topological levels, each a Parallel, one after another).

It also simulates the two execution shapes of a per-sample chain of stages (no AWS and no
strategy implementation involved: a list-scheduling simulation over ``slots`` job slots,
jobs started first-ready first-served):

* ``array``: each stage is one array job; a stage starts when the previous one has finished
  for every sample (a barrier between stages);
* ``map``: each sample runs its own chain; a sample's next stage starts as soon as its own
  previous stage has finished (no barrier).

Run: python benchmarks/dag_makespan.py [--graphs 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from orchestrator import dag

Preds = dict[str, frozenset[str]]
J = TypeVar("J", bound=Hashable)  # a job of a schedule


def random_dag(rng: random.Random, n: int, p: float) -> dict[str, frozenset[str]]:
    names = [f"j{i}" for i in range(n)]
    return {v: frozenset(u for u in names[max(0, i - 6):i] if rng.random() < p)
            for i, v in enumerate(names)}


def levels_makespan(preds: dict[str, frozenset[str]], w: dict[str, float]) -> float:
    level: dict[str, int] = {}
    for v in dag.topological(list(preds), preds):
        level[v] = 1 + max((level[u] for u in preds[v]), default=-1)
    return sum(max(w[v] for v in preds if level[v] == k) for k in set(level.values()))


def series_parallel_dag(rng: random.Random, n: int) -> Preds:
    """A random vertex series-parallel DAG of ``n`` jobs: single jobs combined two at a time,
    in series (every sink of one before every source of the other) or in parallel."""
    parts: list[tuple[Preds, list[str], list[str]]] = [
        ({f"j{i}": frozenset()}, [f"j{i}"], [f"j{i}"]) for i in range(n)]
    while len(parts) > 1:
        a = parts.pop(rng.randrange(len(parts)))
        b = parts.pop(rng.randrange(len(parts)))
        preds = {**a[0], **b[0]}
        if rng.random() < 0.5:  # a then b
            for v in b[1]:
                preds[v] = preds[v] | frozenset(a[2])
            parts.append((preds, a[1], b[2]))
        else:
            parts.append((preds, a[1] + b[1], a[2] + b[2]))
    return parts[0][0]


def plan_efficiency(preds: Preds, w: Mapping[str, float], told: bool = True) -> float:
    """Critical path / makespan of the plan tree the planner emits, run with durations ``w``
    and unlimited parallelism; 1.0 is ideal. ``told``: the planner is given the durations as
    weights (``orchestrator compile`` passes each job's timeout: this is the case where the
    timeouts are proportional to the durations); otherwise it plans with unit weights."""
    nodes = list(preds)
    plan = dag.plan(nodes, preds, w if told else None)
    if not respects(plan, preds):
        raise AssertionError(f"the plan breaks a dependency: {plan}")
    return dag.critical_path(nodes, preds, w) / dag.makespan(plan, w)


def respects(plan: dag.Plan[str], preds: Preds) -> bool:
    """Every job of ``preds`` appears once in ``plan``, and every dependency u -> v has u
    before v in some Seq (so u finishes before v starts, whatever the durations)."""
    before: dict[str, set[str]] = {}

    def walk(p: dag.Plan[str]) -> list[str]:
        if isinstance(p, dag.Leaf):
            before[p.name] = set()
            return [p.name]
        if isinstance(p, dag.Par):
            return [n for b in p.branches for n in walk(b)]
        done: list[str] = []
        for item in p.items:
            names = walk(item)
            for n in names:
                before[n] |= set(done)
            done += names
        return done

    jobs = walk(plan)
    return sorted(jobs) == sorted(preds) and all(preds[v] <= before[v] for v in preds)


def list_schedule(order: Sequence[J], preds: Mapping[J, Sequence[J]], w: Mapping[J, float],
                  slots: int | None = None) -> float:
    """Makespan of running ``order``'s jobs on ``slots`` slots (None: unlimited), each job
    started once its predecessors have finished, in the order jobs became ready (ties: in
    ``order``), on the slot free first. A job of duration 0 takes no slot (a barrier)."""
    index = {v: i for i, v in enumerate(order)}
    succs: dict[J, list[J]] = {v: [] for v in order}
    waiting = {v: len(preds[v]) for v in order}
    for v in order:
        for u in preds[v]:
            succs[u].append(v)
    ready = [(0.0, index[v], v) for v in order if not preds[v]]
    heapq.heapify(ready)
    free = [0.0] * slots if slots else []
    finish: dict[J, float] = {}
    while ready:
        at, _, v = heapq.heappop(ready)
        start = max(at, heapq.heappop(free)) if slots and w[v] > 0 else at
        finish[v] = start + w[v]
        if slots and w[v] > 0:
            heapq.heappush(free, finish[v])
        for u in succs[v]:
            waiting[u] -= 1
            if not waiting[u]:
                heapq.heappush(ready, (max(finish[p] for p in preds[u]), index[u], u))
    return max(finish.values(), default=0.0)


def chain_makespan(durations: Sequence[Sequence[float]], slots: int | None,
                   barrier: bool) -> float:
    """Makespan of per-sample chains, ``durations[sample][stage]``: with a barrier between
    stages (``array``) or without (``map``)."""
    jobs: list[Hashable] = []
    preds: dict[Hashable, Sequence[Hashable]] = {}
    w: dict[Hashable, float] = {}
    stages = len(durations[0]) if durations else 0
    for k in range(stages):
        for s, row in enumerate(durations):
            job = (s, k)
            if k == 0:
                preds[job] = ()
            else:
                preds[job] = (("barrier", k - 1),) if barrier else ((s, k - 1),)
            jobs.append(job)
            w[job] = row[k]
        if barrier:
            jobs.append(("barrier", k))
            preds[("barrier", k)] = [(s, k) for s in range(len(durations))]
            w[("barrier", k)] = 0.0
    return list_schedule(jobs, preds, w, slots)


def array_makespan(durations: Sequence[Sequence[float]], slots: int | None = None) -> float:
    """Each stage an array job: a barrier between stages."""
    return chain_makespan(durations, slots, barrier=True)


def map_makespan(durations: Sequence[Sequence[float]], slots: int | None = None) -> float:
    """Each sample its own chain (a Distributed Map child): no barrier between stages."""
    return chain_makespan(durations, slots, barrier=False)


def skewed_durations(rng: random.Random, samples: int, stages: int, sigma: float = 1.0
                     ) -> list[list[float]]:
    """Lognormal job durations (median 1), independent per sample and stage."""
    return [[rng.lognormvariate(0, sigma) for _ in range(stages)] for _ in range(samples)]


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

    print()
    print("per-sample chains, lognormal durations (sigma 1): makespan array / map (simulated)")
    print(f"{'samples':>7} {'stages':>6} {'slots':>6} | {'array':>9} {'map':>9} {'array/map':>9}")
    for samples, stages in ((100, 5), (1000, 5)):
        d = skewed_durations(rng, samples, stages)
        for slots in (None, samples // 10, samples // 2):
            a, m = array_makespan(d, slots), map_makespan(d, slots)
            print(f"{samples:>7} {stages:>6} {slots or 'inf':>6} | {a:>9.1f} {m:>9.1f}"
                  f" {a / m:>9.2f}")


if __name__ == "__main__":
    main()
