"""What `orchestrator run --local` prints for scripts (--json, --quiet) and for log files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JOBS = {(st, sa) for st in ("qc", "trim", "count") for sa in ("S1", "S2", "S3")} | {
    ("report", "")}


def cli(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it: stdout a pipe, not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "run", str(tmp_path / "rnaseq.py"),
         "--local", "--workdir", str(tmp_path / "wd"), "--out", str(tmp_path / "out"), *extra],
        capture_output=True, text=True, timeout=600, check=False)


def test_json_then_quiet_then_plain_lines(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "rnaseq.py", tmp_path / "rnaseq.py")
    shutil.copytree(ROOT / "examples" / "data" / "rnaseq", tmp_path / "data" / "rnaseq")

    first = cli(tmp_path, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    events: list[dict[str, Any]] = [json.loads(line) for line in first.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "notice" and kinds[-1] == "summary"
    phases = [e["phase"] for e in events if e["event"] == "phase"]
    assert phases == ["starting", "staging", "running", "keeping"]
    staging = [e["text"] for e in events if e["event"] == "phase"][1]
    assert staging == f"staging 4 input file(s) from {tmp_path / 'data' / 'rnaseq'}"
    jobs = [e for e in events if e["event"] == "job"]
    assert {(e["stage"], e["sample"]) for e in jobs} == JOBS
    for unit in JOBS:  # each job's changes in order, ending in success, none repeated
        seen = [e["status"] for e in jobs if (e["stage"], e["sample"]) == unit]
        assert seen[-1] == "SUCCEEDED" and len(seen) == len(set(seen)), (unit, seen)
        previous = [e["previous"] for e in jobs if (e["stage"], e["sample"]) == unit]
        assert previous == ["", *seen[:-1]]
    first_running = kinds.index("phase", kinds.index("phase", kinds.index("phase") + 1) + 1)
    assert kinds.index("job") > first_running  # no job before the execution started
    elapsed = [e["elapsed"] for e in events]
    assert elapsed[1:] == sorted(elapsed[1:])
    last = events[-1]
    assert (last["workflow"], last["status"], last["ran"], last["skipped"]) == (
        "rnaseq", "SUCCEEDED", 10, 0)
    assert len(last["jobs"]) == 10 and all(j["log"] for j in last["jobs"])

    quiet = cli(tmp_path, "--quiet")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert quiet.stdout.splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("rnaseq: SUCCEEDED in ")
    assert quiet.stdout.rstrip().endswith("(0 job(s) ran, 10 skipped: outputs already complete)")

    plain = cli(tmp_path).stdout
    assert "\x1b" not in plain
    lines = plain.splitlines()
    assert sum(1 for x in lines if x.endswith(" SKIPPED")) == 10  # one line per change
    assert "10 job(s) skipped: outputs already complete" in lines
    assert "stage " not in plain  # no table of skipped rows
