"""History events and state transitions of a run, by fan-out strategy and samples.

Each case runs a two-stage per-sample workflow (trivial shell commands) on the local engine,
twice on one workdir: a fresh run (every job runs) and a run where everything is skipped.
Events and transitions are counted from the execution's history (what Step Functions would
record). A run fails on AWS past 25,000 events; transitions are billed at $0.025 per 1,000
(Standard workflows), projected here per 1,000 samples.

Run: python -m benchmarks.history [--sizes 10,100,1000] [--strategies array,map,inline]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestrator_runtime import limits

PRICE_PER_TRANSITION = 0.025 / 1000
# The strategies measured side by side (one place: a new strategy is one more name here).
STRATEGIES = ("array", "map", "inline")
RUNS = ("fresh", "all skipped")

WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("hist", bucket="s3://bench-history/hist")
samples = wf.foreach("sample_id", strategy={strategy!r}, max_samples={n})
a = wf.job("a", image="img", command=["cp {{inputs.x}} {{outputs.y}}"], shell=True,
           inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "a/{{sample_id}}.txt"}},
           per=samples, timeout="5m")
wf.job("b", image="img", command=["cp {{inputs.x}} {{outputs.y}}"], shell=True,
       inputs={{"x": "a/{{sample_id}}.txt"}}, outputs={{"y": "b/{{sample_id}}.txt"}},
       per=samples, after=[a], timeout="5m")
"""


def write_case(folder: Path, strategy: str, n: int) -> Path:
    data = folder / "data" / "hist"
    (data / "in").mkdir(parents=True)
    ids = [f"S{i:05d}" for i in range(n)]
    for s in ids:
        (data / "in" / f"{s}.txt").write_text(f"{s}\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(ids) + "\n")
    path = folder / "hist.py"
    path.write_text(textwrap.dedent(WORKFLOW.format(strategy=strategy, n=max(n, 1))))
    return path


def cost_per_1000_samples(transitions: int, samples: int) -> float:
    """Dollars of state transitions per 1,000 samples (Standard workflows)."""
    return transitions * PRICE_PER_TRANSITION * 1000 / samples


@contextlib.contextmanager
def child_histories() -> Iterator[Counter[str]]:
    """Events and transitions of a Distributed Map's child executions while the block runs.

    On AWS each child is an execution with its own history (its own 25,000-event limit) whose
    state transitions are billed; the emulator runs the children in one event manager it
    then drops, so the parent's history holds none of them. Counted here by wrapping it.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as component,
    )

    counts: Counter[str] = Counter()
    base: Any = vars(component)["EventManager"]

    class Counting(base):  # type: ignore[misc]
        def add_event(self, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> Any:
            counts["events"] += 1
            if str(getattr(event_type, "value", event_type)).endswith("StateEntered"):
                counts["transitions"] += 1
            return super().add_event(context, event_type, *args, **kwargs)

    setattr(component, "EventManager", Counting)  # noqa: B010 (not exported by moto)
    try:
        yield counts
    finally:
        setattr(component, "EventManager", base)  # noqa: B010


def measure(strategy: str, n: int, cores: float, runs: tuple[str, ...] = RUNS
            ) -> list[dict[str, Any]]:
    """One record per run of ``runs`` (in order: "fresh" first) on one workdir: the parent
    execution's history events (what the limit applies to), and the transitions billed,
    a Distributed Map's child executions included (``child_events``, ``child_transitions``)."""
    from orchestrator.local.engine import RunOptions, run

    out = []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        path = write_case(Path(tmp), strategy, n)
        for label in runs:
            began = time.perf_counter()
            with child_histories() as children:
                result = run(RunOptions(path, workdir=Path(tmp) / "wd", cores=cores))
            seconds = time.perf_counter() - began
            assert result.state_dir is not None
            record = json.loads((result.state_dir / "runs" / f"{result.run_id}.json").read_text())
            out.append({"strategy": strategy, "samples": n, "run": label,
                        "status": result.status, "events": record["history_events"],
                        "transitions": record["state_transitions"] + children["transitions"],
                        "child_events": children["events"],
                        "child_transitions": children["transitions"], "seconds": seconds})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--cores", type=float, default=2)
    args = parser.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        for strategy in args.strategies.split(","):
            rows += measure(strategy, n, args.cores)
            print(json.dumps(rows[-2:]), flush=True)
    head = (f"{'samples':>7} {'strategy':<8} {'run':<12} {'status':<10} {'events':>8} "
            f"{'child ev.':>9} {'transitions':>11} {'$/1,000 samples':>15} {'fits AWS':>8} "
            f"{'wall s':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        cost = cost_per_1000_samples(r["transitions"], r["samples"])
        fits = "yes" if r["events"] <= limits.HISTORY_EVENTS else "NO"
        print(f"{r['samples']:>7,} {r['strategy']:<8} {r['run']:<12} {r['status']:<10} "
              f"{r['events']:>8,} {r['child_events']:>9,} {r['transitions']:>11,} "
              f"{cost:>15.4f} {fits:>8} {r['seconds']:>7.1f}")
    by = {(r["samples"], r["strategy"], r["run"]): r for r in rows}
    for (n, strategy, run), r in sorted(by.items()):
        other = by.get((n, "inline", run))
        if strategy == "array" and other:
            print(f"{n:>7,} samples, {run}: inline/array events "
                  f"{other['events'] / r['events']:.1f}x, transitions "
                  f"{other['transitions'] / r['transitions']:.1f}x")


if __name__ == "__main__":
    main()
