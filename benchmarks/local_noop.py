"""A no-op re-run of `orchestrator run --local` against the size of its input.

The workflow has one stage reading one input file. The first run computes it; the table
shows the second run, which has nothing to do: its wall time, peak memory (maximum resident
set size, from /usr/bin/time -v) and the disk the workspace uses beyond the input. Cost should
follow work, not data: a 1 GB input should cost what a 1 KB one does.

Run: python benchmarks/local_noop.py [--sizes 1K,1G] [--cli PATH-TO-orchestrator]
(``--cli`` compares another build, e.g. the copy-in/copy-out engine of an older checkout.)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("noop", bucket="s3://bench/noop")
head = wf.job("head", image="img", command=["head -c 64 {inputs.x} > {outputs.y}"],
              shell=True, inputs={"x": "big.bin"}, outputs={"y": "head.bin"}, timeout="30m")
"""
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size_of(text: str) -> int:
    return int(text[:-1]) * UNITS[text[-1].upper()]


def du(path: Path) -> int:
    """Bytes on disk under ``path`` (hard links counted once)."""
    seen: set[int] = set()
    total = 0
    for p in path.rglob("*"):
        st = p.lstat()
        if p.is_file() and st.st_ino not in seen:
            seen.add(st.st_ino)
            total += st.st_blocks * 512
    return total


def timed_run(cli: str, workflow: Path, workdir: Path) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, output) of one CLI run under /usr/bin/time -v."""
    # The engine in the CLI's own process, so that its peak memory is the one measured (a run
    # served by a warm engine would show only the CLI's).
    env = dict(os.environ, ORCHESTRATOR_WARM_ENGINE="0")
    proc = subprocess.run(["/usr/bin/time", "-v", cli, "run", str(workflow), "--local",
                           "--workdir", str(workdir)], capture_output=True, text=True,
                          check=False, env=env)
    if proc.returncode != 0:
        sys.exit(f"run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall and rss, proc.stderr
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, int(rss.group(1)) * 1024, proc.stdout


def write_input(path: Path, size: int) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB
    with open(path, "wb") as out:
        left = size
        while left > 0:
            out.write(block[:min(left, len(block))])
            left -= len(block)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1K,1G")
    ap.add_argument("--cli", default=str(Path(sys.executable).parent / "orchestrator"))
    args = ap.parse_args()
    print(f"{'input':>6} {'first run s':>12} {'no-op re-run s':>15} {'peak RSS MB':>12} "
          f"{'workspace MB':>13} {'re-run grew MB':>15}")
    for text in args.sizes.split(","):
        folder = Path(tempfile.mkdtemp(prefix="bench-noop-"))
        try:
            wf = folder / "noop.py"
            wf.write_text(textwrap.dedent(WORKFLOW))
            data = folder / "data" / "noop"
            data.mkdir(parents=True)
            write_input(data / "big.bin", size_of(text))
            workdir = folder / "wd"
            first, _, _ = timed_run(args.cli, wf, workdir)
            before = du(workdir)
            wall, rss, out = timed_run(args.cli, wf, workdir)
            if "0 job(s) ran" not in out:
                sys.exit(f"the re-run did work:\n{out}")
            after = du(workdir)
            print(f"{text:>6} {first:>12.1f} {wall:>15.1f} {rss / 1e6:>12.0f} "
                  f"{after / 1e6:>13.2f} {(after - before) / 1e6:>15.2f}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
