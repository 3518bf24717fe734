"""The job-state table under at-least-once, out-of-order delivery."""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_runtime import contracts, jobstate, limits
from orchestrator_runtime.events import CAUSE_LIMIT, JobEvent, MalformedEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Load = Callable[[str], dict[str, Any]]
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rnaseq:rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
IN_ORDER = ["batch_job_submitted", "batch_job_runnable", "batch_job_starting",
            "batch_job_running", "batch_job_succeeded"]
_RUNNING = json.loads((Path(__file__).parents[1] / "fixtures/events/batch_job_running.json")
                      .read_text())


def apply_all(table: Table, events: list[dict[str, Any]]) -> list[jobstate.Outcome]:
    return [jobstate.handle_event(table, e, now=NOW) for e in events]


def counters(row: dict[str, Any] | None) -> dict[str, int]:
    return {k: v for k, v in (row or {}).items() if k.startswith("n_") and v}


def test_in_order_stream_leaves_a_complete_row(table: Table, load_event: Load) -> None:
    outcomes = apply_all(table, [load_event(n) for n in IN_ORDER])

    execution, jobs = jobstate.read_execution(table, EXECUTION)
    assert all(o.applied for o in outcomes)
    assert counters(execution) == {"n_SUCCEEDED": 1}
    assert execution is not None and execution["workflow"] == "rnaseq"
    [row] = jobs
    assert row["sk"] == contracts.job_sk("qc", "S2")
    assert {k: row[k] for k in ("workflow", "stage", "sample", "status", "attempts", "exit_code",
                                "log_stream", "job_id", "job_name")} == {
        "workflow": "rnaseq", "stage": "qc", "sample": "S2", "status": "SUCCEEDED",
        "attempts": 1, "exit_code": 0, "log_stream": "rnaseq-qc/default/8f2e1d0c9b8a4f6e",
        "job_id": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8", "job_name": "rnaseq-qc-S2"}
    assert row["created_at"] == "2022-01-11T23:36:40.058Z"
    assert row["started_at"] == "2022-01-11T23:37:05.000Z"
    assert row["stopped_at"] == "2022-01-11T23:38:10.000Z"
    event_time = datetime(2022, 1, 11, 23, 38, 10, tzinfo=UTC)
    assert row["expires_at"] == int((event_time + timedelta(days=30)).timestamp())
    assert outcomes[-1].duration_seconds == 65.0


def test_late_running_never_overwrites_succeeded(table: Table, load_event: Load) -> None:
    apply_all(table, [load_event("batch_job_succeeded")])

    [late] = apply_all(table, [load_event("batch_job_running")])

    assert late.applied is False
    execution, [row] = jobstate.read_execution(table, EXECUTION)
    assert row["status"] == "SUCCEEDED"
    assert counters(execution) == {"n_SUCCEEDED": 1}


def test_duplicate_event_changes_nothing(table: Table, load_event: Load) -> None:
    apply_all(table, [load_event("batch_job_running")])
    before = jobstate.read_execution(table, EXECUTION)

    [again] = apply_all(table, [load_event("batch_job_running")])

    assert again.applied is False
    assert jobstate.read_execution(table, EXECUTION) == before


def test_failed_job_records_the_last_attempt(table: Table, load_event: Load) -> None:
    apply_all(table, [load_event("batch_job_running"), load_event("batch_job_failed")])

    execution, [row] = jobstate.read_execution(table, EXECUTION)

    assert (row["status"], row["attempts"], row["exit_code"]) == ("FAILED", 3, 1)
    assert row["log_stream"] == "rnaseq-qc/default/cccc3333"
    assert counters(execution) == {"n_FAILED": 1}


def test_failed_job_keeps_every_attempts_times_reason_and_log(
        table: Table, load_event: Load) -> None:
    apply_all(table, [load_event("batch_job_running"), load_event("batch_job_failed")])

    _, [row] = jobstate.read_execution(table, EXECUTION)

    assert row["attempt_details"] == [
        {"started_at": f"2022-01-11T23:{start}.000Z", "stopped_at": f"2022-01-11T23:{stop}.000Z",
         "exit_code": 1, "status_reason": "Essential container in task exited",
         "log": f"rnaseq-qc/default/{stream}"}
        for start, stop, stream in (("37:05", "37:20", "aaaa1111"),
                                    ("38:20", "38:35", "bbbb2222"),
                                    ("39:40", "39:55", "cccc3333"))]


def test_a_row_with_the_most_attempts_and_longest_text_stays_small(
        table: Table, load_event: Load) -> None:
    """Batch lists at most 10 attempts; free text is cut like the job's own reason, so the
    row stays far below DynamoDB's item limit however verbose the reasons."""
    event = load_event("batch_job_failed")
    attempt = event["detail"]["attempts"][0]
    attempt["statusReason"] = "r" * 50_000
    attempt["container"].update(reason="c" * 50_000, logStreamName="s" * 512)
    event["detail"]["attempts"] = [copy.deepcopy(attempt)
                                   for _ in range(limits.BATCH_ATTEMPTS_MAX)]
    apply_all(table, [event])

    _, [row] = jobstate.read_execution(table, EXECUTION)

    assert len(row["attempt_details"]) == limits.BATCH_ATTEMPTS_MAX
    assert {len(a["status_reason"]) for a in row["attempt_details"]} == {CAUSE_LIMIT}
    assert {len(a["container_reason"]) for a in row["attempt_details"]} == {CAUSE_LIMIT}
    assert len(json.dumps(row)) < limits.DYNAMODB_ITEM_BYTES / 10
    event["detail"]["attempts"].append(attempt)
    with pytest.raises(MalformedEvent, match="lists 11 attempts"):
        jobstate.parse_event(event)


def test_jobs_of_other_stacks_are_ignored(table: Table, load_event: Load) -> None:
    [outcome] = apply_all(table, [load_event("batch_job_foreign")])

    assert outcome.kind == "ignored"
    assert table.scan()["Items"] == []


def _broken(load_event: Load, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = load_event("batch_job_running")
    change(event)
    return event


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.pop("detail"), "detail"),
    (lambda e: e["detail"].update(status="EXPLODED"), "detail.status"),
    (lambda e: e["detail"].update(attempts="three"), "detail.attempts"),
    (lambda e: e["detail"]["container"].update(exitCode="1"), "exitCode"),
    (lambda e: e["detail"].update(startedAt="yesterday"), "detail.startedAt"),
    (lambda e: e["detail"]["tags"].pop(contracts.TAG_STAGE), "orchestrator:stage"),
    (lambda e: e.update(time="not a time"), "event time"),
    (lambda e: e["detail"].pop("jobId"), "detail.jobId"),
    (lambda e: e["detail"]["attempts"].append({"startedAt": "yesterday"}),
     "detail.attempts[0].startedAt"),
    (lambda e: e["detail"]["attempts"].append({"container": {"logStreamName": "x" * 513}}),
     "detail.attempts[0].container.logStreamName"),
])
def test_malformed_events_are_rejected_naming_the_field(
    table: Table, load_event: Load, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    with pytest.raises(MalformedEvent, match=re.escape(field)):
        jobstate.handle_event(table, _broken(load_event, change))
    assert table.scan()["Items"] == []


def test_execution_status_is_kept_and_late_running_ignored(
    table: Table, load_event: Load
) -> None:
    applied = [o.applied for o in apply_all(table, [
        load_event("sfn_execution_running"), load_event("sfn_execution_failed"),
        load_event("sfn_execution_running")])]

    execution, _ = jobstate.read_execution(table, EXECUTION)
    assert applied == [True, True, False]
    assert execution is not None
    assert execution["status"] == "FAILED"
    assert execution["workflow"] == "rnaseq"
    assert execution["start_date"] == "2022-01-11T23:36:39.000Z"
    assert execution["stop_date"] == "2022-01-11T23:40:01.000Z"
    assert execution["error"] == "SamplesFailed"


def test_skipped_stage_counts_once_however_often_recorded(table: Table) -> None:
    for _ in range(2):
        jobstate.record_skipped(table, EXECUTION, "rnaseq", "qc", "S1")

    execution, [row] = jobstate.read_execution(table, EXECUTION)
    assert row["status"] == "SKIPPED"
    assert counters(execution) == {"n_SKIPPED": 1}


def test_concurrent_writer_is_detected_and_counters_stay_exact(
    table: Table, load_event: Load
) -> None:
    apply_all(table, [load_event("batch_job_runnable")])
    raced = {"done": False}

    def another_writer_gets_there_first(**_: Any) -> None:
        if not raced["done"]:
            raced["done"] = True
            jobstate.handle_event(table, load_event("batch_job_running"), now=NOW)

    table.meta.client.meta.events.register(
        "before-call.dynamodb.TransactWriteItems", another_writer_gets_there_first)

    [outcome] = apply_all(table, [load_event("batch_job_succeeded")])

    execution, [row] = jobstate.read_execution(table, EXECUTION)
    assert outcome.applied and raced["done"]
    assert row["status"] == "SUCCEEDED"
    assert counters(execution) == {"n_SUCCEEDED": 1}


def stream(retries: int, failed: bool, gaps: list[int]) -> list[dict[str, Any]]:
    """One job's true event stream: retries re-enter RUNNABLE with one more attempt."""
    statuses = [("SUBMITTED", 0), ("RUNNABLE", 0), ("STARTING", 0), ("RUNNING", 0)]
    for attempt in range(1, retries + 1):
        statuses += [("RUNNABLE", attempt), ("STARTING", attempt), ("RUNNING", attempt)]
    statuses.append(("FAILED" if failed else "SUCCEEDED", retries + 1))
    when = datetime(2022, 1, 11, 23, 0, tzinfo=UTC)
    events = []
    for (status, attempts), gap in zip(statuses, itertools.cycle(gaps), strict=False):
        when += timedelta(seconds=gap)
        event = copy.deepcopy(_RUNNING)
        event["time"] = when.isoformat().replace("+00:00", "Z")
        event["detail"]["status"] = status
        event["detail"]["attempts"] = [
            {"container": {"exitCode": 1 if failed or n < retries else 0,
                           "logStreamName": f"qc/default/{n}"}} for n in range(attempts)]
        events.append(event)
    return events


def test_any_duplication_and_reordering_converges(aws: None) -> None:
    dynamodb = boto3.resource("dynamodb")
    runs = itertools.count()

    @settings(max_examples=30, deadline=None)
    @given(retries=st.integers(0, 2), failed=st.booleans(),
           gaps=st.lists(st.integers(0, 2), min_size=1, max_size=4), data=st.data())
    def converges(retries: int, failed: bool, gaps: list[int], data: st.DataObject) -> None:
        events = stream(retries, failed, gaps)
        extra = data.draw(st.lists(st.sampled_from(range(len(events))), max_size=6))
        order = data.draw(st.permutations([*range(len(events)), *extra]))
        # A table per example: moto copies every table on each transaction.
        table = jobstate.create_table(dynamodb, f"converges-{next(runs)}")
        results = []
        for arn, sequence in ((f"{EXECUTION}-in-order", range(len(events))),
                              (f"{EXECUTION}-shuffled", order)):
            for i in sequence:
                event = copy.deepcopy(events[i])
                event["detail"]["tags"][contracts.TAG_EXECUTION] = arn
                jobstate.handle_event(table, event, now=NOW)
            execution, [row] = jobstate.read_execution(table, arn)
            results.append(({k: v for k, v in row.items() if k != "pk"}, counters(execution)))
        table.delete()
        assert results[0] == results[1]
        assert results[0][1] == {f"n_{'FAILED' if failed else 'SUCCEEDED'}": 1}

    converges()


CONSOLE_ARN = "arn:aws:states:us-east-1:123456789012:execution:rnaseq:rnaseq(re-run)!-l'été"


def test_a_job_tagged_for_a_console_named_run_lands_on_that_run_s_row(
        table: Table, load_event: Load) -> None:
    event = load_event("batch_job_running_console_name")
    tag = event["detail"]["tags"][contracts.TAG_EXECUTION]
    assert tag != CONSOLE_ARN and tag == contracts.execution_tag(CONSOLE_ARN)
    assert jobstate.handle_event(table, event, now=NOW).applied
    _, rows = jobstate.read_execution(table, CONSOLE_ARN)
    assert [(r["stage"], r["sample"], r["status"]) for r in rows] == [("qc", "S2", "RUNNING")]


def test_a_sanitised_tag_without_the_task_uri_is_a_named_error(load_event: Load) -> None:
    event = load_event("batch_job_running_console_name")
    event["detail"]["container"]["environment"] = []
    with pytest.raises(MalformedEvent, match=r"orchestrator:execution.*ORCH_TASK_URI"):
        jobstate.parse_event(event)


def test_applying_only_what_a_batch_does_not_supersede_leaves_the_same_table(
        aws: None) -> None:
    """jobstate.superseded: the job-events function acknowledges the events another event
    of the same SQS batch supersedes without writing them. Whatever the batch (two jobs'
    streams, duplicated, shuffled, after any events already applied), the rows and counters
    end as they do when every event is applied."""
    dynamodb = boto3.resource("dynamodb")
    runs = itertools.count()

    @settings(max_examples=30, deadline=None)
    @given(retries=st.integers(0, 2), failed=st.booleans(),
           gaps=st.lists(st.integers(0, 2), min_size=1, max_size=4), data=st.data())
    def same(retries: int, failed: bool, gaps: list[int], data: st.DataObject) -> None:
        events = []
        for sample in ("S1", "S2"):
            for event in stream(retries, failed and sample == "S2", gaps):
                event["detail"]["tags"][contracts.TAG_SAMPLE] = sample
                events.append(event)
        extra = data.draw(st.lists(st.sampled_from(range(len(events))), max_size=6))
        order = data.draw(st.permutations([*range(len(events)), *extra]))
        before = data.draw(st.integers(0, len(order)))  # applied by earlier batches
        table = jobstate.create_table(dynamodb, f"superseded-{next(runs)}")
        results = []
        for arn, whole in ((f"{EXECUTION}-all", True), (f"{EXECUTION}-batched", False)):
            read = []
            for i in order:
                event = copy.deepcopy(events[i])
                event["detail"]["tags"][contracts.TAG_EXECUTION] = arn
                read.append(jobstate.read_event(event))
            for one in read[:before]:
                jobstate.apply_read(table, one, now=NOW)
            batch = dict(enumerate(read[before:]))
            skipped = {} if whole else jobstate.superseded(
                {k: v for k, v in batch.items() if isinstance(v, JobEvent)})
            for key, one in batch.items():
                if key not in skipped:
                    jobstate.apply_read(table, one, now=NOW)
            execution, rows = jobstate.read_execution(table, arn)
            results.append(([{k: v for k, v in r.items() if k != "pk"} for r in rows],
                            counters(execution)))
        table.delete()
        assert results[0] == results[1]

    same()


def test_a_batch_holding_a_job_s_whole_life_writes_once(load_event: Load) -> None:
    events = [jobstate.read_event(load_event(n)) for n in IN_ORDER]
    jobs = {i: e for i, e in enumerate(events) if isinstance(e, JobEvent)}

    skipped = jobstate.superseded(jobs)

    assert set(jobs) - set(skipped) == {len(IN_ORDER) - 1}  # the SUCCEEDED event alone
    assert {e.status for e in skipped.values()} == {"SUCCEEDED"}
