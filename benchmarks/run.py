"""The benchmark suite: one table, every figure next to what it is compared with, same run.

Rows (issue 12, section 5), each built from the benchmark script that measures it alone:

1. compile time and deployed definition size of a chain of per-sample stages, by samples and
   by stages, against the same machine built through the stepfunctions SDK's step classes
   (compile_scale.py, sdk_baseline.py);
2. history events and state transitions of a run on the local engine, by strategy and
   samples, with the projected transition cost per 1,000 samples; sizes not run are given by
   the compiler's formula and labelled so (history.py);
3. S3 requests of each stage check of a finished stage: a per-sample ``pre``, a ``plan`` over
   N samples, a gathering stage's ``pre`` over N inputs, for outputs under one prefix and in
   per-sample folders (check_requests.py, plan_requests.py);
4. makespan: compiled plans on random DAGs against the critical path, and a simulation of
   per-sample chains run as ``array`` (barrier between stages) and ``map`` (no barrier) with
   skewed durations and limited slots (dag_makespan.py);
5. local engine throughput: trivial array children against the same processes launched
   directly (local_array.py).

``--quick`` runs every row kind at small sizes (under a minute on an idle 2-core machine);
without it the sizes are the issue's (the 1,000-sample local runs take about 15 minutes).

Run: python -m benchmarks.run [--quick] [--only 1,3] [--width 160]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator_runtime import limits

MEASURED = "measured"
FORMULA = "formula"
SIMULATED = "simulated"


@dataclass(frozen=True)
class Row:
    section: int
    measure: str
    inputs: str
    figure: str
    compared: str  # what the figure is set against, measured in the same run
    source: str  # MEASURED, FORMULA or SIMULATED, with a detail


def _kb(n: int) -> str:
    return f"{n / 1000:,.0f} KB"


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


# 1. compile ----------------------------------------------------------------------------------

def compile_rows(quick: bool) -> list[Row]:
    from benchmarks import compile_scale

    cases = [(5, n) for n in (10, 1000, 100_000)] + [
        (k, 1000) for k in ((10, 100) if quick else (10, 100, 500))]
    rows = []
    for stages, samples in cases:
        c = compile_scale.compile_measured(compile_scale.chain_workflow(stages, samples),
                                           3 if stages <= 10 else 1)
        over = "" if c.fits else f"; OVER the {limits.DEFINITION_BYTES:,}-byte limit"
        rows.append(Row(
            1, "compile + definition size", f"{stages} stages x {samples:,} samples (array)",
            f"{_s(c.seconds)}; {_kb(c.written)} as written, {_kb(c.compact)} compact "
            f"({c.compact / stages / 1000:.1f} KB/stage){over}",
            f"stepfunctions SDK: {_s(c.sdk_seconds)} ({c.sdk_seconds / c.seconds:.1f}x), "
            f"{_kb(c.sdk_bytes)}, same states: {'yes' if c.sdk_same else 'NO'}",
            f"{MEASURED} (best of {3 if stages <= 10 else 1})"))
    return rows


# 2. history ----------------------------------------------------------------------------------

def history_rows(quick: bool) -> list[Row]:
    from benchmarks import history
    from orchestrator import fanout

    stages = 2  # history.WORKFLOW: two per-sample stages
    sizes = (3, 10, 100, 1000) if quick else (10, 100, 1000)
    # What runs on the local engine: inline at 1,000 samples is refused (over the history
    # limit), and --quick runs only the smallest size, fresh.
    runs = ("fresh",) if quick else history.RUNS

    def measurable(strategy: str, n: int) -> bool:
        if quick:
            return n == sizes[0]
        return strategy != "inline" or n <= fanout.inline_max_samples(stages)

    rows: list[Row] = []
    measured: dict[tuple[int, str, str], dict[str, float]] = {}
    for n in sizes:
        for strategy in history.STRATEGIES:
            inputs = f"{strategy}, {n:,} samples x {stages} stages"
            if measurable(strategy, n):
                for r in history.measure(strategy, n, 2, runs):
                    measured[(n, strategy, r["run"])] = r
                    cost = history.cost_per_1000_samples(r["transitions"], n)
                    base = measured.get((n, history.STRATEGIES[0], r["run"]))
                    versus = (f"{r['events'] / base['events']:.1f}x the events, "
                              f"{r['transitions'] / base['transitions']:.1f}x the transitions "
                              f"of {history.STRATEGIES[0]}"
                              if base and strategy != history.STRATEGIES[0] else "")
                    fits = ("fits" if r["events"] <= limits.HISTORY_EVENTS
                            else "OVER") + f" the {limits.HISTORY_EVENTS:,}-event limit"
                    children = (f" (children: {r['child_events'] / n:,.0f} events each, in "
                                f"their own histories; transitions include theirs)"
                                if r.get("child_events") else "")
                    rows.append(Row(
                        2, f"history, {r['run']} run", inputs,
                        f"{r['events']:,} events, {r['transitions']:,} transitions: "
                        f"${cost:.4f} per 1,000 samples{children}",
                        "; ".join(x for x in (versus, fits) if x),
                        f"{MEASURED} (local engine, {r['seconds']:.0f} s, {r['status']})"))
            elif strategy == "inline":
                events = fanout.inline_history_events(n, stages)
                fits = ("fits" if events <= limits.HISTORY_EVENTS else "OVER") + \
                    f" the {limits.HISTORY_EVENTS:,}-event limit"
                rows.append(Row(
                    2, "history, fresh run", inputs, f"{events:,} events", fits,
                    f"{FORMULA} (fanout.inline_history_events; not run)"))
    return rows


# 3. S3 requests ------------------------------------------------------------------------------

def request_rows(quick: bool) -> list[Row]:
    from benchmarks import check_requests

    sizes = (1000,) if quick else (1000, 10_000, 100_000)
    moto_at = None if quick else 1000  # cross-check the in-memory S3's counts on moto
    rows = []
    for n in sizes:
        for layout, pattern in check_requests.OUTPUTS.items():
            for folder, bucket in check_requests.FOLDERS.items():
                counts = check_requests.stage_checks(n, layout, folder)
                if n == moto_at and check_requests.stage_checks(
                        n, layout, folder, moto=True) != counts:
                    raise SystemExit(f"moto and the in-memory S3 disagree at {n} ({layout})")
                totals = [sum(c.values()) for c in counts.values()]
                per_object = [name for name, total in zip(counts, totals, strict=True)
                              if total >= n]
                warn = (f"ONE REQUEST PER OBJECT: {', '.join(per_object)}" if per_object
                        else "no check costs a request per object")
                kinds: Counter[str] = Counter()
                for c in counts.values():
                    kinds.update(c)
                rows.append(Row(
                    3, "S3 requests per stage check",
                    f"{n:,} samples, outputs {bucket}/{pattern}",
                    " · ".join(f"{name}: {t:,}" for name, t in zip(counts, totals, strict=True)),
                    f"a HEAD per object: 2 · {2 * n:,} · {n:,}; {warn}",
                    f"{MEASURED} (in-memory S3"
                    + (", = moto" if n == moto_at else "") + ")"))
    return rows


# 4. makespan ---------------------------------------------------------------------------------

def makespan_rows(quick: bool) -> list[Row]:
    from benchmarks import dag_makespan
    from orchestrator import dag

    rng = random.Random(1)
    graphs = 30 if quick else 300
    rows = []
    families: list[tuple[str, Callable[[int], dag_makespan.Preds]]] = [
        ("random, 16 jobs, p=0.5", lambda n: dag_makespan.random_dag(rng, n, 0.5)),
        ("random, 32 jobs, p=0.3", lambda n: dag_makespan.random_dag(rng, n, 0.3)),
        ("series-parallel, 32 jobs", lambda n: dag_makespan.series_parallel_dag(rng, n)),
    ]
    for label, make in families:
        n = int(label.split(", ")[1].split()[0])
        told, unit = [], []
        for _ in range(graphs):
            preds = make(n)
            w = {v: rng.lognormvariate(0, 1) for v in preds}
            told.append(dag_makespan.plan_efficiency(preds, w))
            unit.append(dag_makespan.plan_efficiency(preds, w, told=False))
        sp = label.startswith("series")
        goal = "goal 1.00" if sp else "goal ≥ 0.95 mean"
        rows.append(Row(
            4, "critical path / plan makespan",
            f"{label}, lognormal durations, {graphs} DAGs, planner told the durations",
            f"mean {statistics.mean(told):.3f}, worst {min(told):.3f}",
            f"{goal}; 1.00 = no false wait; same DAGs with unit weights: mean "
            f"{statistics.mean(unit):.3f}, worst {min(unit):.3f}",
            f"{MEASURED} (emitted plan tree, unlimited parallelism"
            + (")" if sp else f"; lookahead on non-series-parallel pieces of up to "
               f"{dag.LOOKAHEAD_NODES} jobs, estimate only above)")))
    cases = [(100, 5, (None, 10))] if quick else [(100, 5, (None, 10, 50)),
                                                   (1000, 5, (None, 100, 500))]
    for samples, stages, slot_list in cases:
        d = dag_makespan.skewed_durations(rng, samples, stages)
        for slots in slot_list:
            a = dag_makespan.array_makespan(d, slots)
            m = dag_makespan.map_makespan(d, slots)
            rows.append(Row(
                4, "makespan, array vs map",
                f"{samples:,} samples x {stages} stages, lognormal sigma 1, "
                f"{'unlimited' if slots is None else slots} slots",
                f"array {a:,.1f}, map {m:,.1f} (x median job)",
                f"array / map = {a / m:.2f}",
                f"{SIMULATED} (list scheduling of the two shapes; no map run)"))
    return rows


# 5. local engine -----------------------------------------------------------------------------

def engine_rows(quick: bool) -> list[Row]:
    from benchmarks import local_array

    size, cores = (100 if quick else 1000), 2
    bare = local_array.bare(size, cores)["wall"]
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        engine = local_array.engine(size, cores, Path(tmp), "queue")["events"]
    return [Row(5, "local engine throughput",
                f"{size:,} array children running `true`, {cores} cores",
                f"{_s(engine)} end to end ({1000 * engine / size:.1f} ms/child)",
                f"bare Popen: {_s(bare)} ({1000 * bare / size:.1f} ms each); "
                f"engine / bare = {engine / bare:.1f}x",
                f"{MEASURED} (every state-change event consumed)")]


SECTIONS: dict[int, Callable[[bool], list[Row]]] = {
    1: compile_rows, 2: history_rows, 3: request_rows, 4: makespan_rows, 5: engine_rows}


def render(rows: list[Row], title: str, width: int) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, show_lines=False)
    for name in ("#", "measure", "inputs", "figure", "compared in the same run", "source"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(str(r.section), r.measure, r.inputs, r.figure, r.compared, r.source)
    Console(width=width).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--only", default="", help="sections to run, e.g. 1,3")
    parser.add_argument("--width", type=int, default=160, help="table width (%(default)s)")
    args = parser.parse_args(argv)
    chosen = [int(x) for x in args.only.split(",") if x] or list(SECTIONS)
    rows: list[Row] = []
    started = time.perf_counter()
    for section in chosen:
        began = time.perf_counter()
        rows += SECTIONS[section](args.quick)
        print(f"section {section}: {time.perf_counter() - began:.1f} s", file=sys.stderr,
              flush=True)
    mode = "--quick" if args.quick else "full"
    render(rows, f"benchmarks/run.py {mode}: {time.perf_counter() - started:.0f} s", args.width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
