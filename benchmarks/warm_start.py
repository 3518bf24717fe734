"""Engine start as a user sees it: `orchestrator run FILE --local`, cold and warm.

For each case it starts the CLI as a new process (``--json``, so every event is one line) and
measures the time from spawning it to its first progress event (the engine is up and the
execution is running) and to its exit. *Cold* runs with ``ORCHESTRATOR_WARM_ENGINE=0`` (the
CLI loads the engine itself); *warm* is served by a warm engine started and loaded before the
first measurement (orchestrator.local.warmengine). Runs alternate cold, warm, cold, ... since
the machine's speed drifts; each run has a fresh workspace, so every job runs.

Cases: ``chain:N`` (N trivial once-jobs in a row, as in benchmarks/local_engine.py) and
``readme`` (examples/rnaseq.py, README line 1).

Run: python benchmarks/warm_start.py [--repeat N] [--cases chain:20 readme]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_engine import _write_case  # the same chain workflow

from orchestrator.local import warmengine

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "orchestrator.cli", "run"]


def _workflow(case: str, folder: Path) -> Path:
    if case == "readme":
        return ROOT / "examples" / "rnaseq.py"
    name, n = case.split(":")
    return Path(_write_case(name, int(n), folder))


def _measure(path: Path, workdir: Path, env: dict[str, str]) -> tuple[float, float, bool]:
    """(seconds to the first progress event, seconds to exit, served warm)."""
    began = time.monotonic()
    proc = subprocess.Popen([*CLI, str(path), "--local", "--json", "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    first, warm = 0.0, False
    for line in proc.stdout:
        if not first and '"event": "progress"' in line:
            first = time.monotonic() - began
        warm = warm or "local processes, warm)" in line
    if proc.wait() != 0:
        raise SystemExit(f"{path} failed (exit {proc.returncode})")
    return first, time.monotonic() - began, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="*", default=["chain:20", "readme"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, **{warmengine.DIR_ENV: str(folder / "rt"), warmengine.ENV: "1"})
        cold_env = dict(env, **{warmengine.ENV: "0"})
        os.environ.update({warmengine.DIR_ENV: env[warmengine.DIR_ENV]})
        socket = warmengine.start_background()
        if socket is None:
            raise SystemExit("could not start a warm engine")
        began = time.monotonic()
        while not socket.exists():
            if time.monotonic() - began > 180:
                raise SystemExit("the warm engine did not load in 180 s")
            time.sleep(0.1)
        print(f"warm engine loaded in {time.monotonic() - began:.1f} s", flush=True)
        rows = []
        try:
            for case in args.cases:
                path = _workflow(case, folder / case.replace(":", ""))
                cold, warm = [], []
                for i in range(args.repeat):
                    cold.append(_measure(path, folder / f"{case}-cold{i}", cold_env))
                    warm.append(_measure(path, folder / f"{case}-warm{i}", env))
                    print(f"  {case}: cold {cold[-1][:2]} warm {warm[-1]}", flush=True)
                if not all(w[2] for w in warm) or any(c[2] for c in cold):
                    raise SystemExit(f"{case}: a run was not served as intended")
                rows.append((case, cold, warm))
        finally:
            subprocess.run(["pkill", "-f", str(socket)], check=False)
    head = f"{'case':<10} {'metric':<24} {'cold':>8} {'warm':>8} {'ratio':>7}"
    print(f"orchestrator run --local, median of {args.repeat}, cores={os.cpu_count()}")
    print(head)
    print("-" * len(head))
    for case, cold, warm in rows:
        for label, k in (("first progress s", 0), ("command s", 1)):
            c = statistics.median(x[k] for x in cold)
            w = statistics.median(x[k] for x in warm)
            print(f"{case:<10} {label:<24} {c:>8.2f} {w:>8.2f} {w / c:>6.2f}x")


if __name__ == "__main__":
    main()
