"""Find every problem of a workflow before anything is compiled or deployed.

``validate`` returns all diagnostics (errors and warnings) sorted by file and line, so a user
fixes everything in one pass; ``ensure_valid`` raises when any of them is an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import model
from orchestrator.checks import REGISTRY, resources
from orchestrator.errors import Diagnostic, WorkflowError


def validate(wf: model.Workflow, compute_type: str | None = None) -> list[Diagnostic]:
    """Every diagnostic; with ``compute_type`` (EC2, SPOT, FARGATE, FARGATE_SPOT) also the
    sizes that compute type refuses."""
    found = [d for check in REGISTRY for d in check(wf)]
    if compute_type is not None:
        found += resources.for_compute_type(wf, compute_type)
    return sorted(found, key=lambda d: (d.file, d.line))


def ensure_valid(wf: model.Workflow, compute_type: str | None = None) -> list[Diagnostic]:
    """The warnings of a workflow without errors; raises WorkflowError carrying all otherwise."""
    found = validate(wf, compute_type)
    if any(d.severity == "error" for d in found):
        raise WorkflowError(found)
    return found



def duplicate_names(wfs: Sequence[model.Workflow]) -> list[Diagnostic]:
    """Workflows that share a name (each names a state machine): one error per later
    definition, naming the first one's file and line."""
    first: dict[str, model.Workflow] = {}
    out: list[Diagnostic] = []
    for wf in wfs:
        other = first.setdefault(str(wf.name), wf)
        if other is not wf:
            out.append(Diagnostic(
                "duplicate-workflow",
                f"workflow name {wf.name!r} is also defined at {other.source.file}:"
                f"{other.source.line}; each name is one state machine",
                wf.source.file, wf.source.line, "rename one of the workflows", "error"))
    return out
