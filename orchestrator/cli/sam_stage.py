"""The folder `sam build` reads: the Lambda code, the runtime layer, the definitions and the
template, laid out as the template's relative paths expect."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.cli import outpaths
from orchestrator.errors import UsageError

if TYPE_CHECKING:
    from orchestrator import model

TEMPLATE_FILE = "template.yaml"


def package_dir(name: str) -> Path:
    """Where an installed package's files are (also for namespace packages: no __file__)."""
    return Path(next(iter(importlib.import_module(name).__path__)))


def stage(dest: Path, wfs: list[model.Workflow], definitions: dict[str, dict[str, Any]],
          template: str) -> None:
    """Everything `sam build` reads, laid out as the template's relative paths expect; every
    file checked first, then all written at once (a full disk leaves nothing half-staged)."""
    from orchestrator.compiler import asl_text
    from orchestrator.template import definition_uri
    from orchestrator.template.functions import LAYER_MAKEFILE, layer_makefile

    files: dict[Path, bytes] = {}
    lambdas = package_dir("orchestrator_lambdas")
    for fn in sorted(p.name for p in lambdas.iterdir() if (p / "app.py").is_file()):
        files |= _tree(lambdas / fn, dest / "lambdas" / fn)
    runtime = package_dir("orchestrator_runtime")
    files |= _tree(runtime, dest / "runtime" / runtime.name)
    files[dest / "runtime" / "requirements.txt"] = layer_requirements(runtime).encode()
    files[dest / "runtime" / LAYER_MAKEFILE] = layer_makefile().encode()
    for wf in wfs:
        files[dest / definition_uri(wf)] = asl_text(definitions[wf.name]).encode()
    files[dest / TEMPLATE_FILE] = template.encode()
    for path in files:
        outpaths.check_file(path, "staging folder", "run deploy from another folder")
    outpaths.write_all(files)


def _tree(source: Path, target: Path) -> dict[Path, bytes]:
    """The files of a package folder (no caches), by where they go under ``target``."""
    return {target / p.relative_to(source): p.read_bytes() for p in sorted(source.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def layer_requirements(runtime: Path) -> str:
    """The Lambda layer's requirements.txt: runtime/requirements.txt in a checkout; in an
    installed package, the same pin read from the 'local' extra (tests keep the two equal)."""
    checkout = runtime.parent / "requirements.txt"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    from importlib import metadata

    from orchestrator.cli import DISTRIBUTION

    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        declared = []
    pins = [r.split(";")[0].strip() for r in declared
            if r.startswith("aws-lambda-powertools") and 'extra == "local"' in r]
    if not pins:
        raise UsageError(f"{checkout} not found and {DISTRIBUTION} is not installed with its "
                         "metadata: the Lambda layer needs aws-lambda-powertools; reinstall "
                         f"with pip install {DISTRIBUTION}")
    return "\n".join(pins) + "\n"
