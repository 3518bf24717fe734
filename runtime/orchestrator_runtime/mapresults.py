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

When samples failed but no more than the tolerated share, the run goes on with the others:
the summary writes their rows (the sheet the Map read, less the failed ones, in the same two
forms the "sheet" action writes) under the run's folder and answers the sheet later steps
read, so a stage that gathers over samples, and a later block, sees only the survivors.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from orchestrator_runtime import arrays, contracts, explain, samplesheet
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
    index = child.get("index") if isinstance(child, Mapping) else None
    if isinstance(index, int) and not isinstance(index, bool):
        out["index"] = index  # the row's position in the items the Map read
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
    run_sheet = request.get("run_sheet")
    if run_sheet is not None:
        out["sheet"] = (survivors(s3, request, run_sheet, failed, sleep=sleep)
                        if failed and not out["over"] else run_sheet)
    return out


def survivors(s3: S3Client, request: contracts.CheckRequest,
              run_sheet: contracts.SheetResponse, failed: list[dict[str, Any]], *,
              sleep: Sleep = time.sleep) -> contracts.SheetResponse:
    """Write the rows of ``run_sheet`` whose child did not fail, as the "sheet" action writes
    a sheet (JSON lines, and the Map's items when it has them); the sheet that names them.
    A failed child is known by its row's position in the items (or, failing that, by its
    sample id)."""
    bucket, block = request.get("bucket"), request.get("block")
    if not bucket or not block:
        raise BadCheckRequest("a map block's summary names no bucket or block")
    if not isinstance(run_sheet.get("sheet"), str):
        raise BadCheckRequest(f"a map block's summary has run_sheet {run_sheet!r}, which names "
                              "no sheet")
    rows = arrays.load_sheet(s3, run_sheet["sheet"], sleep=sleep)
    column = request.get("sample_column") or ""
    at = {f["index"] for f in failed if "index" in f}
    ids = {f["sample"] for f in failed if "index" not in f}
    kept = [r for i, r in enumerate(rows)
            if i not in at and samplesheet.sample_id(r, column) not in ids]
    execution = str(request.get("execution", "")).rsplit(":", 1)[-1] or "run"
    folder = contracts.survivors_prefix(bucket, execution, block)
    uri, items = arrays.write_rows(s3, folder, kept, items="items" in run_sheet, sleep=sleep)
    out: contracts.SheetResponse = {**run_sheet, "sheet": uri, "count": len(kept)}
    if items:
        out["items"] = contracts.split_uri(items)[1]
    return out
