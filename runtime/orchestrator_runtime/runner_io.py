"""Objects in and out: S3 (through boto3's default chain) or, for debugging, local files.

Every location is either ``s3://bucket/key`` or a local file (``file:///abs/path`` or a plain
path). ETags are returned without quotes; for a local file the ETag is the MD5 of its bytes,
which is what S3 reports for an object uploaded in one part.

Downloads land under ``<scratch>/inputs/<input name>/``; names are made file-system safe and
can never leave that directory, whatever the key contains.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlparse

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator_runtime.contracts import normalize_etag, split_uri
from orchestrator_runtime.runner_errors import storage_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Above this size an output is uploaded in parts (S3 takes at most 5 GiB in one request).
MULTIPART_THRESHOLD: int = 256 * 1024 * 1024

# What reading or writing a location can fail with; anything else is a bug and propagates.
STORAGE_ERRORS: Final = (BotoCoreError, ClientError, OSError)

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._+-]+")
_RANGE: Final = re.compile(r"bytes=(\d+)-(\d+)")
_MAX_NAME: Final = 120


class PastTheEnd(Exception):
    """A ranged read that starts at or after the end of the object (HTTP 416)."""

    def __init__(self, location: str, size: int | None) -> None:
        super().__init__(f"{location} has {size if size is not None else 'fewer'} bytes")
        self.size = size


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def local_path(location: str) -> Path:
    """The file a non-S3 location names; raises for other schemes (http://, ...)."""
    if location.startswith("file://"):
        parsed = urlparse(location)
        return Path(unquote(parsed.path)).absolute()
    if "://" in location:
        raise storage_error(f"{location!r} is neither s3:// nor a local path")
    return Path(location).absolute()


def safe_name(key: str) -> str:
    """A file name for the last segment of a key: no separators, no dot-only names."""
    base = key.rstrip("/").rsplit("/", 1)[-1]
    clean = _UNSAFE.sub("_", base).lstrip(".") or "object"
    if len(clean) > _MAX_NAME:
        _, dot, ext = clean.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        clean = clean[: _MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return clean


def input_layout(scratch: Path, inputs: Mapping[str, Sequence[str]]) -> dict[str, list[Path]]:
    """Where each input object goes: ``inputs/<name>/<file>``, or ``inputs/<name>/<i>/<file>``
    when two objects of one input would get the same file name. Local inputs stay in place."""
    layout: dict[str, list[Path]] = {}
    for name, uris in inputs.items():
        base = scratch / "inputs" / name
        names = [safe_name(split_uri(u)[1]) if is_s3(u) else "" for u in uris]
        s3_names = [n for u, n in zip(uris, names, strict=True) if is_s3(u)]
        nested = len(set(s3_names)) != len(s3_names)
        layout[name] = [
            (base / str(i) / n if nested else base / n) if is_s3(u) else local_path(u)
            for i, (u, n) in enumerate(zip(uris, names, strict=True))
        ]
    return layout


def output_layout(scratch: Path, outputs: Mapping[str, str]) -> dict[str, Path]:
    """Each output gets its own directory, so ``{outputs.x.parent}`` holds only that output."""
    return {
        name: scratch / "outputs" / name
        / safe_name(split_uri(uri)[1] if is_s3(uri) else str(local_path(uri)))
        for name, uri in outputs.items()
    }


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '') or exc}"
    return f"{type(exc).__name__}: {exc}"


class Store:
    """Reads and writes the locations of one task; the S3 client is made on first use."""

    def __init__(self, s3: S3Client | None = None) -> None:
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            self._s3 = boto3.client("s3", config=Config(retries={"mode": "standard",
                                                                 "max_attempts": 5}))
        return self._s3

    def read(self, location: str) -> bytes:
        if not is_s3(location):
            return local_path(location).read_bytes()
        bucket, key = split_uri(location)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def read_range(self, location: str, byte_range: str) -> bytes:
        """The bytes of an HTTP ``Range`` (``bytes=first-last``) of an object or a local file;
        fewer when the object ends inside the range. Raises :class:`PastTheEnd` when it ends
        before ``first``."""
        m = _RANGE.fullmatch(byte_range)
        if m is None or int(m.group(1)) > int(m.group(2)):
            raise ValueError(f"not a byte range: {byte_range!r}")
        first, last = int(m.group(1)), int(m.group(2))
        if not is_s3(location):
            with local_path(location).open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if first >= size:
                    raise PastTheEnd(location, size)
                fh.seek(first)
                return fh.read(last - first + 1)
        bucket, key = split_uri(location)
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key, Range=byte_range)
        except ClientError as exc:
            # "InvalidRange": "The requested range is not satisfiable" (S3 error codes)
            if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                raise
            actual = str(exc.response.get("Error", {}).get("ActualObjectSize", ""))
            raise PastTheEnd(location, int(actual) if actual.isdigit() else None) from None
        return response["Body"].read()

    def fetch(self, location: str, dest: Path) -> str:
        """Download an S3 object to ``dest`` (a local file is read where it is, at ``dest``).

        Returns the ETag of exactly the bytes that were read.
        """
        try:
            if not is_s3(location):
                return _md5(dest)
            bucket, key = split_uri(location)
            dest.parent.mkdir(parents=True, exist_ok=True)
            response = self.s3.get_object(Bucket=bucket, Key=key)
            with dest.open("wb") as fh:
                shutil.copyfileobj(response["Body"], fh, 1 << 20)
            return normalize_etag(response["ETag"])
        except STORAGE_ERRORS as exc:
            raise storage_error(f"could not download {location}: {describe(exc)}") from None

    def put(self, path: Path, location: str) -> str:
        """Upload a file; returns the ETag S3 gave it."""
        try:
            if not is_s3(location):
                target = local_path(location)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                return _md5(target)
            bucket, key = split_uri(location)
            if path.stat().st_size <= MULTIPART_THRESHOLD:
                with path.open("rb") as fh:
                    return normalize_etag(self.s3.put_object(Bucket=bucket, Key=key,
                                                             Body=fh)["ETag"])
            from boto3.s3.transfer import TransferConfig

            self.s3.upload_file(str(path), bucket, key, Config=TransferConfig(
                multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=64 * 1024 * 1024))
            return normalize_etag(self.s3.head_object(Bucket=bucket, Key=key)["ETag"])
        except STORAGE_ERRORS as exc:
            raise storage_error(f"could not upload {path.name} to {location}: "
                                f"{describe(exc)}") from None

    def put_bytes(self, data: bytes, location: str) -> str:
        try:
            if not is_s3(location):
                target = local_path(location)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                return hashlib.md5(data, usedforsecurity=False).hexdigest()
            bucket, key = split_uri(location)
            return normalize_etag(self.s3.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType="application/json")["ETag"])
        except STORAGE_ERRORS as exc:
            raise storage_error(f"could not write {location}: {describe(exc)}") from None

    def names(self, folder: str) -> list[str]:
        """Names of the objects directly in ``folder`` (an s3:// prefix ending with "/", or
        a local directory); [] when there are none."""
        if not is_s3(folder):
            path = local_path(folder)
            return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        bucket, prefix = split_uri(folder)
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/"):
            out.extend(o["Key"][len(prefix):] for o in page.get("Contents", []))
        return out

    def remove(self, location: str) -> None:
        if not is_s3(location):
            local_path(location).unlink(missing_ok=True)
            return
        bucket, key = split_uri(location)
        self.s3.delete_object(Bucket=bucket, Key=key)
