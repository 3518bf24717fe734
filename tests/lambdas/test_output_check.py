"""The make-like check: run what is missing or stale, skip what is complete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from stagekit import EXECUTION, PREFIX, finish, job, put, read_json, request

from orchestrator_runtime import contracts, jobstate, outputs
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

READS = f"{PREFIX}/raw/S1.fq"
STATS = f"{PREFIX}/qc/S1.tsv"


@pytest.fixture
def reads(s3: S3Client, bucket: str) -> str:
    return put(s3, READS, b"@r1\nACGT\n+\nIIII\n")


def test_first_run_writes_the_task_the_runner_needs(s3: S3Client, reads: str) -> None:
    resp = outputs.pre_check(s3, request())

    assert resp["complete"] is False
    assert resp["status"] == "missing"
    assert resp["missing"] == [STATS]
    assert resp["counts"] == {"expected": 1, "present": 0, "missing": 1, "stale": 0}
    assert resp["sample"] == "S1"
    assert resp["job_name"] == "rnaseq-qc-S1"
    assert resp["task_uri"] == f"{PREFIX}/_orchestrator/tasks/run-1/qc/S1.json"
    assert "1 of 1 outputs missing" in resp["reason"]
    task = read_json(s3, resp["task_uri"])
    assert task["inputs"] == {"reads": [READS]}
    assert task["outputs"] == {"stats": STATS}
    assert task["values"] == {"sample_id": "S1"}  # "condition" is not used by this job
    assert task["command"] == job()["command"]  # templates: the runner fills local paths
    assert task["marker"] == f"{PREFIX}/_orchestrator/markers/rnaseq/qc/S1/"
    assert task["execution"] == EXECUTION
    assert task["fingerprint_basis"]["inputs"] == {"reads": [READS]}


def test_finished_stage_is_skipped_and_recorded(s3: S3Client, reads: str, table: Table) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])

    resp = outputs.pre_check(s3, request(), table=table)

    assert resp["complete"] is True
    assert resp["status"] == "complete"
    assert resp["task_uri"] == ""
    execution, jobs = jobstate.read_execution(table, EXECUTION)
    assert [(j["stage"], j["sample"], j["status"]) for j in jobs] == [("qc", "S1", "SKIPPED")]
    assert execution is not None and execution["n_SKIPPED"] == 1


def test_skip_is_not_blocked_by_an_unavailable_job_table(
    s3: S3Client, reads: str, boto_session: boto3.Session
) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    missing_table = boto_session.resource("dynamodb").Table("no-such-table")

    assert outputs.pre_check(s3, request(), table=missing_table)["complete"] is True


def test_changed_command_makes_the_stage_stale(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    changed = job(command=["count", "--fast", "{inputs.reads}", "-o", "{outputs.stats}"])

    resp = outputs.pre_check(s3, request(spec=changed))

    assert resp["status"] == "stale"
    assert resp["counts"]["stale"] == 1
    assert "fingerprint differs" in resp["reason"]


def test_changed_input_bytes_make_the_stage_stale(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    put(s3, READS, b"@r1\nTTTT\n+\nIIII\n")

    assert outputs.pre_check(s3, request())["status"] == "stale"


def test_same_input_bytes_reuploaded_still_skip(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    put(s3, READS, b"@r1\nACGT\n+\nIIII\n")

    assert outputs.pre_check(s3, request())["complete"] is True


def test_output_overwritten_after_marker_is_stale(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    put(s3, STATS, b"edited by hand\n")

    resp = outputs.pre_check(s3, request())

    assert resp["status"] == "stale"
    assert "an output changed since the marker was written" in resp["reason"]


def test_outputs_without_marker_are_stale(s3: S3Client, reads: str) -> None:
    put(s3, STATS, b"made elsewhere\n")

    resp = outputs.pre_check(s3, request())

    assert resp["status"] == "stale"
    assert "marker absent" in resp["reason"]


def test_a_marker_named_for_other_outputs_is_not_trusted(s3: S3Client, reads: str) -> None:
    """The marker's name is what the check reads: a marker whose name vouches for other
    outputs (or is not a marker name at all) vouches for nothing."""
    finish(s3, outputs.pre_check(s3, request())["task_uri"])
    folder = f"{PREFIX}/_orchestrator/markers/rnaseq/qc/S1/"
    bucket, prefix = contracts.split_uri(folder)
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    put(s3, folder + "not-a-marker.json", b"{}")

    assert "marker absent" in outputs.pre_check(s3, request())["reason"]

    fp = contracts.fingerprint({}, {})
    put(s3, folder + contracts.marker_name(fp, "0" * 32), b"{}")
    assert "marker fingerprint differs" in outputs.pre_check(s3, request())["reason"]


def test_zero_byte_output_counts_as_missing(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"], {"stats": b""})

    resp = outputs.pre_check(s3, request())

    assert resp["status"] == "missing"
    assert resp["missing"] == [STATS]
    assert "allow_empty=True" in resp["reason"]


def test_zero_byte_output_is_fine_when_allowed(s3: S3Client, reads: str) -> None:
    spec = job(allow_empty=True)
    finish(s3, outputs.pre_check(s3, request(spec=spec))["task_uri"], {"stats": b""})

    assert outputs.pre_check(s3, request(spec=spec))["complete"] is True


def test_missing_input_fails_before_any_job(s3: S3Client, bucket: str) -> None:
    with pytest.raises(outputs.StageInputsMissing) as caught:
        outputs.pre_check(s3, request())

    assert str(caught.value).startswith(f"stage qc, sample S1: 1 input object(s) missing: {READS}")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # no task written


def test_post_check_rejects_a_job_that_exited_zero_without_outputs(
    s3: S3Client, reads: str
) -> None:
    outputs.pre_check(s3, request())

    with pytest.raises(outputs.StageOutputsMissing) as caught:
        outputs.post_check(s3, request("post"))

    assert str(caught.value) == (
        f"stage qc, sample S1: 1 of 1 outputs missing: {STATS}; marker absent")


def test_post_check_accepts_finished_work(s3: S3Client, reads: str) -> None:
    finish(s3, outputs.pre_check(s3, request())["task_uri"])

    assert outputs.post_check(s3, request("post"))["status"] == "complete"


def test_once_stage_gathers_one_input_per_sample_in_row_order(
    s3: S3Client, bucket: str
) -> None:
    rows = [{"sample_id": s} for s in ("S3", "S1", "S2")]
    for row in rows:
        put(s3, f"{PREFIX}/counts/{row['sample_id']}.tsv", b"x\n")
    spec = job(command=["merge", "{inputs.counts}", "-o", "{outputs.table}"],
               inputs={"counts": "counts/{sample_id}.tsv"}, outputs={"table": "report/all.tsv"})

    resp = outputs.pre_check(s3, request(spec=spec, once=True, samples=rows))

    task = read_json(s3, resp["task_uri"])
    assert resp["sample"] == contracts.ONCE
    assert resp["job_name"] == "rnaseq-qc"
    assert task["inputs"]["counts"] == [f"{PREFIX}/counts/{s}.tsv" for s in ("S3", "S1", "S2")]
    assert task["values"] == {}


def test_error_classes_carry_the_contract_names() -> None:
    from orchestrator_runtime import s3util

    assert outputs.StageOutputsMissing.__name__ == contracts.ERR_OUTPUTS_MISSING
    assert outputs.StageInputsMissing.__name__ == contracts.ERR_INPUTS_MISSING
    assert s3util.OutputCheckAccessError.__name__ == contracts.ERR_S3_ACCESS
    assert BadCheckRequest.__name__ == contracts.ERR_BAD_REQUEST
