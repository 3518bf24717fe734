"""Array stages' plans read back by the event path: which sample a job ran, and of which stage.

A Batch event of an array child names its index and its manifest (container environment);
the sample is in the manifest's line offset + index, and the execution, workflow and stage
are in the stage document beside it. :class:`Manifests` reads them from S3 cheaply:

* lines in blocks (one ranged GET of up to :data:`BLOCK_BYTES` serves every event of the
  children in that block), kept per array job: a manifest never changes while a job that
  runs it lives (the plan writes it before the job is submitted; a new plan means a new job),
  so a block read for one array job is never used for another;
* stage documents once per manifest (their execution, workflow and stage are in the
  manifest's own S3 path, so they cannot change).

What cannot be read for a reason a retry would not fix (no such manifest, a line past its
end, a line or document that does not parse) raises :class:`UnknownSample`, a
:class:`~orchestrator_runtime.events.MalformedEvent`; other S3 errors (throttling, access)
propagate so the event is retried.
"""

from __future__ import annotations

import collections
import json
import threading
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from orchestrator_runtime import contracts
from orchestrator_runtime.events import MalformedEvent, ManifestRef

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BLOCK_BYTES: Final = 128 * 1024
BLOCKS_KEPT: Final = 64
DOCS_KEPT: Final = 256
_GONE: Final = frozenset({"NoSuchKey", "NoSuchBucket", "InvalidRange", "404"})


class UnknownSample(MalformedEvent):
    """The manifest or stage document an event points to cannot say what the job ran."""


class Manifests:
    """Lines and stage documents of array stages, read from S3 and kept (see module doc)."""

    def __init__(self, s3: S3Client, *, block_bytes: int = BLOCK_BYTES) -> None:
        self._s3 = s3
        self._block_bytes = block_bytes
        self._blocks: collections.OrderedDict[tuple[str, int, str, int], bytes] = (
            collections.OrderedDict())
        self._docs: collections.OrderedDict[str, tuple[str, str, str]] = (
            collections.OrderedDict())
        self._lock = threading.Lock()
        self.requests = 0  # S3 GETs made (for tests and benchmarks)

    def _get(self, uri: str, byte_range: str | None = None) -> bytes:
        bucket, key = contracts.split_uri(uri)
        self.requests += 1
        try:
            if byte_range is None:
                return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return self._s3.get_object(Bucket=bucket, Key=key, Range=byte_range)["Body"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in _GONE:
                raise
            what = "has no such line" if code == "InvalidRange" else f"cannot be read ({code})"
            raise UnknownSample(f"{uri} {what}") from None

    def line(self, ref: ManifestRef, job: str) -> contracts.ManifestLine:
        """Line ``ref.line`` of the manifest that array job (or job) ``job`` runs."""
        per_block = max(1, self._block_bytes // ref.width)
        block, at = divmod(ref.line, per_block)
        key = (ref.uri, ref.width, job, block)
        with self._lock:
            data = self._blocks.get(key)
            if data is not None:
                self._blocks.move_to_end(key)
        if data is None:
            first = block * per_block * ref.width
            data = self._get(ref.uri, f"bytes={first}-{first + per_block * ref.width - 1}")
            with self._lock:
                self._blocks[key] = data
                while len(self._blocks) > BLOCKS_KEPT:
                    self._blocks.popitem(last=False)
        raw = data[at * ref.width:(at + 1) * ref.width]
        where = f"manifest {ref.uri} line {ref.line}"
        if len(raw) < ref.width:
            raise UnknownSample(f"{where} is past the end of the manifest")
        if not raw.endswith(b"\n"):
            raise UnknownSample(f"{where} does not end where a line of {ref.width} bytes "
                                f"ends: the width is wrong")
        try:
            return contracts.decode_manifest_line(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UnknownSample(f"{where} is not a manifest line: {str(exc)[:200]}") from None

    def stage(self, manifest: str) -> tuple[str, str, str]:
        """(execution, workflow, stage) of the stage document beside ``manifest``."""
        with self._lock:
            known = self._docs.get(manifest)
        if known is not None:
            return known
        location = contracts.sibling(manifest, contracts.STAGE_DOC)
        try:
            doc: Any = json.loads(self._get(location))
        except (ValueError, UnicodeDecodeError):
            raise UnknownSample(f"stage document {location} is not JSON") from None
        fields = tuple(doc.get(k) if isinstance(doc, dict) else None
                       for k in ("execution", "workflow", "stage"))
        if not all(isinstance(f, str) and f for f in fields):
            raise UnknownSample(f"stage document {location} does not name its execution, "
                                "workflow and stage")
        found = (str(fields[0]), str(fields[1]), str(fields[2]))
        with self._lock:
            self._docs[manifest] = found
            while len(self._docs) > DOCS_KEPT:
                self._docs.popitem(last=False)
        return found
