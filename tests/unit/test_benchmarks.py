"""The benchmark suite's pure pieces (benchmarks/run.py): no wall-clock time is asserted."""

from __future__ import annotations

import math
import random

import pytest

from benchmarks import check_requests, dag_makespan, run
from orchestrator import dag, fanout


def test_list_schedule_runs_a_chain_in_series_and_independent_jobs_on_the_slots() -> None:
    chain = {"a": (), "b": ("a",), "c": ("b",)}
    w = {"a": 1.0, "b": 2.0, "c": 3.0}
    assert dag_makespan.list_schedule(list(chain), chain, w) == 6.0
    free = {f"j{i}": () for i in range(7)}
    ones = dict.fromkeys(free, 1.0)
    assert dag_makespan.list_schedule(list(free), free, ones) == 1.0
    assert dag_makespan.list_schedule(list(free), free, ones, slots=3) == 3.0


@pytest.mark.parametrize("seed", range(5))
def test_array_never_beats_map_with_unlimited_slots(seed: int) -> None:
    # Without a slot limit each job starts when its predecessors end, so the barrier can only
    # delay: array = sum over stages of the slowest sample >= map = the slowest sample's sum.
    d = dag_makespan.skewed_durations(random.Random(seed), 40, 4)
    array, map_ = dag_makespan.array_makespan(d), dag_makespan.map_makespan(d)
    assert array >= map_
    assert array == pytest.approx(sum(max(row[k] for row in d) for k in range(4)))
    assert map_ == pytest.approx(max(sum(row) for row in d))


def test_uniform_durations_cost_the_same_in_both_shapes() -> None:
    d = [[2.0] * 5 for _ in range(12)]
    assert dag_makespan.array_makespan(d) == dag_makespan.map_makespan(d) == 10.0
    # 12 samples on 4 slots: every stage takes 3 rounds either way
    assert dag_makespan.array_makespan(d, 4) == dag_makespan.map_makespan(d, 4) == 30.0
    # as many slots as samples is no limit at all
    skewed = dag_makespan.skewed_durations(random.Random(7), 12, 5)
    assert dag_makespan.map_makespan(skewed, 12) == dag_makespan.map_makespan(skewed)
    assert dag_makespan.array_makespan(skewed, 12) == dag_makespan.array_makespan(skewed)


def test_compiled_plans_of_series_parallel_dags_reach_the_critical_path() -> None:
    rng = random.Random(3)
    for n in (2, 9, 24):
        preds = dag_makespan.series_parallel_dag(rng, n)
        assert len(preds) == n
        w = {v: rng.lognormvariate(0, 1) for v in preds}
        assert dag_makespan.plan_efficiency(preds, w) == pytest.approx(1.0)


def test_the_makespan_benchmark_refuses_a_plan_that_breaks_a_dependency() -> None:
    # The ratio is only honest if the plan it times is valid: a plan that ran c beside its
    # predecessor b would be faster than the critical path.
    preds = {"a": frozenset(), "b": frozenset({"a"}), "c": frozenset({"b"})}
    a, b, c = (dag.Leaf(x) for x in "abc")
    assert dag_makespan.respects(dag.Seq((a, b, c)), preds)
    assert not dag_makespan.respects(dag.Seq((a, dag.Par((b, c)))), preds)
    assert not dag_makespan.respects(dag.Seq((a, b)), preds)  # c missing
    assert not dag_makespan.respects(dag.Seq((a, b, c, c)), preds)  # c twice


def test_random_dags_planned_with_durations_reach_the_goal_and_stay_valid() -> None:
    rng = random.Random(1)
    ratios = []
    for _ in range(20):
        preds = dag_makespan.random_dag(rng, 32, 0.3)
        w = {v: rng.lognormvariate(0, 1) for v in preds}
        ratios.append(dag_makespan.plan_efficiency(preds, w))  # raises on an invalid plan
    assert sum(ratios) / len(ratios) >= 0.95


def test_a_gathering_stage_over_per_sample_folders_lists_instead_of_heading_each() -> None:
    n = 60
    counts = check_requests.stage_checks(n, "per-sample folders", "under wf/")
    assert set(counts) == set(check_requests.CHECKS)
    for check, calls in counts.items():
        assert sum(calls.values()) <= 3 + 3 * math.ceil(n / 1000), (check, calls)
    assert counts["gathering pre (N inputs)"]["HeadObject"] == 0


def test_the_suite_prints_one_table_with_every_row_of_a_section(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--quick", "--only", "4", "--width", "240"]) == 0
    out = capsys.readouterr().out
    assert out.count("critical path / plan makespan") == 3
    assert out.count("makespan, array vs map") == 2
    assert "simulated (list scheduling" in out
    assert out.count("benchmarks/run.py --quick") == 1


def test_the_history_rows_label_formula_figures_and_name_the_event_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import history

    def fake_measure(strategy: str, n: int, cores: float, runs: tuple[str, ...]
                     ) -> list[dict[str, object]]:
        events = {"array": 58, "map": 28, "inline": 159}[strategy]
        child = 38 * n if strategy == "map" else 0
        return [{"strategy": strategy, "samples": n, "run": r, "status": "SUCCEEDED",
                 "events": events, "transitions": events // 4, "child_events": child,
                 "seconds": 1.0} for r in runs]

    monkeypatch.setattr(history, "measure", fake_measure)
    rows = run.history_rows(quick=True)
    measured = [r for r in rows if r.source.startswith(run.MEASURED)]
    formula = [r for r in rows if r.source.startswith(run.FORMULA)]
    assert {r.inputs.split(",")[0] for r in measured} == set(history.STRATEGIES)
    assert formula and all(r.inputs.startswith("inline") for r in formula)
    big = next(r for r in formula if "1,000 samples" in r.inputs)
    assert big.figure == f"{fanout.inline_history_events(1000, 2):,} events"
    assert "OVER the 25,000-event limit" in big.compared
    by = {r.inputs.split(",")[0]: r for r in measured}
    assert "2.7x the events" in by["inline"].compared
    assert "children: 38 events each" in by["map"].figure
    assert "children" not in by["array"].figure


def test_definition_size_does_not_depend_on_samples_and_the_sdk_builds_the_same_machine(
        ) -> None:
    pytest.importorskip("stepfunctions")
    from benchmarks import compile_scale

    small = compile_scale.compile_measured(compile_scale.chain_workflow(5, 10))
    large = compile_scale.compile_measured(compile_scale.chain_workflow(5, 100_000))
    assert small.written == large.written and small.compact == large.compact
    assert small.compact < small.written
    assert small.sdk_same and large.sdk_same
