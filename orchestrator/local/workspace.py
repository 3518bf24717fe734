"""The local run's files: input data, the bucket kept between runs, and copies of outputs.

moto forgets everything when the process ends, so the workflow's part of the bucket is
mirrored to ``<workdir>/s3/<bucket>/<key>`` after each run and put back before the next one.
Same bytes give the same ETags, so markers and fingerprints stay valid and a second run
skips what the first one finished.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from orchestrator import model
from orchestrator.errors import OrchestratorError
from orchestrator_runtime import contracts as c


class InputDataError(OrchestratorError):
    """Data a run needs is missing; raised before anything starts."""

    exit_code = 2


@dataclass(frozen=True)
class Workspace:
    root: Path  # e.g. .orchestrator
    bucket: str

    @property
    def mirror(self) -> Path:
        return self.root / "s3" / self.bucket

    def restore(self, s3: Any, prefix: str) -> int:
        """Upload the kept copy of ``prefix`` into the emulator; returns the object count."""
        return upload_tree(s3, self.mirror / prefix, self.bucket, prefix)

    def keep(self, s3: Any, prefix: str) -> int:
        """Mirror every object under ``prefix`` (but per-run task documents) to disk."""
        base = self.mirror / prefix
        if base.exists():
            shutil.rmtree(base)
        count = 0
        skip = f"{prefix}/{c.META_PREFIX}/tasks/".lstrip("/")
        for key in list_keys(s3, self.bucket, prefix):
            if key.startswith(skip):
                continue
            download(s3, self.bucket, key, self.mirror / key)
            count += 1
        return count


def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/" if prefix else "")
    for page in pages:
        for obj in page.get("Contents", []):
            yield obj["Key"]


def safe_target(root: Path, key: str) -> Path:
    target = (root / key).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputDataError(f"object key {key!r} would leave {root}")
    return target


def download(s3: Any, bucket: str, key: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(bucket, key, str(path))


def upload_tree(s3: Any, folder: Path, bucket: str, prefix: str) -> int:
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = "/".join(x for x in (prefix, path.relative_to(folder).as_posix()) if x)
        s3.upload_file(str(path), bucket, key)
        count += 1
    return count


def produced(wf: model.Workflow) -> set[str]:
    return {t for j in wf.jobs for t in j.outputs.values()}


def _values(row: dict[str, str] | None, params: dict[str, str]) -> dict[str, str]:
    return {**params, **(row or {})}


def raw_inputs(wf: model.Workflow, samples: list[dict[str, str]],
               params: dict[str, str]) -> list[tuple[str, str, str]]:
    """(relative path, job, input name) of every input no job produces, per sample."""
    made = produced(wf)
    out: list[tuple[str, str, str]] = []
    for job in wf.jobs:
        for name, template in job.inputs.items():
            if template in made or template.startswith("s3://"):
                continue
            uses_sample = any(p in (wf.foreach.all_columns if wf.foreach else ())
                              for p in c.placeholders(template))
            rows: list[dict[str, str] | None] = (
                list(samples) if job.per_sample or uses_sample else [None])
            for row in rows:
                path = c.render(template, _values(row, params))
                if (path, job.name, name) not in out:
                    out.append((path, job.name, name))
    return out


def check_inputs(wf: model.Workflow, samples: list[dict[str, str]], params: dict[str, str],
                 data_dir: Path | None, kept: Path) -> None:
    """Every raw input must be in the data folder or kept from an earlier run."""
    missing = []
    for path, job, name in raw_inputs(wf, samples, params):
        candidates = [p for p in ((data_dir / path) if data_dir else None,
                                  kept / wf.bucket_prefix / path) if p is not None]
        if not any(p.is_file() for p in candidates):
            shown = candidates[0] if data_dir else path
            missing.append(f"{shown} (input {name!r} of job {job})")
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputDataError("missing input data: " + "; ".join(missing[:5]) + more)


def copy_outputs(s3: Any, wf: model.Workflow, samples: list[dict[str, str]],
                 params: dict[str, str], out_dir: Path) -> list[Path]:
    """Copy every declared output that exists to ``out_dir``, keeping relative paths."""
    copied: list[Path] = []
    for job in wf.jobs:
        rows: list[dict[str, str] | None] = list(samples) if job.per_sample else [None]
        for template in job.outputs.values():
            for row in rows:
                uri = c.resolve_path(wf.bucket, c.render(template, _values(row, params)))
                bucket, key = c.split_uri(uri)
                rel = key[len(wf.bucket_prefix):].lstrip("/") if bucket == wf.bucket_name \
                    else f"{bucket}/{key}"
                target = safe_target(out_dir, rel)
                try:
                    download(s3, bucket, key, target)
                except ClientError as exc:  # absent: a stage that failed or never ran
                    if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                        raise
                    continue
                copied.append(target)
    return copied
