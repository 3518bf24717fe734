"""Job state of array jobs: each child is the row of the sample its manifest line names.

The fixtures (tests/fixtures/events/batch_array_*.json) are an array job of the "align"
stage over three samples: its parent, and child 1 running and failing. Each test writes the
plan those events point to (stage document and manifest) into the emulated S3.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hostile import mutated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_lambdas.job_events import app as events_app
from orchestrator_runtime import contracts, jobstate
from orchestrator_runtime.events import MalformedEvent
from orchestrator_runtime.manifests import Manifests, UnknownSample

if TYPE_CHECKING:
    from conftest import FakeLambdaContext
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

Load = Callable[[str], dict[str, Any]]
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rnaseq:rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d"
PARENT = "7d1f0b2e-9c4a-4e55-8a0d-3b6f2c1e9a47"
BUCKET = "orchestrator-demo"
PLAN = ("s3://orchestrator-demo/rnaseq/_orchestrator/tasks/"
        "rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d/align/_array/")
MANIFEST = PLAN + contracts.MANIFEST
SAMPLES = ["S1", "S2", "S3"]


def counters(row: dict[str, Any] | None) -> dict[str, int]:
    return {k: v for k, v in (row or {}).items() if k.startswith("n_") and v}


def put(s3: S3Client, uri: str, body: bytes) -> None:
    bucket, key = contracts.split_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def write_plan(s3: S3Client, samples: list[str], manifest: str = MANIFEST) -> int:
    lines = [contracts.ManifestLine(index=i, sample=contracts.sample_label(s),
                                    row={"sample_id": s}) for i, s in enumerate(samples)]
    data, width = contracts.encode_manifest(lines)
    put(s3, manifest, data)
    put(s3, contracts.sibling(manifest, contracts.STAGE_DOC), json.dumps({
        "action": "pre", "workflow": "rnaseq", "stage": "align", "execution": EXECUTION,
        "sample_column": "sample_id", "job": {}}).encode())
    return width


def pointing(event: dict[str, Any], width: int, *, offset: int = 0, index: int | None = None,
             job: str = PARENT, manifest: str = MANIFEST) -> dict[str, Any]:
    """The event of job ``job`` (child ``index``), running the given manifest's lines."""
    event = copy.deepcopy(event)
    detail = event["detail"]
    values = {contracts.MANIFEST_ENV: manifest, contracts.MANIFEST_WIDTH_ENV: str(width),
              contracts.MANIFEST_OFFSET_ENV: str(offset)}
    detail["container"]["environment"] = [
        {"name": k, "value": v} for k, v in values.items()] + [
        e for e in detail["container"]["environment"] if e["name"] not in values]
    detail["jobId"] = job if index is None else f"{job}:{index}"
    if index is not None:
        detail["arrayProperties"] = {"index": index}
    return event


@pytest.fixture
def plan(s3: S3Client, table: Table) -> int:
    s3.create_bucket(Bucket=BUCKET)
    return write_plan(s3, SAMPLES)


@pytest.fixture
def manifests(s3: S3Client) -> Manifests:
    return Manifests(s3)


def child(load_event: Load, status: str, width: int, index: int, **kw: Any) -> dict[str, Any]:
    name = "batch_array_child_failed" if status == "FAILED" else "batch_array_child_running"
    event = pointing(load_event(name), width, index=index, **kw)
    if status not in ("FAILED", "RUNNING"):
        event["detail"]["status"] = status
    return event


def test_children_are_recorded_as_their_samples_and_the_parent_apart(
    table: Table, plan: int, manifests: Manifests, load_event: Load
) -> None:
    events = [pointing(load_event("batch_array_parent_pending"), plan)]
    for i in range(3):
        events += [child(load_event, "RUNNING", plan, i),
                   child(load_event, "FAILED" if i == 1 else "SUCCEEDED", plan, i)]
    events.append(pointing(load_event("batch_array_parent_succeeded"), plan))

    outcomes = [jobstate.handle_event(table, e, manifests=manifests) for e in events]

    assert all(o.applied for o in outcomes)
    assert [o.kind for o in outcomes] == ["array"] + ["job"] * 6 + ["array"]
    execution, jobs = jobstate.read_execution(table, EXECUTION)
    assert counters(execution) == {"n_SUCCEEDED": 2, "n_FAILED": 1}  # samples, not jobs
    assert sorted((r["sample"], r["status"], r["job_id"]) for r in jobs) == [
        ("S1", "SUCCEEDED", f"{PARENT}:0"), ("S2", "FAILED", f"{PARENT}:1"),
        ("S3", "SUCCEEDED", f"{PARENT}:2")]
    assert {r["sk"] for r in jobs} == {contracts.job_sk("align", s) for s in SAMPLES}
    failed = next(r for r in jobs if r["sample"] == "S2")
    assert (failed["exit_code"], failed["log_stream"]) == (
        3, "rnaseq-align/default/9b3e7c1d5a2f4e6b")
    [array] = jobstate.read_arrays(table, EXECUTION)
    assert array["sk"] == contracts.array_sk("align", 0)
    assert (array["status"], array["size"], array["job_id"], array["manifest"]) == (
        "SUCCEEDED", 3, PARENT, MANIFEST)
    assert manifests.requests == 1  # one block of the manifest served every child


def test_a_child_without_tags_learns_its_run_from_the_stage_document(
    table: Table, plan: int, manifests: Manifests, load_event: Load
) -> None:
    events = []
    for i in range(3):
        event = child(load_event, "SUCCEEDED", plan, i)
        del event["detail"]["tags"]
        events.append(event)

    for event in events:
        assert jobstate.handle_event(table, event, manifests=manifests).applied

    execution, jobs = jobstate.read_execution(table, EXECUTION)
    assert counters(execution) == {"n_SUCCEEDED": 3}
    assert {(r["workflow"], r["stage"], r["sample"]) for r in jobs} == {
        ("rnaseq", "align", s) for s in SAMPLES}
    assert manifests.requests == 2  # the stage document once, one block of lines


def test_the_line_is_the_chunk_offset_plus_the_index(
    table: Table, s3: S3Client, plan: int, manifests: Manifests, load_event: Load
) -> None:
    samples = [f"S{i}" for i in range(1, 11)]
    width = write_plan(s3, samples)
    event = child(load_event, "SUCCEEDED", width, 3, offset=5)

    jobstate.handle_event(table, event, manifests=manifests)

    [row] = jobstate.read_execution(table, EXECUTION)[1]
    assert row["sample"] == "S9"  # line 8


def test_a_single_job_of_a_plan_runs_the_line_at_its_offset(
    table: Table, s3: S3Client, plan: int, manifests: Manifests, load_event: Load
) -> None:
    event = pointing(load_event("batch_array_child_running"), plan, offset=2, job="single-1")
    del event["detail"]["arrayProperties"]

    assert jobstate.handle_event(table, event, manifests=manifests).kind == "job"

    [row] = jobstate.read_execution(table, EXECUTION)[1]
    assert (row["sample"], row["job_id"]) == ("S3", "single-1")


def test_a_new_array_job_over_a_rewritten_manifest_is_not_read_from_the_old_one(
    table: Table, s3: S3Client, plan: int, manifests: Manifests, load_event: Load
) -> None:
    jobstate.handle_event(table, child(load_event, "FAILED", plan, 1), manifests=manifests)
    width = write_plan(s3, ["S2"])  # a new plan: only the failed sample, for a new array job
    later = child(load_event, "SUCCEEDED", width, 0, job="second-array")
    later["detail"]["createdAt"] += 60_000
    jobstate.handle_event(table, later, manifests=manifests)

    execution, [row] = jobstate.read_execution(table, EXECUTION)
    assert (row["sample"], row["status"], row["job_id"]) == ("S2", "SUCCEEDED",
                                                              "second-array:0")
    assert counters(execution) == {"n_SUCCEEDED": 1}


# What cannot be resolved ----------------------------------------------------------------

@pytest.mark.parametrize(("change", "says"), [
    (lambda s3, e: e["detail"].update(arrayProperties={"index": 7}),
     "line 7 is past the end of the manifest"),
    (lambda s3, e: e["detail"].update(arrayProperties={"index": 9999}),
     "manifest.jsonl has no such line"),
    (lambda s3, e: s3.delete_object(Bucket=BUCKET, Key=contracts.split_uri(MANIFEST)[1]),
     "cannot be read (NoSuchKey)"),
    (lambda s3, e: put(s3, MANIFEST, (b"x" * 50 + b"\n") * 3), "is not a manifest line"),
    (lambda s3, e: e["detail"]["container"]["environment"][1].update(value="50"),
     "the width is wrong"),
])
def test_an_event_whose_line_cannot_be_read_is_one_named_error(
    table: Table, s3: S3Client, plan: int, manifests: Manifests, load_event: Load,
    change: Callable[[S3Client, dict[str, Any]], Any], says: str,
) -> None:
    event = child(load_event, "RUNNING", plan, 1)
    change(s3, event)

    with pytest.raises(UnknownSample, match=re.escape(says)):
        jobstate.handle_event(table, event, manifests=manifests)
    assert jobstate.read_execution(table, EXECUTION) == (None, [])


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "ORCH_MANIFEST_WIDTH", "value": "wide"}, "ORCH_MANIFEST_WIDTH"),
    ({"name": "ORCH_MANIFEST_OFFSET", "value": "-1"}, "ORCH_MANIFEST_OFFSET"),
    ({"name": "ORCH_MANIFEST_URI", "value": "https://example.com/m"}, "ORCH_MANIFEST_URI"),
    ({"name": "ORCH_MANIFEST_URI", "value": 7}, "environment[0].value"),
])
def test_a_bad_manifest_variable_is_malformed_before_any_read(
    load_event: Load, change: dict[str, Any], field: str
) -> None:
    event = child(load_event, "RUNNING", 60, 1)
    env = event["detail"]["container"]["environment"]
    env[:] = [change if e["name"] == change["name"] else e for e in env]
    with pytest.raises(MalformedEvent, match=re.escape(field)):
        jobstate.parse_event(event)


@pytest.mark.parametrize(("props", "field"), [
    ({"index": -1}, "a child index"), ({"index": 10_000}, "a child index"),
    ({"size": 1}, "an array size"), ({"size": 3, "index": 0}, "both a size"),
    ("three", "detail.arrayProperties must be an object"),
])
def test_bad_array_properties_are_malformed(load_event: Load, props: Any, field: str) -> None:
    event = child(load_event, "RUNNING", 60, 1)
    event["detail"]["arrayProperties"] = props
    with pytest.raises(MalformedEvent, match=field):
        jobstate.parse_event(event)


# Through the function -------------------------------------------------------------------

@pytest.fixture
def events_table(table: Table, monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    monkeypatch.setenv("TABLE_NAME", table.name)
    for cache in (events_app._table, events_app._manifests):
        cache.cache_clear()
    yield table
    for cache in (events_app._table, events_app._manifests):
        cache.cache_clear()


def sqs_record(load_event: Load, message_id: str, event: Any) -> dict[str, Any]:
    record = load_event("sqs_batch_job_events")["Records"][0]
    return dict(record, messageId=message_id, body=json.dumps(event))


def test_the_function_fails_only_the_record_it_cannot_place(
    events_table: Table, plan: int, s3: S3Client, load_event: Load,
    lambda_context: FakeLambdaContext,
) -> None:
    good = child(load_event, "SUCCEEDED", plan, 0)
    lost = child(load_event, "SUCCEEDED", plan, 1, manifest=PLAN + "gone.jsonl")

    direct = events_app.handler(lost, lambda_context)
    batch = events_app.handler({"Records": [sqs_record(load_event, "lost", lost),
                                            sqs_record(load_event, "good", good)]},
                               lambda_context)

    assert direct["applied"] is False and "gone.jsonl" in direct["reason"]
    assert batch == {"batchItemFailures": [{"itemIdentifier": "lost"}]}
    execution, [row] = jobstate.read_execution(events_table, EXECUTION)
    assert (row["sample"], counters(execution)) == ("S1", {"n_SUCCEEDED": 1})


ARRAY_FIXTURES = ["batch_array_parent_pending", "batch_array_parent_succeeded",
                  "batch_array_child_running", "batch_array_child_failed"]


def test_any_broken_array_event_fails_alone_and_never_crashes_a_batch(
    events_table: Table, plan: int, load_event: Load, lambda_context: FakeLambdaContext,
) -> None:
    good = child(load_event, "SUCCEEDED", plan, 0)

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(data=st.data(), name=st.sampled_from(ARRAY_FIXTURES))
    def in_batch(data: st.DataObject, name: str) -> None:
        # Each example starts from an empty table: a valid-but-later event an earlier example
        # drew (say S1 FAILED) would otherwise outrank this example's good event.
        for item in events_table.scan()["Items"]:
            events_table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        event = pointing(load_event(name), plan)
        if "child" in name:
            event = pointing(load_event(name), plan, index=2)
        bad = data.draw(mutated(event))

        resp = events_app.handler({"Records": [sqs_record(load_event, "bad", bad),
                                               sqs_record(load_event, "good", good)]},
                                  lambda_context)

        assert resp["batchItemFailures"] in ([], [{"itemIdentifier": "bad"}])
        try:
            jobstate.parse_event(bad)
        except MalformedEvent:
            assert resp["batchItemFailures"] == [{"itemIdentifier": "bad"}]
        if resp["batchItemFailures"]:  # refused: the good record is recorded regardless
            rows = {r["sample"]: r["status"] for r in jobstate.read_execution(
                events_table, EXECUTION)[1]}
            assert rows.get("S1") == "SUCCEEDED"
        # else the mutation is a valid event (e.g. a child without its index is the one job
        # of its plan, line OFFSET: S1) and may rightly outrank the good one

    in_batch()
