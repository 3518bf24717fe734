"""Find every problem of a workflow before anything is compiled or deployed.

``validate`` returns all diagnostics (errors and warnings) sorted by file and line, so a user
fixes everything in one pass; ``ensure_valid`` raises when any of them is an error.
"""

from __future__ import annotations

from orchestrator import model
from orchestrator.checks import REGISTRY
from orchestrator.errors import Diagnostic, WorkflowError


def validate(wf: model.Workflow) -> list[Diagnostic]:
    found = [d for check in REGISTRY for d in check(wf)]
    return sorted(found, key=lambda d: (d.file, d.line))


def ensure_valid(wf: model.Workflow) -> list[Diagnostic]:
    """The warnings of a workflow without errors; raises WorkflowError carrying all otherwise."""
    found = validate(wf)
    if any(d.severity == "error" for d in found):
        raise WorkflowError(found)
    return found

