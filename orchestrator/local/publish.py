"""The outputs a local run vouches for, copied to ``--out`` with a ``RUN.json`` manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import ClientError

from orchestrator import atomic, model
from orchestrator.errors import OrchestratorError
from orchestrator.local import runrecord, s3store
from orchestrator.local.inputs import InputDataError, values
from orchestrator_runtime import contracts as c

MANIFEST = "RUN.json"


class OutputDirError(OrchestratorError):
    """``--out`` cannot be written (a file, not writable, disk full)."""

    exit_code = 1


def safe_target(root: Path, key: str) -> Path:
    target = (root / key).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputDataError(f"object key {key!r} would leave {root}")
    return target


@dataclass
class Published:
    files: list[Path]
    units: dict[tuple[str, str], str]  # (stage, sample) -> current / failed / not run
    manifest: Path

    @property
    def missing(self) -> list[tuple[str, str, str]]:
        return [(st, sa, state) for (st, sa), state in self.units.items() if state != "current"]


def _get_atomic(s3: Any, bucket: str, key: str, target: Path) -> bool:
    """Download one object via a temporary file; False when it does not exist."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return False
        raise

    def copy(out: IO[bytes]) -> None:
        for chunk in iter(lambda: body.read(s3store.CHUNK), b""):
            out.write(chunk)

    atomic.write_atomic(target, copy)
    return True


def publish_outputs(s3: Any, wf: model.Workflow, samples: list[dict[str, str]],
                    params: dict[str, str], out_dir: Path, rows: list[dict[str, Any]],
                    run_id: str, status: str) -> Published:
    """Put in ``out_dir`` only the outputs of stages that are current after this run.

    A stage and sample is current when this run succeeded it or skipped it as complete.
    Files an earlier run put there and this one does not vouch for are removed (only files
    listed in the earlier ``RUN.json``: nothing of the user's); ``RUN.json`` says what is
    there and what is missing.
    """
    column = wf.foreach.column if wf.foreach else None
    labelled = list(zip(runrecord.sample_labels(column, samples), samples, strict=True))
    units: list[tuple[str, str]] = []
    plan: list[tuple[str, str, str]] = []  # (stage, sample, rendered output path)
    for job in wf.jobs:
        rows_of: list[tuple[str, dict[str, str] | None]] = (
            [(label, row) for label, row in labelled] if job.per_sample else [(c.ONCE, None)])
        for label, row in rows_of:
            units.append((job.name, label))
            for template in job.outputs.values():
                plan.append((job.name, label, c.fill(template, values(row, params))))
    states = runrecord.unit_states(units, rows)
    manifest = out_dir / MANIFEST
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputDirError(f"--out {out_dir}: exists and is not a folder")
        old = runrecord.load(manifest) or {}
        copied: list[Path] = []
        for stage, label, path in plan:
            if states[(stage, label)] != "current":
                continue
            bucket, key = c.split_uri(c.resolve_path(wf.bucket, path))
            rel = key[len(wf.bucket_prefix):].lstrip("/") if bucket == wf.bucket_name \
                else f"{bucket}/{key}"
            target = safe_target(out_dir, rel)
            if _get_atomic(s3, bucket, key, target):
                copied.append(target)
        keep = {str(p.resolve()) for p in copied}
        for name in old.get("files", []):
            stale = safe_target(out_dir, str(name))
            if str(stale) not in keep and stale.is_file():
                stale.unlink()
        doc = {"run_id": run_id, "workflow": wf.name, "status": status,
               "files": sorted(p.resolve().relative_to(out_dir.resolve()).as_posix()
                               for p in copied),
               "stages": [{"stage": st, "sample": sa, "state": states[(st, sa)]}
                          for st, sa in units]}
        atomic.write_bytes_atomic(manifest, json.dumps(doc, indent=1).encode())
    except OSError as exc:
        raise OutputDirError(f"--out {out_dir}: {exc.strerror or exc}; finished stages are "
                             "kept in the workspace: fix it and run again") from exc
    return Published(copied, states, manifest)
