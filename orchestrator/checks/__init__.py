"""The registry of workflow checks. Each check is a small function of the workflow that
yields diagnostics pointing at the line to fix; :mod:`orchestrator.validate` runs them all.

To add a check, write it next to its kin and list it in that module's ``CHECKS``.
"""

from __future__ import annotations

from orchestrator.checks import (
    arguments,
    commands,
    dependencies,
    fanout,
    names,
    paths,
    placeholders,
    quotas,
    resources,
    triggers,
)
from orchestrator.checks.common import Check

REGISTRY: tuple[Check, ...] = (
    *arguments.CHECKS,
    *names.CHECKS,
    *dependencies.CHECKS,
    *resources.CHECKS,
    *placeholders.CHECKS,
    *paths.CHECKS,
    *commands.CHECKS,
    *triggers.CHECKS,
    *fanout.CHECKS,
    *quotas.CHECKS,
)

__all__ = ["REGISTRY", "Check"]
