"""statelint (PyPI, 3.1.0) on a definition, less the problems that are statelint's own gaps.

Gap: statelint's ReaderConfig node (statelint/nodes/map_state.py, class ReaderConfig) allows
only MaxItems and MaxItemsPath, so it rejects ``ReaderConfig.InputType``, which Step
Functions requires to read a JSON, CSV or JSON-lines file with ItemReader (developer guide,
"ItemReader (Map)": ``"ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation":
"FIRST_ROW"}``; ``"InputType": "JSON"`` for a JSON array). asl-validator (npm) accepts the
same definitions, and the interpreter of moto (LocalStack's) reads InputType.
tests/golden/test_golden_pairs.py::test_statelint_gap_reader_config_input_type shows the gap
on a minimal definition: when it fails, statelint has closed the gap; delete the filter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GAPS = (re.compile(r'Field "InputType" not allowed in .*\.ItemReader\.ReaderConfig'),)


def problems(path: str | Path) -> list[str]:
    """statelint's problems with ``path``, each one line, without its known gaps; an
    unexpected failure of statelint itself is a problem too."""
    exe = Path(sys.executable).with_name("statelint")
    result = subprocess.run([str(exe), str(path)], capture_output=True, text=True)
    if result.returncode == 0:
        return []
    lines = [ln.strip() for ln in (result.stdout + result.stderr).splitlines()[1:] if ln.strip()]
    found = [ln for ln in lines if not any(g.fullmatch(ln) for g in GAPS)]
    return found or ([] if lines else [result.stdout + result.stderr])
