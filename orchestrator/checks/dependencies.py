"""The DAG: after= names that exist, no cycles, and every producer of an input runs first."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from orchestrator import model
from orchestrator.checks.common import (
    Check,
    ancestors,
    by_name,
    closest,
    deps,
    error,
    path_templates,
    resolved,
)
from orchestrator.errors import Diagnostic


def unknown_dependencies(wf: model.Workflow) -> Iterator[Diagnostic]:
    jobs = by_name(wf)
    for job in wf.jobs:
        for dep in job.after:
            if not isinstance(dep, str):
                yield error(
                    "unknown-dependency", job.source,
                    f"job {job.name!r} runs after {dep!r}, which is not a job",
                    "list jobs in after= by what wf.job returned, or by name",
                )
                continue
            if dep in jobs:
                continue
            match = closest(dep, jobs)
            yield error(
                "unknown-dependency", job.source,
                f"job {job.name!r} runs after {dep!r}, but no job has that name",
                f"did you mean after=[{match}]?" if match
                else "define that job or remove it from after=",
            )


def _successors(wf: model.Workflow) -> dict[str, list[str]]:
    """Edges dependency -> dependent, in definition order."""
    jobs = by_name(wf)
    succ: dict[str, list[str]] = {name: [] for name in jobs}
    for name, job in jobs.items():
        for dep in dict.fromkeys(deps(job)):
            if dep in jobs:
                succ[dep].append(name)
    return succ


def _shortest_cycle(start: str, succ: dict[str, list[str]]) -> list[str] | None:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in succ[node]:
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def cycles(wf: model.Workflow) -> Iterator[Diagnostic]:
    """One diagnostic per cycle found, starting from the job defined first."""
    jobs = by_name(wf)
    succ = _successors(wf)
    covered: set[str] = set()
    for name in jobs:
        if name in covered:
            continue
        cycle = _shortest_cycle(name, succ)
        if cycle is None:
            continue
        covered.update(cycle)
        yield error(
            "dependency-cycle", jobs[name].source,
            f"jobs depend on each other in a cycle: {' -> '.join(cycle)} "
            "(each runs after the one before it)",
            "remove one of these after= dependencies",
        )


def producers_run_first(wf: model.Workflow) -> Iterator[Diagnostic]:
    """An input that another job writes is only there if that job has finished."""
    producers: dict[str, str] = {}
    for job in wf.jobs:
        for _, _, path in path_templates(job.outputs, "output"):
            uri = resolved(wf, path)
            if uri is not None:
                producers.setdefault(uri, job.name)
    before = ancestors(wf)
    for job in wf.jobs:
        if not isinstance(job.name, str):
            continue
        for _, _, path in path_templates(job.inputs, "input"):
            producer = producers.get(resolved(wf, path) or "")
            if producer is None or producer == job.name or producer in before[job.name]:
                continue
            yield error(
                "missing-dependency", job.source,
                f"job {job.name} reads {path} produced by {producer} but does not run after it",
                f"add after=[{producer}] to job {job.name}",
            )


CHECKS: tuple[Check, ...] = (unknown_dependencies, cycles, producers_run_first)
