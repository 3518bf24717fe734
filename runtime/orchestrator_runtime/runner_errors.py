"""The runner's own exit codes, each raised as a :class:`RunnerError` with a one-line message.

A failing command's exit code is passed through unchanged, so Batch's ``evaluateOnExit``
sees the real code; the codes below are only used for failures of the runner itself.
"""

from __future__ import annotations

from typing import Final

EXIT_OUTPUT_MISSING: Final = 3  # the command succeeded but a declared output is absent/empty
EXIT_TASK_INVALID: Final = 4  # the task document could not be read or is not a valid RunnerTask
EXIT_STORAGE: Final = 5  # downloading an input or uploading an output or the marker failed
EXIT_NOT_EXECUTABLE: Final = 126  # the program exists but cannot be executed (as sh does)
EXIT_NOT_FOUND: Final = 127  # the program does not exist (as sh does)


class RunnerError(Exception):
    """A failure of the runner, not of the command: ``code`` is the process exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def task_error(message: str) -> RunnerError:
    return RunnerError(EXIT_TASK_INVALID, message)


def storage_error(message: str) -> RunnerError:
    return RunnerError(EXIT_STORAGE, message)
