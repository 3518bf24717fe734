"""Hostile input to the event handlers: one failed record or a logged ignore, never a crash.

The recorded hostile payloads live in tests/fixtures/events/hostile/ (one file each); the
property tests break the real fixtures at random (hostile.py) and check that

* the handler never raises,
* a good record beside a bad one in the same SQS batch is applied,
* the bad record is reported in ``batchItemFailures`` exactly when it is malformed (as the
  pure parser decides), and a malformed event writes nothing.

``ORCH_FUZZ_EXAMPLES`` raises the number of examples per property (default 60).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hostile import mutated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_lambdas.check_outputs import app as check_app
from orchestrator_lambdas.job_events import app as events_app
from orchestrator_lambdas.s3_trigger import app as trigger_app
from orchestrator_runtime import contracts, jobstate, triggers
from orchestrator_runtime.events import MalformedEvent
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from conftest import FakeLambdaContext
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

Load = Callable[[str], dict[str, Any]]
HOSTILE = Path(__file__).parents[1] / "fixtures" / "events" / "hostile"
EXAMPLES = int(os.environ.get("ORCH_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
JOB_FIXTURES = ["batch_job_running", "batch_job_succeeded", "batch_job_failed",
                "batch_job_submitted", "batch_job_foreign", "sfn_execution_running",
                "sfn_execution_failed"]
GOOD_RUNS = itertools.count()
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rnaseq:rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d"


def hostile(name: str) -> Any:
    return json.loads((HOSTILE / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    caches = [events_app._table, trigger_app._clients, trigger_app._triggers]
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.fixture
def events_table(table: Table, monkeypatch: pytest.MonkeyPatch) -> Table:
    monkeypatch.setenv("TABLE_NAME", table.name)
    return table


def malformed(event: Any) -> bool:
    try:
        jobstate.parse_event(event)
    except MalformedEvent:
        return True
    return False


def good_event(load_event: Load) -> tuple[str, dict[str, Any]]:
    """A SUCCEEDED job of an execution no other record mentions."""
    execution = f"arn:aws:states:us-east-1:123456789012:execution:rnaseq:good-{next(GOOD_RUNS)}"
    event = load_event("batch_job_succeeded")
    event["detail"]["tags"][contracts.TAG_EXECUTION] = execution
    return execution, event


def sqs_record(load_event: Load, message_id: str, event: Any) -> dict[str, Any]:
    record = load_event("sqs_batch_job_events")["Records"][0]
    return dict(record, messageId=message_id, body=json.dumps(event))


def assert_good_applied(table: Table, execution: str) -> None:
    row, [job] = jobstate.read_execution(table, execution)
    assert job["status"] == "SUCCEEDED"
    assert row is not None and row["n_SUCCEEDED"] == 1


def expected_failure(record: Any) -> str | None:
    """The itemIdentifier a bad record must be reported under, None when none is due."""
    message_id = record.get("messageId") if isinstance(record, dict) else None
    if not isinstance(message_id, str) or not message_id:
        return None  # nothing to name: dropped with a log line, never failing the batch
    body = record.get("body")
    try:
        event = json.loads(body) if isinstance(body, str) else None
    except (ValueError, RecursionError):
        return message_id
    return message_id if event is None or malformed(event) else None


def items(table: Table) -> int:
    return table.scan(Select="COUNT")["Count"]


# Recorded hostile inputs --------------------------------------------------------------

@pytest.mark.parametrize(("name", "field"), [
    ("batch_started_at_1e18", "detail.startedAt"),
    ("batch_exit_code_1e40", "detail.attempts[0].container.exitCode"),
    ("batch_time_year_9999", "event time"),
    ("batch_time_number", "event time"),
    ("batch_tag_lone_surrogate", "detail.tags.orchestrator:sample"),
    ("batch_tags_not_object", "detail.tags"),
    ("batch_attempts_12", "detail.attempts"),
    ("batch_created_at_missing", "detail.createdAt"),
    ("batch_status_reason_object", "detail.statusReason"),
    ("batch_job_id_5000_chars", "detail.jobId"),
    ("batch_table_key_too_long", "table key"),
    ("batch_container_not_object", "detail.attempts[0].container"),
    ("batch_log_stream_list", "detail.container.logStreamName"),
    ("batch_event_id_object", "event.id"),
    ("sfn_redrive_count_negative", "detail.redriveCount"),
    ("sfn_redrive_date_1e18", "detail.redriveDate"),
    ("sfn_start_date_float", "detail.startDate"),
    ("sfn_execution_arn_not_arn", "detail.executionArn"),
    ("sfn_cause_number", "detail.cause"),
    ("batch_tag_sanitised_other_run", "detail.tags.orchestrator:execution"),
])
def test_each_recorded_bad_event_is_one_named_error(
    events_table: Table, lambda_context: FakeLambdaContext, load_event: Load,
    name: str, field: str,
) -> None:
    event = hostile(name)
    with pytest.raises(MalformedEvent, match=field.replace(".", r"\.").replace("[", r"\[")):
        jobstate.parse_event(event)

    direct = events_app.handler(event, lambda_context)
    execution, good = good_event(load_event)
    batch = {"Records": [sqs_record(load_event, "bad", event),
                         sqs_record(load_event, "good", good)]}
    in_batch = events_app.handler(batch, lambda_context)

    assert direct["applied"] is False and field.split(".")[-1] in direct["reason"]
    assert in_batch == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert_good_applied(events_table, execution)
    assert items(events_table) == 2  # the good job's row and its execution's counters


@pytest.mark.parametrize(("name", "failed"), [
    ("sqs_records_empty", []),
    ("sqs_records_not_objects", []),
    ("sqs_record_without_message_id", []),
    ("sqs_record_empty_message_id", []),
    ("sqs_body_not_string", ["body-object"]),
    ("sqs_body_nested_too_deep", ["body-deep"]),
    ("sqs_body_huge_integer", ["body-huge-int"]),
    ("sqs_started_at_1e18", ["started-1e18"]),
])
def test_each_recorded_bad_sqs_batch_fails_only_its_bad_records(
    events_table: Table, lambda_context: FakeLambdaContext, name: str, failed: list[str],
) -> None:
    batch = hostile(name)

    resp = events_app.handler(batch, lambda_context)

    assert resp == {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    good = [r for r in batch["Records"] if isinstance(r, dict) and r.get("messageId")
            and r["messageId"] not in failed]
    rows = jobstate.read_execution(events_table, json.loads(good[0]["body"])["detail"]["tags"][
        contracts.TAG_EXECUTION])[1] if good else []
    assert [r["status"] for r in rows] == (["SUCCEEDED"] if good else [])


# Properties over mutated real events --------------------------------------------------

def test_any_broken_event_sent_directly_is_ignored_and_writes_nothing(
    events_table: Table, lambda_context: FakeLambdaContext, load_event: Load
) -> None:
    @FUZZ
    @given(data=st.data(), name=st.sampled_from(JOB_FIXTURES))
    def direct(data: st.DataObject, name: str) -> None:
        event = data.draw(mutated(load_event(name)))
        before = items(events_table)

        resp = events_app.handler(event, lambda_context)

        assert set(resp) == {"applied", "reason"} and isinstance(resp["reason"], str)
        if malformed(event):
            assert resp["applied"] is False
            assert items(events_table) == before

    direct()


def test_any_broken_record_in_an_sqs_batch_fails_alone(
    events_table: Table, lambda_context: FakeLambdaContext, load_event: Load
) -> None:
    @FUZZ
    @given(data=st.data(), name=st.sampled_from(JOB_FIXTURES), envelope=st.booleans(),
           bad_first=st.booleans())
    def in_batch(data: st.DataObject, name: str, envelope: bool, bad_first: bool) -> None:
        if envelope:  # break the SQS record itself: its id, its body, its type
            bad = data.draw(mutated(sqs_record(load_event, "bad", load_event(name))))
        else:
            bad = sqs_record(load_event, "bad", data.draw(mutated(load_event(name))))
        execution, event = good_event(load_event)
        good = sqs_record(load_event, "good", event)
        if isinstance(bad, dict) and bad.get("messageId") == "good":
            bad["messageId"] = "bad"
        records = [bad, good] if bad_first else [good, bad]

        resp = events_app.handler({"Records": records}, lambda_context)

        due = expected_failure(bad)
        assert resp == {"batchItemFailures": [{"itemIdentifier": due}] if due else []}
        assert_good_applied(events_table, execution)

    in_batch()


def test_a_table_error_fails_the_record_for_a_retry(
    aws: None, lambda_context: FakeLambdaContext, load_event: Load,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")  # not the event's fault: retry it
    _, event = good_event(load_event)

    resp = events_app.handler({"Records": [sqs_record(load_event, "m1", event)]},
                              lambda_context)

    assert resp == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


# Job-state ordering ---------------------------------------------------------------------

def test_events_of_one_job_at_the_same_second_settle_by_rank(
    events_table: Table, load_event: Load
) -> None:
    names = ["batch_job_runnable", "batch_job_starting", "batch_job_running"]
    for order in itertools.permutations(names):
        execution = f"arn:aws:states:us-east-1:123456789012:execution:rnaseq:{'-'.join(order)}"
        for name in order:
            event = load_event(name)
            event["time"] = "2022-01-11T23:37:05Z"
            event["detail"]["tags"][contracts.TAG_EXECUTION] = execution
            jobstate.handle_event(events_table, event)
        row, [job] = jobstate.read_execution(events_table, execution)
        assert job["status"] == "RUNNING", order
        assert {k: v for k, v in (row or {}).items() if k.startswith("n_") and v} == {
            "n_RUNNING": 1}


def _resubmitted(load_event: Load, name: str, created_ms: int, time: str) -> dict[str, Any]:
    event = load_event(name)
    event["detail"].update(createdAt=created_ms, jobId=f"job-{created_ms}")
    event["time"] = time
    return event


def test_a_new_job_for_the_same_stage_moves_a_failed_row_forward(
    events_table: Table, load_event: Load
) -> None:
    # A Step Functions retry (or a redrive) submits a new Batch job for the same sample.
    first = load_event("batch_job_failed")
    retry = [_resubmitted(load_event, n, 1641944500000, t) for n, t in [
        ("batch_job_runnable", "2022-01-11T23:41:50Z"),
        ("batch_job_running", "2022-01-11T23:42:00Z"),
        ("batch_job_succeeded", "2022-01-11T23:43:00Z")]]
    late_first = load_event("batch_job_running")  # the first job's RUNNING, delivered late

    statuses = []
    for event in [first, retry[0]]:
        jobstate.handle_event(events_table, event)
        statuses.append(jobstate.read_execution(events_table, EXECUTION)[1][0]["status"])
    for event in [retry[1], late_first, retry[2], first]:
        jobstate.handle_event(events_table, event)

    row, [job] = jobstate.read_execution(events_table, EXECUTION)
    assert statuses == ["FAILED", "RUNNABLE"]
    assert (job["status"], job["job_id"]) == ("SUCCEEDED", "job-1641944500000")
    assert {k: v for k, v in (row or {}).items() if k.startswith("n_") and v} == {
        "n_SUCCEEDED": 1}


def test_a_redriven_execution_moves_its_row_forward(
    events_table: Table, load_event: Load
) -> None:
    redriven = load_event("sfn_execution_running")
    redriven["time"] = "2022-01-11T23:50:00Z"
    redriven["detail"].update(redriveCount=1, redriveDate=1641945000000)
    succeeded = load_event("sfn_execution_failed")
    succeeded["time"] = "2022-01-11T23:55:00Z"
    succeeded["detail"].update(status="SUCCEEDED", redriveCount=1, redriveDate=1641945000000,
                               stopDate=1641945300000, error=None, cause=None)
    late_running = load_event("sfn_execution_running")  # the first run's, delivered last

    applied = [jobstate.handle_event(events_table, e).applied for e in [
        load_event("sfn_execution_running"), load_event("sfn_execution_failed"), redriven]]
    status_after_redrive = jobstate.read_execution(events_table, EXECUTION)[0]
    applied += [jobstate.handle_event(events_table, e).applied
                for e in [succeeded, late_running, redriven]]

    row, _ = jobstate.read_execution(events_table, EXECUTION)
    assert applied == [True, True, True, True, False, False]
    assert status_after_redrive is not None and status_after_redrive["status"] == "RUNNING"
    assert row is not None
    assert (row["status"], row["redrive_count"]) == ("SUCCEEDED", 1)
    assert row["redrive_date"] == "2022-01-11T23:50:00.000Z"


# Upload triggers ------------------------------------------------------------------------


def upload_event(load_event: Load, s3: S3Client, bucket: str, key: str) -> dict[str, Any]:
    event = load_event("s3_object_created")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=b"reads")["ETag"].strip('"')
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update(key=key, etag=etag)
    del event["detail"]["object"]["version-id"]
    return event


@pytest.mark.parametrize(("name", "field"), [
    ("s3_bucket_name_number", "detail.bucket.name"),
    ("s3_bucket_name_invalid", "detail.bucket.name"),
    ("s3_key_lone_surrogate", "detail.object.key"),
    ("s3_key_over_1024_bytes", "detail.object.key"),
    ("s3_etag_header_injection", "detail.object.etag"),
    ("s3_version_id_list", "detail.object.version-id"),
    ("s3_object_not_object", "detail.object"),
    ("s3_detail_list", "detail"),
])
def test_each_recorded_bad_upload_event_is_ignored_by_name(
    triggered: str, sfn: SFNClient, lambda_context: FakeLambdaContext, name: str, field: str,
) -> None:
    event = hostile(name)
    with pytest.raises(triggers.MalformedUpload, match=field.replace(".", r"\.")):
        triggers.parse_object_created(event)

    resp = trigger_app.handler(event, lambda_context)

    assert resp == {"started": [], "ignored": ["malformed event"], "errors": []}
    assert sfn.list_executions(stateMachineArn=triggered)["executions"] == []


def test_any_broken_upload_event_starts_nothing_or_what_it_names(
    triggered: str, sfn: SFNClient, s3: S3Client, bucket: str,
    lambda_context: FakeLambdaContext, load_event: Load,
) -> None:
    original = upload_event(load_event, s3, bucket, "rnaseq/raw/S1.fastq.gz")

    @FUZZ
    @given(event=mutated(original))
    def broken(event: Any) -> None:
        before = len(sfn.list_executions(stateMachineArn=triggered)["executions"])
        try:
            upload = triggers.parse_object_created(event)
        except triggers.MalformedUpload:
            upload = None

        resp = trigger_app.handler(event, lambda_context)

        after = len(sfn.list_executions(stateMachineArn=triggered)["executions"])
        assert set(resp) == {"started", "ignored", "errors"}
        if upload is None:
            assert resp == {"started": [], "ignored": ["malformed event"], "errors": []}
            assert after == before
        else:
            assert after - before <= len(resp["started"]) <= 1

    broken()


def test_duplicate_upload_while_the_run_goes_on_is_not_a_new_start(
    triggered: str, sfn: SFNClient, s3: S3Client, bucket: str,
    lambda_context: FakeLambdaContext, load_event: Load, capsys: pytest.CaptureFixture[str],
) -> None:
    event = upload_event(load_event, s3, bucket, "rnaseq/raw/S1.fastq.gz")

    first = trigger_app.handler(event, lambda_context)
    started = capsys.readouterr().out
    again = trigger_app.handler(event, lambda_context)  # the run is still RUNNING
    repeated = capsys.readouterr().out

    [run] = sfn.list_executions(stateMachineArn=triggered)["executions"]
    assert run["status"] == "RUNNING"
    assert first["started"] == again["started"] == [run["name"]]
    assert metric_values(started) == {"ExecutionsStarted": 1.0}
    assert metric_values(repeated) == {"DuplicateUploads": 1.0}


def metric_values(out: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            for block in doc["_aws"]["CloudWatchMetrics"]:
                for metric in block["Metrics"]:
                    value = doc[metric["Name"]]
                    found[metric["Name"]] = found.get(metric["Name"], 0) + (
                        sum(value) if isinstance(value, list) else value)
    return found


# Check requests --------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", ["not-a-uri", "s3://", "", "s3:///prefix"])
def test_a_check_request_with_a_non_uri_bucket_is_a_bad_request(
    aws: None, lambda_context: FakeLambdaContext, bucket: str
) -> None:
    check_app._s3.cache_clear()
    event = hostile("check_request_bucket_not_uri")
    event["job"]["bucket"] = bucket

    with pytest.raises(BadCheckRequest, match="bucket"):
        check_app.handler(event, lambda_context)
