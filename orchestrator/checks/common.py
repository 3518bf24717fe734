"""What the checks share: diagnostic constructors, name lookup, templates, ancestry."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator

from orchestrator import model
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts

Check = Callable[[model.Workflow], Iterable[Diagnostic]]


def error(code: str, where: model.Source, message: str, hint: str) -> Diagnostic:
    return Diagnostic(code, message, where.file, where.line, hint, "error")


def warning(code: str, where: model.Source, message: str, hint: str) -> Diagnostic:
    return Diagnostic(code, message, where.file, where.line, hint, "warning")


def by_name(wf: model.Workflow) -> dict[str, model.Job]:
    """Jobs by name; the first definition wins. Duplicates and names that are not strings
    are reported by the name checks."""
    jobs: dict[str, model.Job] = {}
    for job in wf.jobs:
        if isinstance(job.name, str):
            jobs.setdefault(job.name, job)
    return jobs


def deps(job: model.Job) -> list[str]:
    """The after= names that are strings (others are reported as unknown dependencies)."""
    return [d for d in job.after if isinstance(d, str)]


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def ancestors(wf: model.Workflow) -> dict[str, frozenset[str]]:
    """Every job each job runs after, transitively; unknown names and cycles are tolerated."""
    jobs = by_name(wf)
    found: dict[str, frozenset[str]] = {}

    def visit(name: str) -> frozenset[str]:
        if name in found:
            return found[name]
        seen: set[str] = set()
        stack = [d for d in deps(jobs[name]) if d in jobs]
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            stack.extend(d for d in deps(jobs[dep]) if d in jobs and d not in seen)
        found[name] = frozenset(seen)
        return found[name]

    return {name: visit(name) for name in jobs}


def command_templates(job: model.Job) -> Iterator[tuple[str, str]]:
    """(field label, template) for the command and environment; non-strings are skipped."""
    for i, arg in enumerate(job.command):
        if isinstance(arg, str):
            yield f"command[{i}]", arg
    for key, value in job.environment.items():
        if isinstance(value, str):
            yield f"env {key}", value


def path_templates(paths: dict[str, str], kind: str) -> Iterator[tuple[str, str, str]]:
    """(name, field label, template) of the string-valued entries of inputs or outputs."""
    for name, path in paths.items():
        if isinstance(path, str):
            yield name, f"{kind} {name}", path


def resolved(wf: model.Workflow, path: str) -> str | None:
    """The path as a URI template, or None when it is invalid (reported by the path checks)."""
    if not isinstance(wf.bucket, str):
        return None
    try:
        return str(contracts.resolve_path(wf.bucket, path))
    except ValueError:
        return None

