"""How large the compiled definition of a big workflow is, and how long the DAG planner takes
on big workflows, before and after it was made fast.

Definition size (first table): chains of N per-sample stages (inline and array strategies)
and of N once-stages, compiled; bytes per stage (the difference between N and 2N stages,
divided by N) as the compiler writes them ("committed": one state per line, which is what
`sam deploy` uploads), indented with indent=2 for comparison, once deployed (every ${...}
at the longest ARN it can become) and as validation estimates it from the model
(orchestrator.defsize); and how many such stages fit in Step Functions' 1 MB.

"old" is the planner as it was (benchmarks/dag_reference.py), "new" is
orchestrator.dag. They plan series-parallel graphs (chain) identically; on other
graphs the new rule (cuts in time, bounded lookahead) plans differently: the tables say
whether the plans are the same, and that every new plan respects every dependency. Graphs:

* chain N: N stages, each after the one before (series-parallel: one exact cut per stage);
* local N: each job may depend on any of the 6 jobs before it (p=0.5), as in
  benchmarks/dag_makespan.py; mostly not series-parallel, in short pieces between exact cuts;
* wide N: each job may depend on any earlier job (mean 2 predecessors): one large
  non-series-parallel graph, the hard case for the estimated-makespan search.

Second table: plan time with unit weights (best of --repeat for new; old runs once). Third:
mean makespan / critical path of the plans with random durations (lognormal), old vs new.
The new planner's lookahead is bounded (pieces of up to dag.LOOKAHEAD_NODES jobs, the
dag.LOOKAHEAD_CUTS best-estimated cuts); a larger non-series-parallel piece (most of wide
100 and 200) takes the best estimate without lookahead.
Fourth: compile time and definition size of a chain of per-sample stages (:func:`chain_workflow`)
by stages and samples, against the same machine built with the stepfunctions SDK
(benchmarks/sdk_baseline.py).

Run: python -m benchmarks.compile_scale [--graphs 5] [--repeat 3] [--seed 1] [--quick]
[--sizes-only] (--quick skips the old planner where it takes more than a few seconds: chain
500, wide 200; --sizes-only prints the definition bytes per stage only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from benchmarks import dag_makespan, dag_reference, sdk_baseline
from benchmarks.dag_makespan import random_dag as local_dag
from orchestrator import Workflow, dag, defsize, dsl, model
from orchestrator.compiler import asl_text, build_machine, compile_workflow
from orchestrator.compiler.compile import DefinitionTooLarge, deployed_size
from orchestrator.validate import ensure_valid
from orchestrator_runtime import limits

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


def chain_workflow(stages: int, samples: int, strategy: str = "array") -> model.Workflow:
    """``stages`` per-sample stages in a chain, each reading the previous one's output,
    declared for ``samples`` samples (``max_samples``)."""
    wf = dsl.Workflow("bench", bucket="s3://bench/wf")
    per = wf.foreach("sample_id", strategy=strategy,  # type: ignore[arg-type]
                     max_samples=samples)
    prev: dsl.JobRef | None = None
    for i in range(stages):
        source = f"s{i - 1}/{{sample_id}}.bam" if i else "raw/{sample_id}.fq"
        prev = wf.job(f"s{i}", image="img", command=["tool", "{inputs.x}", "{outputs.y}"],
                      inputs={"x": source}, outputs={"y": f"s{i}/{{sample_id}}.bam"},
                      per=per, after=[prev] if prev is not None else [], timeout="1h")
    return wf.build()


@dataclass(frozen=True)
class Compiled:
    seconds: float  # validate + compile (planning, states, ASL text)
    doc: dict[str, Any]
    written: int  # bytes once deployed, as the compiler writes the definition (ARNs filled)
    compact: int  # the same without indentation
    sdk_seconds: float  # the same machine built and serialized by the stepfunctions SDK
    sdk_bytes: int  # its JSON once deployed (ARNs filled)
    sdk_same: bool  # the SDK's document is the compiler's

    @property
    def fits(self) -> bool:
        return min(self.written, self.compact) <= limits.DEFINITION_BYTES


def _compile_once(wf: model.Workflow) -> float:
    started = time.perf_counter()
    ensure_valid(wf)
    # DefinitionTooLarge is raised once the whole text is written: the time is complete
    with contextlib.suppress(DefinitionTooLarge):
        compile_workflow(wf)
    return time.perf_counter() - started


def compile_measured(wf: model.Workflow, repeat: int = 1) -> Compiled:
    """Compile ``wf`` (best of ``repeat``; a definition over the size limit is measured all
    the same), and build the same machine through the SDK."""
    seconds = min(_compile_once(wf) for _ in range(repeat))
    doc = build_machine(wf).to_asl()
    sdk_seconds, sdk_text = sdk_baseline.timed_build(doc, repeat)
    return Compiled(seconds, doc, deployed_size(asl_text(doc)),
                    deployed_size(json.dumps(doc, separators=(",", ":"), ensure_ascii=False)),
                    sdk_seconds, deployed_size(sdk_text), sdk_baseline.same_states(doc, sdk_text))


def definitions_table(quick: bool) -> None:
    print("compiled definition of a chain of per-sample stages (strategy array)")
    print(f"{'stages':>6} {'samples':>8} | {'compile s':>9} {'KB':>7} {'compact':>7} "
          f"{'KB/stage':>8} | {'SDK s':>7} {'SDK KB':>7} same")
    cases = [(5, n) for n in (10, 1000, 100_000)] + [
        (k, 1000) for k in ((10, 100) if quick else (10, 100, 500))]
    for stages, samples in cases:
        c = compile_measured(chain_workflow(stages, samples), 3 if stages <= 10 else 1)
        print(f"{stages:>6} {samples:>8,} | {c.seconds:>9.3f} {c.written / 1000:>7.0f} "
              f"{c.compact / 1000:>7.0f} {c.compact / stages / 1000:>8.1f} | "
              f"{c.sdk_seconds:>7.3f} {c.sdk_bytes / 1000:>7.0f} {c.sdk_same}")


def stage_chain(strategy: Literal["inline", "array"] | None, n: int) -> model.Workflow:
    """N stages in a chain, each with a realistic command and paths (which no longer appear
    in the definition)."""
    wf = Workflow("scale", bucket="s3://my-bucket/scale")
    samples = wf.foreach("sample_id", strategy=strategy, max_samples=10) if strategy else None
    prev: str | None = None
    for i in range(n):
        tail = "/{sample_id}" if samples else ""
        prev = wf.job(
            f"stage{i:03d}", image="public.ecr.aws/docker/library/python:3.12-slim",
            command=[f"tool --threads 4 --in {{inputs.x}} --out {{outputs.y}} --tag run{i}"],
            shell=True, inputs={"x": f"step{i}{tail}.in"}, outputs={"y": f"step{i + 1}{tail}.out"},
            after=[prev] if prev else [], per=samples).name
    return wf.build()


def definition_sizes(wf: model.Workflow) -> tuple[int, int, int, int]:
    """(committed bytes, indented bytes, deployed bytes, model estimate)."""
    doc = build_machine(wf).to_asl()
    text = asl_text(doc)
    indented = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return (len(text.encode()), len(indented.encode()), deployed_size(text),
            defsize.estimate(wf))


def size_table(n: int = 50) -> None:
    print(f"definition bytes per stage (chains of {n} and {2 * n} stages; the fixed part "
          "cancels)")
    print(f"{'stage kind':>22} | {'indented':>9} {'committed':>9} {'deployed':>9} "
          f"{'estimate':>9} | {'stages in 1 MB':>14}")
    kinds: tuple[tuple[str, Literal["inline", "array"] | None], ...] = (
        ("per-sample, inline", "inline"), ("per-sample, array", "array"),
        ("once (no fan-out)", None))
    for label, strategy in kinds:
        small, big = definition_sizes(stage_chain(strategy, n)), definition_sizes(
            stage_chain(strategy, 2 * n))
        per = [(b - a) / n for a, b in zip(small, big, strict=True)]
        fixed = small[2] - n * per[2]
        fits = int((limits.DEFINITION_BYTES - fixed) // per[2])
        print(f"{label:>22} | {per[1]:9,.0f} {per[0]:9,.0f} {per[2]:9,.0f} {per[3]:9,.0f} | "
              f"{fits:14,}")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", type=int, default=5, help="random graphs per size (2nd table)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the new planner to time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip the slowest old runs")
    ap.add_argument("--sizes-only", action="store_true",
                    help="print the definition bytes per stage only")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    size_table()
    if args.sizes_only:
        return

    print("plan time, unit weights (seconds)")
    print(f"{'graph':>10} {'edges':>6} | {'old':>8} {'new':>8} {'old/new':>8} | same plan"
          " | valid")
    sizes = {"chain": (100, 200, 500), "local": (50, 100, 200), "wide": (50, 100, 200)}
    for family, ns in sizes.items():
        for n in ns:
            preds = FAMILIES[family](rng, n)
            edges = sum(map(len, preds.values()))
            t_new, p_new = timed(dag.plan, preds, None, args.repeat)
            valid = "yes" if dag_makespan.respects(p_new, preds) else "NO"
            if args.quick and (family, n) in SLOW_OLD:
                print(f"{family + ' ' + str(n):>10} {edges:>6} | {'-':>8} {t_new:8.4f}"
                      f" {'-':>8} | {'-':>9} | {valid}")
                continue
            t_old, p_old = timed(dag_reference.plan, preds, None, 1)
            print(f"{family + ' ' + str(n):>10} {edges:>6} | {t_old:8.3f} {t_new:8.4f}"
                  f" {t_old / t_new:8.0f} | {'yes' if p_old == p_new else 'no':>9} | {valid}")

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

    print()
    definitions_table(args.quick)


if __name__ == "__main__":
    main()
