"""Errors of the AWS-side commands; ``exit_code`` is what the CLI exits with."""

from __future__ import annotations

from orchestrator.errors import OrchestratorError


class AwsError(OrchestratorError):
    """An AWS call failed, or found nothing to act on (no such stack, state machine...)."""

    exit_code = 1


class UsageError(OrchestratorError):
    """Bad input or setup: a malformed sample sheet or parameter, a missing tool or
    credentials. The message says what to fix."""

    exit_code = 2
