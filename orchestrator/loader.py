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
    except KeyboardInterrupt:
        raise
    except SyntaxError as exc:  # raised while compiling the file: its own line and column
        where = p if exc.filename in (None, str(p)) or Path(exc.filename).resolve() == \
            p.resolve() else Path(exc.filename)
        col = f":{exc.offset}" if exc.offset else ""
        raise LoadError(f"{where}:{exc.lineno or 1}{col}: {type(exc).__name__}: {exc.msg}") \
            from None
    except BaseException as exc:  # the user's code (sys.exit too): where it broke, no traceback
        raise LoadError(f"{p}:{_line(p, exc)}: {_describe(exc)}") from None
    finally:
        sys.modules.pop(name, None)
    found: dict[int, dsl.Workflow] = {}  # by identity: an alias is the same workflow
    for value in vars(module).values():
        if isinstance(value, dsl.Workflow):
            found.setdefault(id(value), value)
    if not found:
        raise LoadError(f"{p}: defines no Workflow; create one with Workflow('name', bucket=...)")
    built = [w.build() for w in found.values()]
    return sorted(built, key=lambda w: str(w.name))


def _line(p: Path, exc: BaseException) -> int:
    """The last line of the workflow file in the traceback; its first line if none is (the
    file was not reached, e.g. an error raised while importing it)."""
    target = p.resolve()
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename and Path(f.filename).resolve() == target]
    return (frames[-1].lineno or 1) if frames else 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return (f"the file calls sys.exit({exc.code!r}); a workflow file must only define "
                "workflows (put scripts under if __name__ == '__main__':)")
    return f"{type(exc).__name__}: {exc}"


def load_one(path: str | Path) -> model.Workflow:
    workflows = load_file(path)
    if len(workflows) > 1:
        names = ", ".join(w.name for w in workflows)
        raise LoadError(f"{path}: defines several workflows ({names}); keep one per file")
    return workflows[0]
