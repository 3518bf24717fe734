"""The map block's summary and the sheet's items, against files shaped as AWS writes them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator_runtime import actions, arrays, contracts, limits

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FOLDER = "p/_orchestrator/tasks/run-1/_results/0a1b/"


def child(sample: str, status: str, **fields: Any) -> dict[str, Any]:
    """One child execution in a result file: Input is a JSON string, as AWS writes it."""
    row = {"sample_id": sample}
    return {"ExecutionArn": f"arn:aws:states:us-east-1:1:execution:m/0a1b:{sample}",
            "Input": json.dumps({"sample": row, "index": 0, "execution": "arn"}),
            "InputDetails": {"Included": True}, "Name": sample, "Status": status, **fields}


def written(s3: S3Client, bucket: str, failed: list[dict[str, Any]],
            succeeded: list[dict[str, Any]]) -> dict[str, str]:
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, group in (("FAILED", failed), ("SUCCEEDED", succeeded)):
        if group:
            key = f"{FOLDER}{status}_0.json"
            body = json.dumps(group).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    s3.put_object(Bucket=bucket, Key=f"{FOLDER}manifest.json", Body=json.dumps({
        "DestinationBucket": bucket, "MapRunArn": "arn", "ResultFiles": files}).encode())
    return {"Bucket": bucket, "Key": f"{FOLDER}manifest.json"}


def summarize(s3: S3Client, details: dict[str, str], total: int,
              tolerated: float = 0) -> contracts.SummaryResponse:
    request: contracts.CheckRequest = {
        "action": "summarize", "workflow": "w", "execution": "arn:x:run-1",
        "sample_column": "sample_id", "written": details, "total": total,
        "tolerated": tolerated}
    out = actions.handle(request, s3=s3)
    assert "over" in out
    return out  # type: ignore[return-value]


def test_failed_children_are_named_with_stage_and_cause(s3: S3Client, bucket: str) -> None:
    details = written(s3, bucket, [
        child("S2", "FAILED", Error="StageFailed",
              Cause="stage align, sample S2: failed after 1 attempt: Essential container "
                    "in task exited (exit code 3)")],
        [child(f"S{i}", "SUCCEEDED", Output="{}") for i in (1, 3, 4)])
    out = summarize(s3, details, total=4)
    assert out["failed"] == 1 and out["total"] == 4 and out["over"] is True
    assert out["cause"].startswith("1 of 4 samples failed: S2 (align: failed after 1 attempt")
    assert "exit code 3" in out["cause"]


def test_within_the_tolerated_share_the_run_goes_on(s3: S3Client, bucket: str) -> None:
    details = written(s3, bucket, [child("S7", "FAILED", Error="StageFailed", Cause="x")], [])
    assert summarize(s3, details, total=20, tolerated=5)["over"] is False  # 1 of 20 = 5%
    assert summarize(s3, details, total=19, tolerated=5)["over"] is True


def test_all_succeeded(s3: S3Client, bucket: str) -> None:
    details = written(s3, bucket, [], [child("S1", "SUCCEEDED", Output="{}")])
    out = summarize(s3, details, total=1)
    assert (out["failed"], out["cause"], out["over"]) == (0, "", False)


def test_the_sheet_writes_the_items_and_refuses_a_row_too_large_for_a_child(
        s3: S3Client, bucket: str) -> None:
    request: contracts.CheckRequest = {
        "action": "sheet", "workflow": "w", "execution": "arn:x:run-1",
        "bucket": f"s3://{bucket}/p", "sample_column": "sample_id", "items": True,
        "samples": [{"sample_id": "S1"}, {"sample_id": "S2"}]}
    out = arrays.sheet(s3, request)
    assert out["count"] == 2 and out["bucket"] == bucket
    assert out["items"] == "p/_orchestrator/tasks/run-1/sheet.json"
    assert out["results"] == "p/_orchestrator/tasks/run-1/_results/"
    body = s3.get_object(Bucket=bucket, Key=out["items"])["Body"].read()
    assert json.loads(body) == [{"sample_id": "S1"}, {"sample_id": "S2"}]
    big: contracts.CheckRequest = {
        **request, "samples": [{"sample_id": "S1", "notes": "x" * limits.PAYLOAD_BYTES}]}
    with pytest.raises(arrays.BadSampleSheet, match=r"sample 'S1'.*child execution input"):
        arrays.sheet(s3, big)
