"""`compile`, `validate` and `graph`: everything that needs no AWS account."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.cli import outpaths
from orchestrator.errors import Diagnostic, WorkflowError
from orchestrator.jobspec import COMPUTE_TYPES

if TYPE_CHECKING:
    from orchestrator import model

DEFAULT_OUT = "state_machines"


def register(sub: Any) -> None:
    p = sub.add_parser("compile", help="compile workflow files to state_machines/*.asl.json")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--out", default=DEFAULT_OUT, help="output folder (%(default)s)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when committed output differs (drift check)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("validate", help="check workflow files (.py) or ASL files (.json)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--compute-type", choices=COMPUTE_TYPES, default=None,
                   help="also check job sizes against what jobs will run on (the template's "
                        "ComputeType parameter)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("graph", help="print the job DAG or the compiled state machine")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument("--view", choices=["jobs", "states"], default="jobs",
                   help="jobs: the dependency DAG; states: the compiled state machine")
    p.set_defaults(func=cmd_graph)


def load_valid(files: list[str], compute_type: str | None = None
               ) -> list[tuple[model.Workflow, list[Diagnostic]]]:
    """Load and validate every file; raise one WorkflowError with all their diagnostics."""
    from orchestrator import loader
    from orchestrator.validate import ensure_valid

    loaded: list[tuple[model.Workflow, list[Diagnostic]]] = []
    problems: list[Diagnostic] = []
    for f in files:
        for wf in loader.load_file(f):
            try:
                loaded.append((wf, ensure_valid(wf, compute_type)))
            except WorkflowError as exc:
                problems.extend(exc.diagnostics)
    if problems:
        raise WorkflowError(problems)
    from orchestrator.validate import duplicate_names

    dupes = duplicate_names([wf for wf, _ in loaded])
    if dupes:
        raise WorkflowError(dupes)
    return loaded


def compiled(files: list[str]) -> dict[str, str]:
    """File name -> ASL text for every workflow in ``files``; warnings go to stderr."""
    from orchestrator.compiler import asl_text, compile_workflow

    out: dict[str, str] = {}
    for wf, warnings in load_valid(files):
        for w in warnings:
            print(w.text(), file=sys.stderr)
        out[f"{wf.name}.asl.json"] = asl_text(compile_workflow(wf))
    return out


def drift(path: Path, text: str) -> list[str]:
    """A short diff when ``path`` differs from ``text`` (empty when identical)."""
    import difflib

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old == text:
        return []
    diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), str(path),
                                     f"{path} (regenerated)", lineterm="", n=1))
    return diff[:40] + ([f"... {len(diff) - 40} more lines"] if len(diff) > 40 else [])


def cmd_compile(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if not args.check:
        outpaths.check_folder(out_dir, "-o")
    outputs = compiled(args.files)  # everything compiles before anything is written
    if args.check:
        stale = {name: d for name, text in outputs.items() if (d := drift(out_dir / name, text))}
        for name, d in stale.items():
            print(f"{out_dir / name} is out of date:", file=sys.stderr)
            print("\n".join(d), file=sys.stderr)
        if stale:
            print(f"run: orchestrator compile {' '.join(args.files)} -o {args.out}",
                  file=sys.stderr)
            return 1
        print(f"{len(outputs)} definition(s) up to date in {out_dir}/")
        return 0
    for name in outputs:
        outpaths.check_file(out_dir / name, "-o")
    outpaths.write_all({out_dir / name: text.encode() for name, text in outputs.items()})
    for name, text in outputs.items():
        print(f"wrote {out_dir / name} ({len(text.encode()):,} bytes)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for f in args.files:
        ok, lines = validate_asl_file(f) if f.endswith(".json") \
            else validate_workflow_file(f, args.compute_type)
        for line in lines:
            print(line, file=sys.stderr)
        failed += not ok
        if ok:
            print(f"{f}: ok" + (f" ({len(lines)} warning(s))" if lines else ""))
    return 2 if failed else 0


def validate_workflow_file(f: str, compute_type: str | None = None) -> tuple[bool, list[str]]:
    from orchestrator.compiler import compile_workflow

    try:
        loaded = load_valid([f], compute_type)
    except WorkflowError as exc:
        return False, [d.text() for d in exc.diagnostics]
    warnings: list[str] = []
    for wf, found in loaded:
        warnings += [w.text() for w in found]
        try:
            compile_workflow(wf)  # what only the compiled definition shows (its size)
        except WorkflowError as exc:
            return False, warnings + [d.text() for d in exc.diagnostics]
    return True, warnings


def validate_asl_file(f: str) -> tuple[bool, list[str]]:
    from orchestrator.asl import check as asl_check

    path = Path(f)
    if not path.is_file():
        return False, [f"{f}: no such file"]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return False, [f"{f}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]
    except UnicodeDecodeError:
        return False, [f"{f}: not a UTF-8 text file"]
    problems = [f"{f}: {p}" for p in asl_check.problems(doc)]
    return not problems, problems


def cmd_graph(args: argparse.Namespace) -> int:
    from orchestrator import graph
    from orchestrator.compiler import compile_workflow

    (wf, _), *_ = load_valid([args.file])
    if args.view == "jobs":
        print(graph.job_graph(wf, args.format), end="")
    else:
        print(graph.state_machine_graph(compile_workflow(wf), args.format), end="")
    return 0
