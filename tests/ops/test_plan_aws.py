"""`orchestrator plan FILE --aws`: the dry run against the workflow's bucket in S3 (moto),
with the sheet given locally or by its s3:// URI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
RNASEQ = str(ROOT / "examples" / "rnaseq.py")
DATA = ROOT / "examples" / "data" / "rnaseq"
SHEET = str(DATA / "samples.csv")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="orchestrator-demo")
        for f in DATA.rglob("*"):
            if f.is_file() and f.name != "samples.csv":
                client.put_object(Bucket="orchestrator-demo", Body=f.read_bytes(),
                                  Key="rnaseq/" + str(f.relative_to(DATA)))
        yield client


def plan(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["plan", RNASEQ, "--aws", "--json", *args]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_a_fresh_bucket_plans_every_job_with_a_local_or_an_s3_sheet(
        s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    local = plan(capsys, "--samples", SHEET)
    assert local["submits"] == {"total": 10, "by_stage": {"qc": 3, "trim": 3, "count": 3,
                                                          "report": 1}}
    assert local["bucket"] == "s3://orchestrator-demo/rnaseq"
    s3.put_object(Bucket="orchestrator-demo", Key="sheets/s.csv",
                  Body=b"sample_id,condition\nS1,treated\n")
    remote = plan(capsys, "--samples", "s3://orchestrator-demo/sheets/s.csv")
    assert remote["submits"]["by_stage"] == {"qc": 1, "trim": 1, "count": 1, "report": 1}


def test_a_missing_input_in_s3_is_named_and_only_selects(
        s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3.delete_object(Bucket="orchestrator-demo", Key="rnaseq/raw/S2.fastq.gz")
    doc = plan(capsys, "--samples", SHEET, "--only", "S2")
    qc = next(i for i in doc["items"] if (i["stage"], i["sample"]) == ("qc", "S2"))
    assert not qc["runs"] and "raw/S2.fastq.gz" in qc["reason"]
    assert {i["sample"] for i in doc["items"] if i["runs"]} <= {"S2", "_once"}


def test_a_bad_sheet_in_s3_is_one_line(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_object(Bucket="orchestrator-demo", Key="sheets/bad.csv", Body=b"name\nS1\n")
    assert main(["plan", RNASEQ, "--aws", "--samples",
                 "s3://orchestrator-demo/sheets/bad.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sheets/bad.csv" in err


def test_the_run_input_of_a_start_is_planned_as_it_would_run(
        s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    given = json.dumps({"samples": [{"sample_id": "S3", "condition": "control"}],
                        "params": {}})
    doc = plan(capsys, "--input", given)
    assert doc["samples"] == 1 and doc["submits"]["total"] == 4
    s3.put_object(Bucket="orchestrator-demo", Key="sheets/two.csv",
                  Body=b"sample_id,condition\nS1,treated\nS2,control\n")
    doc = plan(capsys, "--input", json.dumps({"sheet": "s3://orchestrator-demo/sheets/two.csv"}))
    assert doc["samples"] == 2 and doc["submits"]["by_stage"]["qc"] == 2
    assert main(["plan", RNASEQ, "--aws", "--input", "{not json"]) == 2
    assert "--input: not valid JSON" in capsys.readouterr().err
