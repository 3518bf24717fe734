"""Errors of the AWS-side commands; ``exit_code`` is what the CLI exits with."""

from __future__ import annotations

from orchestrator.errors import OrchestratorError, UsageError

__all__ = ["AwsError", "UsageError"]


class AwsError(OrchestratorError):
    """An AWS call failed, or found nothing to act on (no such stack, state machine...)."""

    exit_code = 1
