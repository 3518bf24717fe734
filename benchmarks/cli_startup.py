"""How long the light commands take to start, and how many modules they import.

Each command runs in a new interpreter (as a user runs it), five times; the table shows the
fastest and the median wall time, the modules imported, and whether boto3, moto or rich were
among them (they should not be: see tests/unit/test_cli_install.py). On a loaded machine the
median moves a lot; the fastest run and the module count do not.

Run: python benchmarks/cli_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIAMOND = str(ROOT / "examples" / "diamond.py")
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", DIAMOND],
    "compile": ["compile", DIAMOND, "-o", "sm"],
    "graph": ["graph", DIAMOND],
    "template": ["template", DIAMOND, "-o", "template.yaml"],
    "batch --help": ["batch", "--help"],
}
REPEAT = 5
PROBE = """
import contextlib, io, sys
from orchestrator.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"boto3", "moto", "rich"}})
print(len(sys.modules), ",".join(heavy) or "-")
"""


def main() -> None:
    print(f"{'command':<14} {'fastest s':>10} {'median s':>9} {'modules':>8}  heavy")
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in COMMANDS.items():
            times = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "orchestrator.cli", *argv], cwd=tmp,
                               capture_output=True, check=False)
                times.append(time.perf_counter() - started)
            probe = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], cwd=tmp,
                                   capture_output=True, text=True, check=True)
            modules, heavy = probe.stdout.split()
            print(f"{name:<14} {min(times):>10.2f} {statistics.median(times):>9.2f} "
                  f"{modules:>8}  {heavy}")


if __name__ == "__main__":
    main()
