"""Where the CLI writes. Every output location is checked before any work starts, files are
written atomically (a temporary file in the same folder, then a rename), and an ``OSError``
becomes one line naming the path and the fix.

Checking is done by trying: a temporary file is created and removed in the nearest folder
that exists (permission bits say nothing to root, nor about read-only mounts).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from orchestrator.atomic import TMP
from orchestrator.errors import OrchestratorError


class OutputError(OrchestratorError):
    """An output location cannot be written: said before any work starts."""

    exit_code = 2


FIXES: dict[int, str] = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write elsewhere",
    errno.EFBIG: "the file is larger than this location allows: write elsewhere",
    errno.EACCES: "not writable: choose a location you can write to, or fix its permissions",
    errno.EPERM: "not writable: choose a location you can write to, or fix its permissions",
    errno.EROFS: "a read-only file system: choose a location you can write to",
    errno.EEXIST: "a file is in the way where a folder is needed: move it or choose another "
                  "location",
    errno.ENOTDIR: "a file is in the way where a folder is needed: move it or choose another "
                   "location",
    errno.EISDIR: "a folder is in the way where a file is written: move it or choose another "
                  "location",
    errno.ENOENT: "no such file or folder: check the path",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
}


def describe(exc: OSError) -> str:
    """One line for any ``OSError``: the path, what went wrong, the fix."""
    fix = FIXES.get(exc.errno or 0, "check the path and try again")
    what = exc.strerror or str(exc)
    where = exc.filename if exc.filename is not None else exc.filename2
    return f"{where}: {what}; {fix}" if where is not None else f"{what}; {fix}"


def _label(flag: str, path: Path) -> str:
    return f"{flag} {path}" if flag else str(path)


def _nearest_existing(path: Path) -> Path:
    current = path
    while not os.path.lexists(current) and current != current.parent:
        current = current.parent
    return current


def _probe(folder: Path, flag: str, fix: str, shown: Path) -> None:
    """Raise unless a file can be created in ``folder`` (or, if it does not exist yet, in the
    folder it would be created in). Leaves nothing behind."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise OutputError(f"{_label(flag, shown)}: {base} is a file, not a folder; move it or "
                          f"{fix}")
    probe = base / f"{TMP}{os.urandom(8).hex()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        reason = FIXES.get(exc.errno or 0, "check the path").split(":")[0]
        raise OutputError(f"{_label(flag, shown)}: cannot write in {base} "
                          f"({exc.strerror or exc}): {reason}; {fix}") from None
    os.close(fd)
    os.unlink(probe)


def check_folder(path: Path, flag: str, fix: str = "choose another folder") -> None:
    """``path`` is (or can become) a folder the CLI can write files in."""
    if os.path.lexists(path) and not path.is_dir():
        raise OutputError(f"{_label(flag, path)}: is a file, not a folder; move it or {fix}")
    _probe(path, flag, fix, path)


def check_file(path: Path, flag: str, fix: str = "choose another file name",
               default_name: str = "") -> None:
    """``path`` can be written as a file: it is not a folder, and its folder is writable."""
    if path.is_dir():
        inside = f"give a file path, e.g. {_label(flag, path / default_name)}" if default_name \
            else fix
        raise OutputError(f"{_label(flag, path)}: is a folder, and a file is written there; "
                          f"move it or {inside}")
    _probe(path.parent, flag, fix, path)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    try:
        for f in reversed(missing):
            f.mkdir()
            created.append(f)
    except BaseException:
        _remove_folders(created)
        raise
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(current))
    return created


def _remove_folders(created: list[Path]) -> None:
    for f in reversed(created):
        with contextlib.suppress(OSError):
            f.rmdir()


def _write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a new temporary file next to ``path``, on disk; removed on any failure."""
    tmp = path.parent / f"{TMP}{path.name}.{os.urandom(4).hex()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.filename is None:  # os.write and os.fsync do not say which file
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def write_all(files: dict[Path, bytes]) -> None:
    """Write every file atomically, and all of them or none: each is first written in full to
    a temporary file in its folder, then all are renamed into place. On any failure before
    the renames, the temporary files and any folders made for them are removed and no file
    has changed."""
    created: list[Path] = []
    temps: dict[Path, Path] = {}
    for path in files:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    try:
        for path, data in files.items():
            created += _make_folders(path.parent)
            temps[path] = _write_temporary(path, data)
        for path, tmp in temps.items():
            try:
                os.replace(tmp, path)
            except OSError as exc:  # it names the temporary file: name the target instead
                raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        _remove_folders(created)
        raise


def write_text(path: Path, text: str) -> None:
    """Write one file atomically: the old content or the new one, never a mix."""
    write_all({path: text.encode("utf-8")})
