"""Load workflow definitions from Python files."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from orchestrator import dsl, model
from orchestrator.errors import LoadError


def load_file(path: str | Path) -> list[model.Workflow]:
    """Execute a workflow file and return every Workflow it defines at module level."""
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: no such workflow file")
    if p.suffix != ".py":
        raise LoadError(f"{p}: a workflow file is a Python file (.py)")
    name = f"_orchestrator_workflow_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise LoadError(f"{p}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: report where it broke, no traceback
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).resolve() == p.resolve()]
        line = frames[-1].lineno if frames else 0
        raise LoadError(f"{p}:{line}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    found = [v.build() for v in vars(module).values() if isinstance(v, dsl.Workflow)]
    if not found:
        raise LoadError(f"{p}: defines no Workflow; create one with Workflow('name', bucket=...)")
    return sorted(found, key=lambda w: w.name)


def load_one(path: str | Path) -> model.Workflow:
    workflows = load_file(path)
    if len(workflows) > 1:
        names = ", ".join(w.name for w in workflows)
        raise LoadError(f"{path}: defines several workflows ({names}); keep one per file")
    return workflows[0]
