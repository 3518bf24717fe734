"""One run per workspace: an advisory lock the kernel releases when its holder dies.

The lock is ``flock`` on ``<workspace>/run.lock``; the file also says who holds it (pid, run
id, workflow, start time) so a refused run can name the running one. A lock left by a process
that died (SIGKILL, power loss) is no lock at all: the kernel dropped it with the process, and
the next run takes over, saying whose it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orchestrator.errors import OrchestratorError

LOCK_NAME = "run.lock"
STATE_DIR = ".orchestrator"
PROJECT_MARKERS = ("pyproject.toml", ".git")


def locate(workflow_file: Path, workdir: Path | None) -> Path:
    """The workspace: ``workdir`` if given, else ``.orchestrator`` in the nearest project root
    above the workflow file (a folder with pyproject.toml or .git), else next to the file.
    Never the current directory's business."""
    if workdir is not None:
        return workdir.resolve()
    folder = workflow_file.resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / m).exists() for m in PROJECT_MARKERS):
            return candidate / STATE_DIR
    return folder / STATE_DIR


class WorkspaceBusy(OrchestratorError):
    """Another run holds the workspace."""

    exit_code = 2


class WorkspaceUnusable(OrchestratorError):
    """The workspace folder cannot be created or written."""

    exit_code = 2

    @classmethod
    def because(cls, root: Path, exc: OSError) -> WorkspaceUnusable:
        return cls(f"workspace {root} is not usable: {exc.strerror or exc}; "
                   "pass --workdir DIR to keep runs elsewhere")


@dataclass(frozen=True)
class Holder:
    pid: int
    run_id: str
    workflow: str
    started: str

    def describe(self) -> str:
        return f"run {self.run_id} of {self.workflow} (pid {self.pid}, started {self.started})"


def _read(handle: IO[str]) -> Holder | None:
    handle.seek(0)
    try:
        doc: dict[str, Any] = json.loads(handle.read() or "{}")
        return Holder(int(doc["pid"]), str(doc["run_id"]), str(doc["workflow"]),
                      str(doc["started"]))
    except (ValueError, KeyError, TypeError):
        return None


def _busy(root: Path, who: str) -> WorkspaceBusy:
    return WorkspaceBusy(f"workspace {root} is in use by {who}; wait for it to finish, "
                         "pass --wait-for-lock, or use another --workdir")


def check_free(root: Path) -> None:
    """Refuse at once when a live run holds ``root`` (creates nothing). Cheap: the CLI calls
    it before loading the engine, so a second run is turned away in milliseconds."""
    try:
        handle = open(root / LOCK_NAME, encoding="utf-8")  # noqa: SIM115
    except OSError:
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read(handle)
            raise _busy(root, other.describe() if other else "another run") from None
        fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def hold(root: Path, run_id: str, workflow: str, *, wait: bool = False,
         note: Any = print) -> Iterator[Holder | None]:
    """Hold the workspace for one run; yields the dead holder taken over, if any.

    Refused at once (:class:`WorkspaceBusy`) when another live run holds it, unless
    ``wait``: then blocks until that run ends.
    """
    path = root / LOCK_NAME
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise WorkspaceUnusable.because(root, exc) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read(handle)
            who = other.describe() if other else "another run"
            if not wait:
                raise _busy(root, who) from None
            note(f"waiting for {who} to finish (workspace {root})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        previous = _read(handle)
        mine = Holder(os.getpid(), run_id, workflow, time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(mine.__dict__))
        handle.flush()
        try:
            yield previous if previous and previous.pid != os.getpid() else None
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
