"""The array strategy's check actions: sheet, plan, collect and summarize, against moto's S3.

A plan must answer for every sample with LIST pages, not one request per sample: the request
counts below are what a user pays for on AWS.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws
from stagekit import EXECUTION, PREFIX, job, put, read_json, request

from orchestrator_runtime import arrays, contracts, outputs
from orchestrator_runtime.resolve import resolve

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "orchestrator-test"


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def count_requests(s3: S3Client) -> Counter[str]:
    calls: Counter[str] = Counter()
    s3.meta.events.register("before-call.s3.*",
                            lambda model, **_: calls.update([model.name]))
    return calls


def ids(n: int) -> list[str]:
    return [f"S{i:06d}" for i in range(n)]


ETAGS: dict[str, str] = {}  # what the test uploaded: key -> ETag (saves a HEAD per input)


def fast_put(uri: str, body: bytes) -> str:
    """Store an object straight in moto's backend: 100x faster than through boto3, for the
    thousands of objects a plan is measured on (the plan itself still goes through boto3)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket, key = contracts.split_uri(uri)
    etag = contracts.normalize_etag(
        s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(bucket, key, body).etag)
    ETAGS[uri] = etag
    return etag


def start(s3: S3Client, n: int, *, reads: bool = True) -> str:
    """A run over n samples whose reads exist; returns the sheet's URI."""
    rows = [{"sample_id": s, "condition": "treated"} for s in ids(n)]
    if reads:
        for s in ids(n):
            uri = f"{PREFIX}/raw/{s}.fq"
            fast_put(uri, f"@{s}\nACGT\n+\nIIII\n".encode())
    return arrays.sheet(s3, request("sheet", samples=rows, once=True))["sheet"]


def plan_request(sheet: str, stage: str = "qc", **spec: Any) -> Any:
    return request("plan", once=True, samples=None, sheet=sheet, stage=stage,
                   spec=job(**spec) if spec else None)


def complete(s3: S3Client, req: Any, row: dict[str, Any]) -> None:
    """What the runner does for one manifest line: outputs, then the marker."""
    base = {k: v for k, v in req.items() if k not in ("sheet", "samples")}
    stage = resolve(cast(contracts.CheckRequest, {**base, "action": "pre", "sample": row}))
    etags = {n: [ETAGS.get(u) or contracts.normalize_etag(s3.head_object(
        Bucket=BUCKET, Key=contracts.split_uri(u)[1])["ETag"]) for u in uris]
        for n, uris in stage.inputs.items()}
    made = {n: fast_put(uri, f"{n} of {stage.sample}\n".encode())
            for n, uri in stage.outputs.items()}
    fingerprint = contracts.fingerprint(stage.fingerprint_basis(), etags)
    fast_put(stage.marker_folder + contracts.marker_name(
        fingerprint, contracts.outputs_digest(made)), b"{}")


def run_all(s3: S3Client, req: Any, plan: contracts.PlanResponse,
            failing: frozenset[str] = frozenset()) -> None:
    for line in manifest(s3, plan):
        if line["sample"] not in failing:
            complete(s3, req, line["row"])


def manifest(s3: S3Client, plan: contracts.PlanResponse) -> list[contracts.ManifestLine]:
    bucket, key = contracts.split_uri(plan["manifest"])
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    width = int(plan["width"])
    assert len(body) % width == 0, "every line has the same width"
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    assert all(line.endswith(b"\n") for line in lines)
    return [contracts.decode_manifest_line(line) for line in lines]


def test_a_fresh_plan_lists_every_sample_once(s3: S3Client) -> None:
    sheet = start(s3, 25)
    plan = arrays.plan(s3, plan_request(sheet))

    assert (plan["count"], plan["total"], plan["complete"]) == (25, 25, 0)
    assert [ln["sample"] for ln in manifest(s3, plan)] == ids(25)
    assert plan["chunks"] == [{"offset": "0", "size": 25}]
    doc = read_json(s3, contracts.sibling(plan["manifest"], contracts.STAGE_DOC))
    assert doc["action"] == "pre" and "sample" not in doc and doc["stage"] == "qc"


def test_a_ranged_read_of_one_line_is_that_sample(s3: S3Client) -> None:
    plan = arrays.plan(s3, plan_request(start(s3, 30)))
    bucket, key = contracts.split_uri(plan["manifest"])
    raw = s3.get_object(Bucket=bucket, Key=key,
                        Range=contracts.manifest_range(17, int(plan["width"])))["Body"].read()

    assert contracts.decode_manifest_line(raw)["sample"] == ids(30)[17]


def test_after_a_full_run_nothing_is_planned_and_skips_are_consistent_with_pre(
        s3: S3Client) -> None:
    sheet = start(s3, 40)
    req = plan_request(sheet)
    run_all(s3, req, arrays.plan(s3, req))

    again = arrays.plan(s3, req)

    assert (again["count"], again["complete"], again["manifest"]) == (0, 40, "")
    one = request("pre", sample={"sample_id": ids(40)[5], "condition": "treated"})
    assert outputs.pre_check(s3, one)["complete"] is True  # the per-sample check agrees


def test_deleting_three_outputs_replans_exactly_those_three(s3: S3Client) -> None:
    sheet = start(s3, 50)
    req = plan_request(sheet)
    run_all(s3, req, arrays.plan(s3, req))
    gone = [ids(50)[i] for i in (3, 17, 42)]
    for s in gone:
        s3.delete_object(Bucket=BUCKET, Key=f"wf/qc/{s}.tsv")

    again = arrays.plan(s3, req)

    assert again["count"] == 3
    assert [ln["sample"] for ln in manifest(s3, again)] == gone


def test_a_changed_input_makes_its_sample_stale(s3: S3Client) -> None:
    sheet = start(s3, 20)
    req = plan_request(sheet)
    run_all(s3, req, arrays.plan(s3, req))
    fast_put(f"{PREFIX}/raw/{ids(20)[4]}.fq", b"@other\nTTTT\n+\nIIII\n")

    assert [ln["sample"] for ln in manifest(s3, arrays.plan(s3, req))] == [ids(20)[4]]


def test_a_plan_costs_a_few_requests_per_thousand_samples(s3: S3Client) -> None:
    n = 2500
    sheet = start(s3, n)
    req = plan_request(sheet)
    run_all(s3, req, arrays.plan(s3, req))
    calls = count_requests(s3)

    plan = arrays.plan(s3, req)

    assert plan["complete"] == n
    assert calls["HeadObject"] == 0 and calls["GetObject"] == 1  # the sheet
    # inputs, outputs and markers: one LIST page per 1,000 keys each; plus the failure records
    assert calls["ListObjectsV2"] <= 1 + 3 * math.ceil(n / 1000)


def test_outputs_in_one_folder_per_sample_are_listed_not_headed(s3: S3Client) -> None:
    """The common genomics layout (s1/out.bam, s2/out.bam) costs LIST pages, not one HEAD per
    sample."""
    sheet = start(s3, 300)
    req = plan_request(sheet, outputs={"stats": "qc/{sample_id}/stats.tsv"})
    run_all(s3, req, arrays.plan(s3, req))
    calls = count_requests(s3)

    assert arrays.plan(s3, req)["complete"] == 300
    assert calls["HeadObject"] == 0


def test_ten_thousand_and_one_samples_plan_into_two_chunks(s3: S3Client) -> None:
    sheet = start(s3, 10_001, reads=False)
    # reads under the workflow prefix for everyone, in one object per sample
    req = plan_request(sheet, inputs={}, command=["true"])

    plan = arrays.plan(s3, req)

    assert plan["count"] == 10_001
    assert plan["chunks"] == [{"offset": "0", "size": 5001}, {"offset": "5001", "size": 5000}]


def test_a_sample_without_its_input_fails_alone_and_is_blocked_later(s3: S3Client) -> None:
    sheet = start(s3, 10)
    s3.delete_object(Bucket=BUCKET, Key=f"wf/raw/{ids(10)[2]}.fq")
    plan = arrays.plan(s3, plan_request(sheet))

    assert (plan["count"], plan["failed"]) == (9, 1)
    later = arrays.plan(s3, plan_request(sheet, stage="count"))
    assert (later["count"], later["blocked"]) == (9, 1)
    summary = arrays.summarize(s3, request("summarize", sheet=sheet, stages=["qc", "count"]))
    assert summary["failed"] == 1
    assert summary["cause"].startswith(f"1 of 10 samples failed: {ids(10)[2]} (qc: ")
    assert "input object(s) missing" in summary["cause"]


def test_collect_names_the_samples_whose_outputs_are_missing(s3: S3Client) -> None:
    sheet = start(s3, 12)
    req = plan_request(sheet)
    plan = arrays.plan(s3, req)
    bad = frozenset({ids(12)[1], ids(12)[7]})
    run_all(s3, req, plan, failing=bad)
    error = {"Error": "States.TaskFailed", "Cause": json.dumps(
        {"JobId": "parent-1", "Status": "FAILED", "StatusReason": "children failed"})}

    got = arrays.collect(s3, {**req, "action": "collect", "plan": plan, "batch": error})  # type: ignore[typeddict-item]

    assert (got["ran"], got["succeeded"], got["failed"]) == (12, 10, 2)
    assert ids(12)[1] in got["cause"] and ids(12)[7] in got["cause"]
    assert "job parent-1:1" in got["cause"]  # the array child that ran the sample
    summary = arrays.summarize(s3, request("summarize", sheet=sheet, stages=["qc"]))
    assert summary["cause"].startswith("2 of 12 samples failed: ")


def test_collect_reads_the_cause_of_each_failed_child_from_batch(s3: S3Client) -> None:
    sheet = start(s3, 4)
    req = plan_request(sheet)
    plan = arrays.plan(s3, req)
    run_all(s3, req, plan, failing=frozenset({ids(4)[2]}))

    class Batch:
        def __init__(self) -> None:
            self.asked: list[list[str]] = []

        def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
            self.asked.append(jobs)
            return {"jobs": [{"jobId": j, "status": "FAILED", "attempts": [{"container": {
                "exitCode": 3, "logStreamName": "qc/default/abc"}}]} for j in jobs]}

    batch = Batch()
    got = arrays.collect(s3, {**req, "action": "collect", "plan": plan,  # type: ignore[typeddict-item]
                              "batch": {"JobId": "p"}}, batch_client=batch)  # type: ignore[arg-type]

    assert batch.asked == [["p:2"]]
    assert "exit code 3" in got["cause"] and "log stream qc/default/abc" in got["cause"]


def test_the_sheet_action_reads_csv_and_json_lines_from_s3(s3: S3Client) -> None:
    put(s3, f"{PREFIX}/sheets/a.csv", b"sample_id,condition\nS1,x\nS2,y\n")
    put(s3, f"{PREFIX}/sheets/b.jsonl", b'{"sample_id": "S1"}\n\n{"sample_id": 7}\n')

    a = arrays.sheet(s3, request("sheet", once=True, sheet=f"{PREFIX}/sheets/a.csv"))
    assert a["count"] == 2
    assert arrays.load_sheet(s3, a["sheet"])[1] == {"sample_id": "S2", "condition": "y"}
    assert a["sheet"] == f"{PREFIX}/_orchestrator/tasks/run-1/sheet.jsonl"

    b = arrays.sheet(s3, request("sheet", once=True, sheet=f"{PREFIX}/sheets/b.jsonl"))
    assert b["count"] == 2
    assert arrays.load_sheet(s3, b["sheet"])[1] == {"sample_id": 7}


@pytest.mark.parametrize(("body", "message"), [
    (b"sample_id\nS1\nS1\n", "sheets/bad.csv:3: column 'sample_id': 'S1' repeats line 2"),
    (b"name\nS1\n", "sheets/bad.csv:1"),
])
def test_a_bad_sheet_fails_the_run_at_once_naming_the_line(
        s3: S3Client, body: bytes, message: str) -> None:
    put(s3, f"{PREFIX}/sheets/bad.csv", body)
    with pytest.raises(arrays.BadSampleSheet, match=r"sheets/bad\.csv") as caught:
        arrays.sheet(s3, request("sheet", once=True, sheet=f"{PREFIX}/sheets/bad.csv"))
    assert message in str(caught.value)


def test_a_run_without_samples_is_refused(s3: S3Client) -> None:
    with pytest.raises(arrays.NoSamples, match="has no samples"):
        arrays.sheet(s3, request("sheet", once=True, samples=[]))
    with pytest.raises(arrays.BadSampleSheet, match="no such object"):
        arrays.sheet(s3, request("sheet", once=True, sheet=f"{PREFIX}/none.csv"))


def test_a_once_stage_of_an_array_run_gathers_over_the_sheet(s3: S3Client) -> None:
    from orchestrator_runtime import actions

    sheet = start(s3, 3)
    req = request("pre", once=True, samples=None, sheet=sheet, stage="report", spec=job(
        inputs={"all": "raw/{sample_id}.fq"}, outputs={"report": "report.txt"},
        command=["cat", "{inputs.all}"]))
    got = actions.handle(req, s3=s3)

    assert got["complete"] is False  # type: ignore[typeddict-item]
    task = read_json(s3, got["task_uri"])  # type: ignore[typeddict-item]
    assert len(task["inputs"]["all"]) == 3
    assert EXECUTION.endswith(task["execution"].rsplit(":", 1)[-1])


def test_samples_failing_the_same_way_are_named_together(s3: S3Client) -> None:
    """A job that could not be submitted fails every planned sample with one cause: the
    summary says it once, not twelve times."""
    sheet = start(s3, 12)
    req = plan_request(sheet)
    plan = arrays.plan(s3, req)
    error = {"Error": "Batch.ClientException", "Cause": "Job queue q does not exist"}
    arrays.collect(s3, {**req, "action": "collect", "plan": plan, "batch": error})  # type: ignore[typeddict-item]

    cause = arrays.summarize(s3, request("summarize", sheet=sheet, stages=["qc"]))["cause"]

    assert cause == (f"12 of 12 samples failed: {', '.join(ids(12)[:5])} and 7 more (qc: the "
                     "job: Batch.ClientException: Job queue q does not exist)")


def test_a_forced_stage_plans_every_sample_and_pre_agrees(s3: S3Client) -> None:
    sheet = start(s3, 8)
    req = plan_request(sheet)
    run_all(s3, req, arrays.plan(s3, req))

    assert arrays.plan(s3, cast(Any, dict(req, force=["qc"])))["count"] == 8
    assert arrays.plan(s3, cast(Any, dict(req, force=["count"])))["count"] == 0  # another stage's
    one = request("pre", sample={"sample_id": ids(8)[1], "condition": "treated"},
                  force=["qc"])
    got = outputs.pre_check(s3, one)
    assert got["status"] == "stale" and got["reason"].startswith("forced: the run was started "
                                                                 "with --force qc")


def test_only_selected_samples_are_planned_but_the_sheet_stays_whole(s3: S3Client) -> None:
    sheet = start(s3, 6)
    plan = arrays.plan(s3, cast(Any, dict(plan_request(sheet),
                                          only=[ids(6)[4], ids(6)[1]])))

    assert plan["total"] == 6 and plan["count"] == 2
    assert [ln["sample"] for ln in manifest(s3, plan)] == [ids(6)[1], ids(6)[4]]
    other = request("pre", sample={"sample_id": "S1", "condition": "treated"}, only=["S2"])
    got = outputs.pre_check(s3, other)
    assert got["complete"] is True and got["reason"].startswith("not selected")
    once = request("pre", once=True, only=["S2"],
                   spec=job(inputs={}, command=["true"], outputs={"stats": "all.tsv"}))
    assert outputs.pre_check(s3, once)["complete"] is False  # a once-stage always runs


@pytest.mark.parametrize("kind", ["csv"])  # JSON lines: test_the_sheet_action_reads_csv...
def test_a_hundred_thousand_row_sheet_in_s3_is_read_once_and_planned_in_pages(
        s3: S3Client, kind: str) -> None:
    n = 100_000
    names = ids(n)
    body = ("sample_id,condition\n" + "".join(f"{s},treated\n" for s in names)
            if kind == "csv" else
            "".join(json.dumps({"sample_id": s, "condition": "treated"}) + "\n" for s in names))
    fast_put(f"{PREFIX}/sheets/big.{kind}", body.encode())
    calls = count_requests(s3)

    got = arrays.sheet(s3, request("sheet", once=True, sheet=f"{PREFIX}/sheets/big.{kind}"))
    assert got["count"] == n
    plan = arrays.plan(s3, plan_request(got["sheet"], inputs={}, command=["true"]))

    assert plan["count"] == n and plan["complete"] == 0
    assert [int(c["size"]) for c in plan["chunks"]] == [10_000] * 10
    assert calls["HeadObject"] == 0
    assert calls["GetObject"] == 2  # the user's sheet, then the run's copy of it
    assert calls["ListObjectsV2"] <= 3 + 3 * math.ceil(n / 1000)
    lines = manifest(s3, plan)
    assert len(lines) == n and lines[-1]["sample"] == names[-1]
