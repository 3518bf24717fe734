"""Typed errors and diagnostics. Library code raises these; only cli.py prints and exits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    file: str = ""
    line: int = 0
    hint: str = ""
    severity: Severity = "error"

    def text(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        text = f"{where}{self.severity} {self.code}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class OrchestratorError(Exception):
    """Base of every error the package raises on purpose."""


class WorkflowError(OrchestratorError):
    """A workflow with problems; carries every diagnostic found, not just the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s)\n" + "\n".join(d.text() for d in diagnostics))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class LoadError(OrchestratorError):
    """A workflow file that cannot be read or executed."""


class UsageError(OrchestratorError):
    """Bad input or setup: a malformed sample sheet or parameter, a missing tool or
    credentials. The message says what to fix."""

    exit_code = 2
