"""The DAG planner: every dependency respected, series-parallel graphs mapped exactly."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.compiler import dag


def order_constraints_hold(plan: dag.Plan[str], preds: dict[str, frozenset[str]]) -> bool:
    """In a plan, u certainly finishes before v starts iff u precedes v in some Seq."""
    before: dict[str, set[str]] = {}

    def walk(p: dag.Plan[str]) -> list[str]:
        if isinstance(p, dag.Leaf):
            before.setdefault(p.name, set())
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

    walk(plan)
    return all(preds[v] <= before[v] for v in preds)


def random_dag(rng: random.Random, n: int, p: float) -> dict[str, frozenset[str]]:
    names = [f"j{i}" for i in range(n)]
    return {v: frozenset(u for u in names[:i] if rng.random() < p) for i, v in enumerate(names)}


def sp_graph(rng: random.Random, size: int,
             counter: list[int]) -> tuple[list[str], list[str], dict[str, set[str]]]:
    """A random series-parallel graph: (sources, sinks, preds)."""
    if size <= 1:
        counter[0] += 1
        n = f"n{counter[0]}"
        return [n], [n], {n: set()}
    left = rng.randint(1, size - 1)
    a_src, a_snk, a = sp_graph(rng, left, counter)
    b_src, b_snk, b = sp_graph(rng, size - left, counter)
    preds = a | b
    if rng.random() < 0.5:  # series: every sink of a before every source of b
        for s in b_src:
            preds[s] |= set(a_snk)
        return a_src, b_snk, preds
    return a_src + b_src, a_snk + b_snk, preds


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=14), st.floats(min_value=0.05, max_value=0.7),
       st.integers(min_value=0, max_value=10_000))
def test_every_dependency_is_respected_and_every_job_appears_once(n: int, p: float,
                                                                  seed: int) -> None:
    preds = random_dag(random.Random(seed), n, p)
    plan = dag.plan(list(preds), preds)
    assert sorted(dag.leaves(plan)) == sorted(preds)
    assert order_constraints_hold(plan, {k: frozenset(v) for k, v in preds.items()})


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=16), st.integers(min_value=0, max_value=10_000))
def test_series_parallel_graphs_map_exactly(size: int, seed: int) -> None:
    rng = random.Random(seed)
    _, _, preds = sp_graph(rng, size, [0])
    fp = {k: frozenset(v) for k, v in preds.items()}
    weights = {k: rng.uniform(1, 10) for k in preds}
    plan = dag.plan(list(preds), fp, weights)
    cp = dag.critical_path(list(preds), fp, weights)
    assert abs(dag.makespan(plan, weights) - cp) < 1e-6


def test_diamond_is_prepare_then_both_then_combine() -> None:
    preds = {"prepare": frozenset(), "words": frozenset({"prepare"}),
             "letters": frozenset({"prepare"}), "combine": frozenset({"words", "letters"})}
    assert dag.plan(list(preds), preds) == dag.Seq((
        dag.Leaf("prepare"), dag.Par((dag.Leaf("words"), dag.Leaf("letters"))),
        dag.Leaf("combine")))


def test_n_shape_adds_the_cheapest_false_wait() -> None:
    # a -> c, b -> c, b -> d: not series-parallel. With d long, d must not wait for a.
    preds = {"a": frozenset(), "b": frozenset(), "c": frozenset({"a", "b"}),
             "d": frozenset({"b"})}
    weights = {"a": 5.0, "b": 1.0, "c": 1.0, "d": 10.0}  # levels would take 5 + 10
    plan = dag.plan(list(preds), preds, weights)
    assert order_constraints_hold(plan, preds)
    assert dag.makespan(plan, weights) == dag.critical_path(list(preds), preds, weights) == 11
