"""The check function's summary of a ``map`` block: what a Distributed Map's children ended
with, read from the files its ResultWriter wrote, so no per-sample result travels through
the parent execution.

Shapes (AWS Step Functions developer guide, "ResultWriter (Map)", section "Exporting to
Amazon S3"; also sigpwned.com/2023/04/27/aws-step-functions-distributed-map-resultwriter-
example): the Map's output is ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``,
Key naming ``<Prefix>/<map run id>/manifest.json``; the manifest is ``{"DestinationBucket",
"MapRunArn", "ResultFiles": {"FAILED": [...], "PENDING": [...], "SUCCEEDED": [...]}}``, each
file ``{"Key", "Size"}``; a result file is a JSON array of child executions, each with
``ExecutionArn``, ``Name``, ``Status``, ``Input`` (the child's input as a JSON string),
``Output`` (succeeded) or ``Error`` and ``Cause`` (failed), ``StartDate``, ``StopDate``.

Only the FAILED and PENDING files are read: the succeeded children are counted from the
sheet (``total``), so the summary's requests do not grow with the samples that succeeded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from orchestrator_runtime import contracts, explain, samplesheet
from orchestrator_runtime import s3util as s3u
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Sleep = Callable[[float], None]
NOT_RUN = ("PENDING",)  # children a failed Map Run never started
READ = ("FAILED", *NOT_RUN)


def _doc(text: Any) -> Any:
    """``Input``/``Output`` are JSON strings in the files AWS writes; objects are taken too."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return text


def _failed(entry: Mapping[str, Any], status: str, column: str) -> dict[str, Any]:
    """One failed (or never started) child as an IterationResult the summary reads."""
    child = _doc(entry.get("Input"))
    row = child.get("sample") if isinstance(child, Mapping) else None
    sample = samplesheet.sample_id(row, column) if isinstance(row, Mapping) else None
    out: dict[str, Any] = {"status": "FAILED", "sample": sample or "?"}
    if status in NOT_RUN:
        out["error"] = {"Error": "NotStarted", "Cause": "the Map Run ended before it started"}
    else:
        out["error"] = {"Error": entry.get("Error") or "Unknown",
                        "Cause": entry.get("Cause") or str(entry.get("Status") or "")}
    return out


def summarize(s3: S3Client, request: contracts.CheckRequest, *,
              sleep: Sleep = time.sleep) -> contracts.SummaryResponse:
    """The block's failed samples, named with their stage and cause, and whether they are
    more than the tolerated share (``over``: the run fails before anything gathers)."""
    written = request.get("written") or {}
    bucket, key = written.get("Bucket"), written.get("Key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise BadCheckRequest(f"the Map's ResultWriterDetails {written!r} name no Bucket and Key")
    manifest = s3u.get_json(s3, f"s3://{bucket}/{key}", sleep=sleep)
    if not isinstance(manifest, Mapping):
        raise BadCheckRequest(f"the Map's results manifest s3://{bucket}/{key} is missing")
    files = manifest.get("ResultFiles") or {}
    column = request.get("sample_column") or ""
    failed: list[dict[str, Any]] = []
    for status in READ:
        for f in files.get(status) or []:
            entries = s3u.get_json(s3, f"s3://{bucket}/{f['Key']}", sleep=sleep)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping):
                    failed.append(_failed(entry, status, column))
    total = int(request.get("total") or 0) or len(failed)
    out = explain.summary(request, failed, total)
    tolerated = float(request.get("tolerated") or 0)
    out["over"] = bool(failed) and len(failed) * 100.0 > tolerated * total
    return out
