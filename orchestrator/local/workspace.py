"""Where a local run keeps its files: the workspace folder and the bucket kept on disk.

The workflow's bucket lives in ``<workspace>/s3/<bucket>/<key>`` (see s3store.py: written as
moto accepts each object, atomically). Same bytes keep the same ETags, so markers and
fingerprints stay valid and a second run skips what the first one finished. The input data
a run needs is checked in inputs.py; the outputs it vouches for go to ``--out`` in publish.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.local import s3store
from orchestrator_runtime import contracts as c


@dataclass(frozen=True)
class Workspace:
    root: Path  # e.g. <project>/.orchestrator
    bucket: str

    @property
    def mirror(self) -> Path:
        return self.root / "s3" / self.bucket

    def open_store(self, *, prefix: str, data_dir: Path | None, account_id: str,
                   region_name: str) -> s3store.DiskKeyStore:
        """The bucket's key store: kept objects on disk, the data folder in place."""
        tasks = f"{prefix}/{c.META_PREFIX}/tasks/".lstrip("/")
        return s3store.DiskKeyStore(
            self.mirror, bucket_name=self.bucket, account_id=account_id,
            region_name=region_name,
            data=(data_dir, prefix) if data_dir is not None else None,
            ephemeral=lambda key: key.startswith(tasks),
            etag_cache=self.root / "cache" / "etags.json")
