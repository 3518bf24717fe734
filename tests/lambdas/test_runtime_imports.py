"""The contract ships in job images and the Lambda layer: it must need nothing installed."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
before = set(sys.modules)
import orchestrator_runtime.contracts
new = {m.split(".")[0] for m in set(sys.modules) - before}
print(json.dumps(sorted(new - set(sys.stdlib_module_names))))
"""


def test_contracts_imports_only_the_standard_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                         text=True).stdout

    assert json.loads(out) == ["orchestrator_runtime"]


def test_lambda_logic_imports_neither_powertools_nor_the_compiler() -> None:
    probe = PROBE.replace(
        "import orchestrator_runtime.contracts",
        "import orchestrator_runtime.outputs, orchestrator_runtime.triggers, "
        "orchestrator_runtime.jobstate, orchestrator_runtime.explain")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout

    imported = set(json.loads(out))
    assert "botocore" in imported
    assert not imported & {"aws_lambda_powertools", "pydantic", "orchestrator", "moto", "yaml"}
