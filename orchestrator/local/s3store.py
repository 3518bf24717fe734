"""The local bucket on disk: moto's S3 key store for one bucket, backed by files.

moto keeps objects in memory (moto.md gap 13), so nothing would survive the process. A
:class:`DiskKeyStore` replaces the key store of the workflow's bucket: each object is the file
``<root>/<key>``, written the moment moto accepts it, atomically (a temporary file in the same
folder, fsync, rename, fsync of the folder), so an object on disk is always either the old
bytes or the new ones and nothing has to be copied back when the run ends. Deleting an object
only ever happens on DeleteObject; a replacement never deletes first.

Beside each object a small sidecar ``<root>/.orch-meta/<key>.json`` keeps its ETag (a
multipart upload's ETag is not the MD5 of its bytes) together with the identity of the file
it describes (size, mtime, inode): a sidecar that does not match its file (a crash between
the two renames) is ignored and the ETag is the MD5 of the bytes.

The input data folder is served in place, read-only: ``<data>/<rel>`` is the object
``<prefix>/<rel>``; nothing is uploaded or duplicated (a kept copy of such a key, which the
data folder hides, is removed when the store opens). Its ETags are MD5s, computed once and
cached by (path, size, mtime) in the workspace.

Reserved names: every path segment starting with ``.orch-`` belongs to the store (temporary
files, sidecars); such files are never listed as objects and temporary ones are removed when
a store opens (the caller holds the workspace lock, so no writer is running).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from moto.s3.models import FakeKey, s3_backends
from moto.s3.utils import _VersionedKeyStore

from orchestrator.atomic import clean_temporaries, write_atomic, write_bytes_atomic

RESERVED: Final = ".orch-"
META_DIR: Final = ".orch-meta"
CHUNK: Final = 8 * 1024 * 1024


class StoreError(OSError):
    """An object that cannot be kept as a file (e.g. key ``a`` and key ``a/b`` at once)."""


# --- atomic files ------------------------------------------------------------------------

def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


# --- a key whose bytes are a file ---------------------------------------------------------

class _FileBuffer:
    """What FakeKey reads its value through (seek/read), reading the file on demand.

    Holds no file descriptor between calls, so thousands of objects cost no open files.
    Writing through it is refused: a stored object changes only by a new put.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else self.pos + pos
        return self.pos

    def read(self, size: int = -1) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read(size)
        self.pos += len(data)
        return data

    def truncate(self, size: int | None = None) -> int:
        raise StoreError(errno.EROFS, f"{self.path}: stored objects are replaced, not edited")

    def write(self, data: bytes) -> int:
        raise StoreError(errno.EROFS, f"{self.path}: stored objects are replaced, not edited")

    def close(self) -> None:
        return None  # dispose() must never touch the file


class EtagCache:
    """MD5s of files, by (path, size, mtime, inode), kept in one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        if path is not None and path.is_file():
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    self.entries = loaded

    def etag(self, path: Path) -> str:
        st = path.stat()
        key = str(path)
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None and hit[:3] == _identity(st):
                return str(hit[3])
        value = md5_file(path)
        with self.lock:
            self.entries[key] = [*_identity(st), value]
            self.dirty = True
        return value

    def save(self) -> None:
        with self.lock:
            if self.path is None or not self.dirty:
                return
            text = json.dumps(self.entries, sort_keys=True)
            self.dirty = False
        with contextlib.suppress(OSError):  # a cache: losing it costs only time
            write_bytes_atomic(self.path, text.encode())


class DiskKey(FakeKey):
    """A moto key whose value is the file ``path``; ETag from a sidecar, or MD5 on demand."""

    def __init__(self, name: str, path: Path, *, account_id: str, region_name: str,
                 bucket_name: str, etag: str | None, cache: EtagCache,
                 read_only: bool) -> None:
        super().__init__(name=name, value=b"", account_id=account_id,
                         region_name=region_name, bucket_name=bucket_name, etag=etag)
        st = path.stat()
        self._value_buffer.close()
        self._value_buffer = _FileBuffer(path)  # type: ignore[assignment]
        self.contentsize = st.st_size
        self.last_modified = datetime.fromtimestamp(st.st_mtime, UTC).replace(
            tzinfo=None)
        self.path = path
        self.read_only = read_only
        self._cache = cache

    @property
    def etag(self) -> str:
        if self._etag is None:
            self._etag = self._cache.etag(self.path)
        return f'"{self._etag}"'


# --- the store ----------------------------------------------------------------------------

class DiskKeyStore(_VersionedKeyStore):
    """moto's key store of one (unversioned) bucket, kept as files under ``root``.

    ``data`` (optional) is ``(folder, prefix)``: the folder's files are read-only objects
    under ``prefix``. ``ephemeral(key)`` names keys kept in memory only (per-run documents).
    """

    def __init__(self, root: Path, *, bucket_name: str, account_id: str, region_name: str,
                 data: tuple[Path, str] | None = None,
                 ephemeral: Callable[[str], bool] = lambda _: False,
                 etag_cache: Path | None = None) -> None:
        super().__init__()
        self.root = root
        self.bucket_name = bucket_name
        self.account_id = account_id
        self.region_name = region_name
        self.ephemeral = ephemeral
        self.cache = EtagCache(etag_cache)
        self._locks = [threading.Lock() for _ in range(64)]
        root.mkdir(parents=True, exist_ok=True)
        clean_temporaries(root)
        for name, path in _walk(root):
            dict.__setitem__(self, name, [self._key(name, path, self._sidecar_etag(name, path),
                                                    read_only=False)])
        if data is not None:
            folder, prefix = data
            for rel, path in _walk(folder):
                name = "/".join(x for x in (prefix.strip("/"), rel) if x)
                self._drop_shadowed(name)
                dict.__setitem__(self, name, [self._key(name, path, None, read_only=True)])

    def _drop_shadowed(self, name: str) -> None:
        """A kept copy of an input the data folder serves is never read: reclaim its space.

        (Workspaces of the copy-in/copy-out engine hold such duplicates of every input.)"""
        kept = dict.get(self, name)
        if not kept or not isinstance(kept[-1], DiskKey) or kept[-1].read_only:
            return
        with contextlib.suppress(FileNotFoundError):
            kept[-1].path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self._meta(name).unlink()

    # the paths of a key
    def path(self, name: str) -> Path | None:
        """The file of an object, or None when the key cannot be a file (kept in memory)."""
        parts = name.split("/")
        if (not name or any(p in ("", ".", "..") or p.startswith(RESERVED) for p in parts)
                or self.ephemeral(name)):
            return None
        return self.root.joinpath(*parts)

    def _meta(self, name: str) -> Path:
        return self.root / META_DIR / f"{name}.json"

    def _sidecar_etag(self, name: str, path: Path) -> str | None:
        try:
            meta = json.loads(self._meta(name).read_text())
            if meta.get("file") == _identity(path.stat()):
                return str(meta["etag"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return None

    def _key(self, name: str, path: Path, etag: str | None, *, read_only: bool) -> DiskKey:
        return DiskKey(name, path, account_id=self.account_id, region_name=self.region_name,
                       bucket_name=self.bucket_name, etag=etag, cache=self.cache,
                       read_only=read_only)

    def _lock(self, name: str) -> threading.Lock:
        return self._locks[hash(name) % len(self._locks)]

    # what moto calls to change the store
    def __setitem__(self, name: str, value: Any) -> None:
        self.setlist(name, [value])

    def setlist(self, name: Any, list_: Any) -> Any:
        keys = list_ if isinstance(list_, list) else [list_]
        path = self.path(str(name))
        if path is None or len(keys) != 1 or not isinstance(keys[0], FakeKey):
            return super().setlist(name, keys)
        key = keys[0]
        if isinstance(key, DiskKey):  # moto re-setting what it read (e.g. ACL change)
            return super().setlist(name, keys)
        with self._lock(str(name)):
            self._persist(str(name), key, path)
            super().setlist(name, keys)
        return None

    def _persist(self, name: str, key: FakeKey, path: Path) -> None:
        if any(p.is_file() for p in path.parents if p != self.root and
               p.is_relative_to(self.root)):
            raise StoreError(errno.ENOTDIR, f"object {name!r}: a prefix of it is an object")
        if path.is_dir():
            raise StoreError(errno.EISDIR, f"object {name!r}: objects exist under it")
        etag = key.etag.strip('"')  # from the buffer, before it is swapped for the file

        def copy(out: IO[bytes]) -> None:
            with key.lock:
                key._value_buffer.seek(0)
                for block in iter(lambda: key._value_buffer.read(CHUNK), b""):
                    out.write(block)

        write_atomic(path, copy)
        meta = {"etag": etag, "file": _identity(path.stat())}
        write_bytes_atomic(self._meta(name), json.dumps(meta).encode())
        with key.lock:
            key._value_buffer.close()
            key._value_buffer = _FileBuffer(path)  # type: ignore[assignment]

    def pop(self, name: str) -> None:  # type: ignore[override]
        with self._lock(name):
            for version in self.getlist(name, []):
                if isinstance(version, DiskKey) and version.read_only:
                    continue  # an input file of the user's: never deleted
                path = self.path(name)
                if path is not None and isinstance(version._value_buffer, _FileBuffer):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    with contextlib.suppress(FileNotFoundError):
                        self._meta(name).unlink()
            super().pop(name)

    def __delitem__(self, name: str) -> None:
        self.pop(name)


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(key, file) of every object file under ``root``, skipping reserved names."""
    if not root.is_dir():
        return
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(RESERVED))
        for name in sorted(files):
            if name.startswith(RESERVED):
                continue
            path = Path(dirpath) / name
            yield path.relative_to(root).as_posix(), path


def attach(bucket_name: str, store: DiskKeyStore) -> None:
    """Make ``store`` the key store of ``bucket_name`` in moto (created, and empty)."""
    backend = s3_backends[store.account_id]["aws"]
    bucket = backend.get_bucket(bucket_name)
    if bucket.is_versioned:
        raise StoreError(errno.EINVAL, f"bucket {bucket_name}: versioned buckets are kept "
                                       "in memory only")
    bucket.keys = store
