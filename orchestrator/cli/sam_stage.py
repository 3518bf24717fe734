"""The folder `sam build` reads: the Lambda code, the runtime layer, the definitions and the
template, laid out as the template's relative paths expect."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.aws.errors import UsageError
from orchestrator.cli.build import write_atomically
from orchestrator.compiler import asl_text
from orchestrator.template import definition_uri

TEMPLATE_FILE = "template.yaml"


def package_dir(name: str) -> Path:
    """Where an installed package's files are (also for namespace packages: no __file__)."""
    return Path(next(iter(importlib.import_module(name).__path__)))


def stage(dest: Path, wfs: list[model.Workflow], definitions: dict[str, dict[str, Any]],
          template: str) -> None:
    """Everything `sam build` reads, laid out as the template's relative paths expect."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    lambdas = package_dir("orchestrator_lambdas")
    for fn in sorted(p.name for p in lambdas.iterdir() if (p / "app.py").is_file()):
        shutil.copytree(lambdas / fn, dest / "lambdas" / fn, dirs_exist_ok=True, ignore=ignore)
    runtime = package_dir("orchestrator_runtime")
    shutil.copytree(runtime, dest / "runtime" / runtime.name, dirs_exist_ok=True, ignore=ignore)
    requirements = runtime.parent / "requirements.txt"
    if not requirements.is_file():
        raise UsageError(f"{requirements} not found: the Lambda layer needs it; deploy from a "
                         "checkout of the orchestrator repository")
    shutil.copyfile(requirements, dest / "runtime" / "requirements.txt")
    for wf in wfs:
        write_atomically(dest / definition_uri(wf), asl_text(definitions[wf.name]))
    write_atomically(dest / TEMPLATE_FILE, template)
