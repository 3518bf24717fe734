"""The Lambda layer built from runtime/: what `sam build` runs for it, and what it holds.

The template says ``BuildMethod: makefile``, so `sam build` runs ``make build-RuntimeLayer``
in a copy of runtime/ with ARTIFACTS_DIR set; the layer is ARTIFACTS_DIR/python. The last
test runs exactly that against the package index pip is configured with (skipped when the
index cannot be reached) and checks that the layer carries no boto3/botocore of its own,
and that its packages import with botocore from the runtime (here: this environment).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from templatekit import ROOT, examples, generate

from orchestrator.cli import sam_stage
from orchestrator.template import functions

LAYER_DIR = ROOT / "runtime"


def test_the_layer_is_built_by_the_generated_makefile() -> None:
    doc: dict[str, Any] = generate(examples())
    layer = doc["Resources"][functions.LAYER]
    assert layer["Metadata"] == {"BuildMethod": "makefile"}
    assert layer["Properties"]["ContentUri"] == "runtime/"
    committed = (LAYER_DIR / functions.LAYER_MAKEFILE).read_text(encoding="utf-8")
    assert committed == functions.layer_makefile(), "run scripts/regen_goldens.py"
    assert f"build-{functions.LAYER}:" in committed


def test_deploy_stages_the_makefile_beside_the_requirements(tmp_path: Path) -> None:
    sam_stage.stage(tmp_path, [], {}, "Resources: {}\n")
    staged = tmp_path / "runtime"
    assert (staged / functions.LAYER_MAKEFILE).read_text() == functions.layer_makefile()
    assert (staged / "requirements.txt").is_file()
    assert (staged / "orchestrator_runtime" / "contracts.py").is_file()


def _pip_python() -> str | None:
    """A Python with pip (the project's venv may have none), as `sam build` would find."""
    for candidate in (sys.executable, shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-m", "pip", "--version"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python, make = _pip_python(), shutil.which("make")
    if python is None or make is None:
        pytest.skip("needs make and a Python with pip, as `sam build` does")
    source = tmp_path_factory.mktemp("src")
    sam_stage.stage(source, [], {}, "Resources: {}\n")  # what deploy hands to sam build
    artifacts = tmp_path_factory.mktemp("artifacts")
    done = subprocess.run(
        [make, "-f", str(source / "runtime" / functions.LAYER_MAKEFILE),
         f"build-{functions.LAYER}", f"PYTHON={python}"],
        cwd=source / "runtime", env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and ("Could not find a version" in done.stderr
                                 or "NewConnectionError" in done.stderr
                                 or "No matching distribution" in done.stderr):
        pytest.skip(f"the package index cannot be reached: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return artifacts / "python"


def test_the_built_layer_ships_no_boto3_or_botocore(built_layer: Path) -> None:
    names = {p.name.split("-")[0].lower() for p in built_layer.iterdir()}
    assert {"aws_lambda_powertools", "aws_xray_sdk", "pydantic", "orchestrator_runtime"} <= names
    assert not names & {"boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil",
                        "python_dateutil", "six", "six.py"}, sorted(names)
    assert not list(built_layer.rglob("__pycache__"))


def test_the_layer_imports_with_the_runtime_s_botocore(built_layer: Path) -> None:
    # /opt/python comes first on a Lambda's sys.path: put the layer first here too
    code = ("import botocore, aws_xray_sdk.core, aws_lambda_powertools;"
            "from aws_lambda_powertools import Tracer; from orchestrator_runtime import contracts;"
            "print(botocore.__file__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(built_layer)})
    assert done.returncode == 0, done.stderr
    assert not done.stdout.strip().startswith(str(built_layer))
