"""Find every problem of a workflow before anything is compiled or deployed.

``validate`` returns all diagnostics (errors and warnings) sorted by file and line, so a user
fixes everything in one pass; ``ensure_valid`` raises when any of them is an error.
"""

from __future__ import annotations

import re

from orchestrator import model
from orchestrator.checks import REGISTRY
from orchestrator.errors import Diagnostic, WorkflowError

DEFINITION_LIMIT = 1_048_576  # characters: CreateStateMachine's definition maximum
# Each ${Key} becomes an ARN when the stack is deployed (DefinitionSubstitutions).
SUBSTITUTION_RE = re.compile(r"\$\{[A-Za-z0-9]+\}")
ARN_ESTIMATE = 200


def validate(wf: model.Workflow) -> list[Diagnostic]:
    found = [d for check in REGISTRY for d in check(wf)]
    return sorted(found, key=lambda d: (d.file, d.line))


def ensure_valid(wf: model.Workflow) -> list[Diagnostic]:
    """The warnings of a workflow without errors; raises WorkflowError carrying all otherwise."""
    found = validate(wf)
    if any(d.severity == "error" for d in found):
        raise WorkflowError(found)
    return found


def check_definition_size(wf: model.Workflow, definition_json: str) -> list[Diagnostic]:
    """The compiler calls this on the rendered definition; the estimate includes ARNs."""
    tokens = SUBSTITUTION_RE.findall(definition_json)
    size = len(definition_json) + sum(ARN_ESTIMATE - len(t) for t in tokens)
    if size <= DEFINITION_LIMIT:
        return []
    return [Diagnostic(
        "definition-too-large",
        f"the state machine of workflow {wf.name!r} is about {size:,} characters once ARNs are "
        f"filled in; Step Functions allows {DEFINITION_LIMIT:,}",
        wf.source.file, wf.source.line,
        "split the workflow into smaller ones, or shorten long commands and paths (each job's "
        "command and paths appear in several states)",
    )]
