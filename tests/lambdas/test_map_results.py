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


def sheet_of(s3: S3Client, bucket: str, samples: list[str]) -> contracts.SheetResponse:
    """The sheet the "sheet" action writes for the map strategy."""
    return arrays.sheet(s3, {
        "action": "sheet", "workflow": "w", "execution": "arn:x:run-1",
        "bucket": f"s3://{bucket}/p", "sample_column": "sample_id", "items": True,
        "samples": [{"sample_id": s, "n": i} for i, s in enumerate(samples)]})


def child_at(sample: str, index: int, status: str, **fields: Any) -> dict[str, Any]:
    entry = child(sample, status, **fields)
    entry["Input"] = json.dumps({"sample": {"sample_id": sample, "n": index}, "index": index,
                                 "execution": "arn"})
    return entry


def tolerant(s3: S3Client, details: dict[str, str], run_sheet: contracts.SheetResponse,
             tolerated: float, block: str = "For each sample_id") -> contracts.SummaryResponse:
    request: contracts.CheckRequest = {
        "action": "summarize", "workflow": "w", "execution": "arn:x:run-1",
        "bucket": f"s3://{run_sheet.get('bucket')}/p", "block": block,
        "sample_column": "sample_id", "written": details, "total": run_sheet["count"],
        "tolerated": tolerated, "run_sheet": run_sheet}
    out = actions.handle(request, s3=s3)
    assert "sheet" in out
    return out  # type: ignore[return-value]


def test_failures_within_tolerance_leave_a_sheet_of_the_survivors(
        s3: S3Client, bucket: str) -> None:
    samples = [f"S{i}" for i in range(6)]
    run_sheet = sheet_of(s3, bucket, samples)
    details = written(s3, bucket, [
        child_at("S4", 4, "FAILED", Error="StageFailed", Cause="stage a, sample S4: exit 3")],
        [child_at(s, i, "SUCCEEDED", Output="{}") for i, s in enumerate(samples) if s != "S4"])
    out = tolerant(s3, details, run_sheet, tolerated=20)
    assert out["over"] is False and out["failed"] == 1
    kept = out["sheet"]
    folder = "p/_orchestrator/tasks/run-1/_survivors/for-each-sample-id/"
    assert kept["sheet"] == f"s3://{bucket}/{folder}sheet.jsonl" and kept["count"] == 5
    assert kept["items"] == folder + "sheet.json"
    assert (kept["bucket"], kept["results"]) == (run_sheet["bucket"], run_sheet["results"])
    survivors = [{"sample_id": s, "n": i} for i, s in enumerate(samples) if s != "S4"]
    assert arrays.load_sheet(s3, kept["sheet"]) == survivors  # as the "sheet" action writes
    items = s3.get_object(Bucket=bucket, Key=kept["items"])["Body"].read()
    assert json.loads(items) == survivors


def test_a_later_block_leaves_out_its_own_failures_from_the_survivors(
        s3: S3Client, bucket: str) -> None:
    samples = [f"S{i}" for i in range(6)]
    details = written(s3, bucket, [child_at("S4", 4, "FAILED", Error="E", Cause="x")], [])
    first = tolerant(s3, details, sheet_of(s3, bucket, samples), tolerated=40)["sheet"]
    # the second block's Map reads the survivors' items: S5 is at index 4 there
    details = written(s3, bucket, [child_at("S5", 4, "FAILED", Error="E", Cause="y")], [])
    second = tolerant(s3, details, first, tolerated=40, block="For each sample_id (2)")
    assert second["failed"] == 1 and second["total"] == 5
    assert [r["sample_id"] for r in arrays.load_sheet(s3, second["sheet"]["sheet"])] == [
        "S0", "S1", "S2", "S3"]
    assert second["sheet"]["count"] == 4 and "sample-id-2/" in second["sheet"]["sheet"]


def test_nothing_failed_or_too_many_failed_keeps_the_sheet_without_writing(
        s3: S3Client, bucket: str) -> None:
    samples = [f"S{i}" for i in range(6)]
    run_sheet = sheet_of(s3, bucket, samples)
    none = written(s3, bucket, [], [child_at(s, i, "SUCCEEDED") for i, s in enumerate(samples)])
    assert tolerant(s3, none, run_sheet, tolerated=20)["sheet"] == run_sheet
    two = written(s3, bucket, [child_at(s, i, "FAILED", Error="E", Cause="x")
                               for i, s in enumerate(samples[:2])], [])
    over = tolerant(s3, two, run_sheet, tolerated=20)  # 2 of 6 > 20%
    assert over["over"] is True and over["sheet"] == run_sheet
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="p/_orchestrator/tasks/run-1/_survivors")
    assert listed.get("KeyCount") == 0
