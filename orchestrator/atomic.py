"""Files written whole or not at all: a temporary file in the same folder, fsync, rename.

Standard library only, so every layer can use it (the local bucket, run records, the CLI's
outputs). A process killed half-way leaves at most a file whose name starts with :data:`TMP`,
which is never read as data and is removed by :func:`clean_temporaries`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

TMP: Final = ".orch-tmp-"  # the prefix of every temporary file the orchestrator writes


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, source: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` via a temporary file in its folder: old bytes or new, never a mix.

    On an error (full disk, unwritable folder) the temporary file is removed and the old
    file is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP}{uuid.uuid4().hex}"
    try:
        with open(tmp, "xb") as out:
            source(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C (KeyboardInterrupt) mid-write too: never leave the temp
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    def source(out: IO[bytes]) -> None:
        out.write(data)

    write_atomic(path, source)


def clean_temporaries(root: Path) -> int:
    """Remove temporary files a killed writer left under ``root``; returns how many."""
    count = 0
    if not root.is_dir():
        return 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TMP):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    count += 1
    return count
