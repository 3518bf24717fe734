"""Arguments of ``wf.job`` the DSL could not record as given (a string where a list or dict
belongs, ``per=``/``after=`` values of another Workflow): each is reported at the call."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator import model
from orchestrator.checks.common import Check, error
from orchestrator.errors import Diagnostic


def arguments(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        for message, hint in job.problems:
            yield error("bad-argument", job.source, f"job {job.name!r}: {message}", hint)


CHECKS: tuple[Check, ...] = (arguments,)
