"""Time per job on the local engine, before and after: this tree against a base revision.

Cases (each on a fresh workdir, so every job runs):

* ``chain20``: 20 trivial once-jobs, each reading the previous one's output (serial);
* ``fan100``: one stage over 100 samples (parallel, ``--cores`` at a time).

For each case it reports the wall time of ``orchestrator run --local`` (in-process
``engine.run``), the engine's start (process spawn to the first progress line: interpreter,
imports, emulator, stack), the jobs' own process time (startedAt..stoppedAt from the
job-state rows) and the engine overhead per job:

* serial chain: ``(wall after start - sum of job process times) / jobs``;
* fan-out: ``(wall after start - sum of job process times / cores) / jobs``.

The base revision is extracted with ``git archive`` into a temporary folder and measured
with the same interpreter and ``PYTHONPATH`` pointing at it; job processes inherit that
path, so they run the base revision's runner too.

Run: python benchmarks/local_engine.py [--base REV] [--repeat N] [--cores N] [--cases ...]
     python benchmarks/local_engine.py --processes 1000   # also: engine vs bare processes
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHAIN = """
from orchestrator import Workflow

wf = Workflow("chain", bucket="s3://bench-local/chain")
prev = None
for i in range({n}):
    src = f"s/{{i - 1}}.txt" if i else "seed.txt"
    prev = wf.job(f"s{{i}}", image="img", command=["cp {{inputs.x}} {{outputs.y}}"], shell=True,
                  inputs={{"x": src}}, outputs={{"y": f"s/{{i}}.txt"}},
                  after=[prev] if prev is not None else [], timeout="5m")
"""

FAN = """
from orchestrator import Workflow

wf = Workflow("fan", bucket="s3://bench-local/fan")
samples = wf.foreach("sample_id")
wf.job("one", image="img", command=["cp {{inputs.x}} {{outputs.y}}"], shell=True,
       inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "out/{{sample_id}}.txt"}},
       per=samples, timeout="5m")
"""


def _write_case(case: str, n: int, folder: Path) -> Path:
    if case == "chain":
        data = folder / "data" / "chain"
        data.mkdir(parents=True)
        (data / "seed.txt").write_text("seed\n")
        path = folder / "chain.py"
        path.write_text(textwrap.dedent(CHAIN.format(n=n)))
        return path
    data = folder / "data" / "fan"
    (data / "in").mkdir(parents=True)
    ids = [f"S{i:04d}" for i in range(n)]
    for s in ids:
        (data / "in" / f"{s}.txt").write_text(f"{s}\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(ids) + "\n")
    path = folder / "fan.py"
    path.write_text(textwrap.dedent(FAN.format()))
    return path


def _measure(case: str, n: int, cores: float, spawned: float) -> dict[str, Any]:
    """Runs inside a child process whose PYTHONPATH selects the revision."""
    from datetime import datetime

    from orchestrator.local import progress
    from orchestrator.local.engine import RunOptions, run

    first: list[float] = []

    def show(event: progress.Event | str) -> None:
        # The first progress snapshot; revisions before typed events passed rendered text.
        snapshot = getattr(progress, "Progress", str)
        if isinstance(event, snapshot) and not first:
            first.append(time.time())

    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        path = _write_case(case, n, Path(tmp))
        began = time.time()
        result = run(RunOptions(path, workdir=Path(tmp) / "wd", cores=cores), show)
        ended = time.time()
    spans = []
    for r in result.rows:
        with contextlib.suppress(KeyError, ValueError):
            spans.append((datetime.fromisoformat(str(r["stopped_at"]))
                          - datetime.fromisoformat(str(r["started_at"]))).total_seconds())
    ran = sum(t.succeeded + t.failed for t in result.tallies.values())
    return {"status": result.status, "rows": len(result.rows), "ran": ran,
            "terminal": sum(1 for r in result.rows if r.get("status") in
                            ("SUCCEEDED", "FAILED", "SKIPPED")),
            "wall": ended - spawned, "start": (first[0] if first else ended) - spawned,
            "in_run_start": (first[0] if first else ended) - began,
            "job_seconds": sum(spans), "jobs": len(spans)}


def _child(tree: Path | None, case: str, n: int, cores: float) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (tree / "site", ROOT / "benchmarks"))
    code = ("import json, sys; sys.path.insert(0, %r); import local_engine as b; "
            "print('RESULT ' + json.dumps(b._measure(%r, %d, %r, %r)))")
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", code % (str(ROOT / "benchmarks"), case, n,
                                                        cores, spawned)],
                         env=env, capture_output=True, text=True, cwd=tempfile.gettempdir(),
                         check=False)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"benchmark child failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][7:])
    result["noise"] = sum(1 for x in (out.stdout + out.stderr).splitlines()
                          if x.startswith(("Traceback", "{")))
    print(f"  {'base' if tree else 'this tree'} {case} x{n}: {json.dumps(result)}", flush=True)
    return result


def _extract(rev: str, into: Path) -> Path:
    """``rev`` as an importable tree: <into>/site/{orchestrator,orchestrator_runtime,...}."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    site = into / "site"
    site.mkdir()
    for name, target in (("orchestrator", "orchestrator"), ("orchestrator_lambdas", "lambdas"),
                         ("orchestrator_runtime", "runtime/orchestrator_runtime")):
        (site / name).symlink_to(into / target)
    return into


def _overhead(m: dict[str, Any], case: str, cores: float) -> float:
    busy = m["job_seconds"] if case == "chain" else m["job_seconds"] / cores
    return float(m["wall"] - m["start"] - busy) / max(int(m["ran"]), 1)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def _bare_processes(n: int, cores: float) -> float:
    """n runner-sized processes (python -c 'import boto3'), ``cores`` at a time."""
    started = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    for _ in range(n):
        while len(running) >= cores:
            running.pop(0).wait()
        running.append(subprocess.Popen([sys.executable, "-c", "import boto3"]))
    for p in running:
        p.wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="main", help="revision to compare with (%(default)s)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cores", type=float, default=2)
    parser.add_argument("--cases", nargs="*", default=["chain:20", "fan:100"])
    parser.add_argument("--processes", type=int, default=0,
                        help="also run N trivial jobs vs N bare processes (this tree only)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        base = _extract(args.base, Path(tmp))
        for spec in args.cases:
            case, n = spec.split(":")
            before: list[dict[str, Any]] = []
            after: list[dict[str, Any]] = []
            for _ in range(args.repeat):  # interleaved: the machine's speed drifts
                before.append(_child(base, case, int(n), args.cores))
                after.append(_child(None, case, int(n), args.cores))
            rows.append((f"{case} x{n}", before, after))

    head = f"{'case':<11} {'metric':<26} {'before':>9} {'after':>9} {'ratio':>7}"
    print(f"local engine, cores={args.cores:g}, base={args.base}, median of {args.repeat}")
    print(head)
    print("-" * len(head))
    for label, before, after in rows:
        case = label.split()[0]
        metrics = [
            ("wall s", _median(before, "wall"), _median(after, "wall")),
            ("engine start s", _median(before, "start"), _median(after, "start")),
            ("job process s (mean)",
             statistics.median(r["job_seconds"] / max(r["jobs"], 1) for r in before),
             statistics.median(r["job_seconds"] / max(r["jobs"], 1) for r in after)),
            ("wall per job ms", 1000 * _median(before, "wall") / max(before[0]["ran"], 1),
             1000 * _median(after, "wall") / max(after[0]["ran"], 1)),
            ("engine overhead/job ms",
             1000 * statistics.median(_overhead(r, case, args.cores) for r in before),
             1000 * statistics.median(_overhead(r, case, args.cores) for r in after)),
        ]
        for name, b, a in metrics:
            print(f"{label:<11} {name:<26} {b:>9.3f} {a:>9.3f} {a / b if b else 0:>6.2f}x")
        for name, key in (("status", "status"), ("jobs ran", "ran"), ("job rows", "rows"),
                          ("terminal rows", "terminal"), ("noise lines", "noise")):
            print(f"{label:<11} {name:<26} {before[-1][key]:>9} {after[-1][key]:>9}")
    if args.processes:
        engine = _child(None, "fan", args.processes, args.cores)
        bare = _bare_processes(args.processes, args.cores)
        print(f"\n{args.processes} trivial jobs, cores={args.cores:g}: engine "
              f"{engine['wall']:.1f}s (start {engine['start']:.1f}s), bare processes "
              f"(python -c 'import boto3') {bare:.1f}s, ratio {engine['wall'] / bare:.2f}x")


if __name__ == "__main__":
    main()
