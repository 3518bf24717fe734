"""No orphans: job processes of a workspace die with the run that started them.

Every job process of a local run carries ``ORCHESTRATOR_LOCAL_STATE=<workspace>`` in its
environment (children inherit it). :func:`sweep` kills the process groups of every process
that carries it (Linux: read from ``/proc/<pid>/environ``) and removes the jobs' scratch
folders. It runs

- at the start of a run, under the workspace lock: whatever a killed run left is swept;
- in a watchdog process (this file, run as a script) started with each run: it
  waits for its stdin to close, which happens when the CLI exits for any reason, SIGKILL
  included, and then sweeps. The watchdog ignores SIGINT/SIGTERM sent to the terminal's group.

Standard library only: the watchdog starts in a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

MARKER = "ORCHESTRATOR_LOCAL_STATE"
SCRATCH = "scratch"


def _marked(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def marked_processes(root: Path) -> list[int]:
    """Pids of live processes started for ``root``'s runs (not this process)."""
    entry = f"{MARKER}={root}".encode()
    me = os.getpid()
    out = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != me and _marked(int(name), entry):
                out.append(int(name))
    return out


def sweep(root: Path) -> int:
    """Kill leftover job processes (their groups) and scratch folders; returns the count."""
    own_group = os.getpgid(0)
    killed = 0
    for _ in range(3):  # a dying runner may still fork: look again
        pids = marked_processes(root)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
                killed += 1
    scratch = root / SCRATCH
    if scratch.is_dir():
        for child in scratch.iterdir():
            shutil.rmtree(child, ignore_errors=True)
    return killed


def watch(root: Path) -> subprocess.Popen[bytes]:
    """Start the watchdog of this run; close its stdin (or die) to make it sweep."""
    env = {k: v for k, v in os.environ.items() if k != MARKER}
    return subprocess.Popen([sys.executable, "-S", __file__, str(root)],
                            stdin=subprocess.PIPE, env=env, start_new_session=True)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdin.buffer.read()  # returns when the run's CLI closes the pipe or dies
    sweep(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
