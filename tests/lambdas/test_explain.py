"""Failures as one readable line; a Map block's failures as one summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stagekit import request

from orchestrator_runtime.explain import explain, summarize


def explain_request(error: Any) -> Any:
    return request("explain", sample={"sample_id": "S2"}, error=error)


Load = Callable[[str], dict[str, Any]]


def test_failed_batch_job_explained_from_the_sync_task_cause(load_event: Load) -> None:
    resp = explain(explain_request(load_event("catch_batch_job_failed")))

    assert resp == {
        "error": "States.TaskFailed",
        "cause": "stage qc, sample S2 failed after 3 attempts: Essential container in task "
                 "exited (exit code 1); log stream rnaseq-qc/default/cccc3333; "
                 "job 4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    }


def test_describe_jobs_spelling_is_read_too(load_event: Load) -> None:
    detail = load_event("batch_job_failed")["detail"]
    error = {"Error": "States.TaskFailed", "Cause": json.dumps(detail)}

    cause = explain(explain_request(error))["cause"]

    assert cause.startswith("stage qc, sample S2 failed after 3 attempts")
    assert "exit code 1" in cause


def test_out_of_memory_gets_a_hint() -> None:
    job = {"Status": "FAILED", "JobId": "j-1", "StatusReason": "Essential container in task exited",
           "Attempts": [{"Container": {"ExitCode": 137, "Reason": "OutOfMemoryError: Container "
                                       "killed due to memory usage", "LogStreamName": "s/1"}}]}

    cause = explain(explain_request({"Error": "States.TaskFailed", "Cause": json.dumps(job)}))[
        "cause"]

    assert "OutOfMemoryError" in cause
    assert "raise the job's memory" in cause


def test_lambda_error_keeps_its_own_message(load_event: Load) -> None:
    resp = explain(explain_request(load_event("catch_lambda_error")))

    assert resp["error"] == "StageOutputsMissing"
    assert resp["cause"] == ("stage qc, sample S2: 1 of 1 outputs missing: "
                             "s3://orchestrator-demo/rnaseq/qc/S2.tsv; marker absent")


def test_once_stage_timeout_with_plain_text_cause() -> None:
    req = request("explain", once=True, error={"Error": "States.Timeout", "Cause": ""})

    assert explain(req)["cause"] == "stage qc: States.Timeout"


@pytest.mark.parametrize("error", [
    None, "just a string", {"Error": 5, "Cause": {"deeply": ["odd"]}},
    {"Error": "States.TaskFailed", "Cause": '{"Status": "FAILED", "Attempts": "many"}'},
    {"Error": "States.TaskFailed", "Cause": "x" * 5000},
])
def test_garbage_never_raises_and_stays_short(error: Any) -> None:
    resp = explain(explain_request(error))

    assert isinstance(resp["cause"], str) and resp["cause"]
    assert len(resp["cause"]) <= 600


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
KEYS = ["status", "Status", "jobId", "JobId", "attempts", "Attempts", "container", "Container",
        "statusReason", "reason", "exitCode", "logStreamName", "errorMessage", "errorType"]
# Documents shaped like what services put in a Cause, with any values in the known fields.
SHAPED = st.recursive(
    JSON, lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=6), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(error=st.text(max_size=30) | JSON,
       cause=SHAPED.map(json.dumps) | SHAPED | st.text(max_size=200))
def test_any_caught_error_is_explained_without_raising(error: Any, cause: Any) -> None:
    resp = explain(explain_request({"Error": error, "Cause": cause}))

    assert isinstance(resp["error"], str) and resp["cause"].startswith("stage qc, sample S2")


def test_a_cause_nested_deeper_than_the_json_parser_is_shortened_text() -> None:
    cause = "[" * 100_000 + "]" * 100_000

    resp = explain(explain_request({"Error": "States.TaskFailed", "Cause": cause}))

    assert resp["cause"].startswith("stage qc, sample S2: States.TaskFailed: [[[")
    assert len(resp["cause"]) <= 600


def test_summary_names_failed_samples_with_stage_and_cause() -> None:
    results = [
        {"sample": "S1", "status": "SUCCEEDED"},
        {"sample": "S2", "status": "FAILED", "stage": "align",
         "cause": "stage align, sample S2 failed after 3 attempts: exit code 1"},
        {"check": {"complete": True}},  # a successful iteration's ordinary output
        {"sample": "S7", "status": "FAILED", "stage": "count", "cause": "StageOutputsMissing"},
    ]

    resp = summarize(request("summarize", results=results, block="per_sample"))

    assert resp == {"total": 4, "failed": 2, "cause": (
        "2 of 4 samples failed: S2 (align: failed after 3 attempts: exit code 1); "
        "S7 (count: StageOutputsMissing)")}


def test_summary_finds_the_stage_in_the_explained_cause() -> None:
    results = [{"sample": "S2", "status": "FAILED",  # what the compiled Map iteration ends with
                "cause": "stage check, sample S2 failed after 3 attempts: exit code 3"}]

    resp = summarize(request("summarize", results=results))

    assert resp["cause"] == "1 of 1 sample failed: S2 (check: failed after 3 attempts: exit code 3)"


def test_summary_of_many_failures_stays_bounded() -> None:
    results = [{"sample": f"S{i}", "status": "FAILED", "stage": "qc", "cause": "boom " * 100}
               for i in range(50)]

    resp = summarize(request("summarize", results=results))

    assert resp["failed"] == 50
    assert resp["cause"].endswith("and 40 more")
    assert len(resp["cause"]) < 3000


def test_summary_without_failures_has_no_cause() -> None:
    resp = summarize(request("summarize", results=[{"sample": "S1", "status": "SUCCEEDED"}]))

    assert resp == {"total": 1, "failed": 0, "cause": ""}


def test_summary_names_each_failed_sample_from_its_row_whatever_the_row() -> None:
    rows = [{"sample_id": "S1"}, {"name": "S2"}, "S3", {"sample_id": "S4"}]
    error = {"Error": "StageFailed", "Cause": "stage qc, sample S4: 1 of 1 outputs missing"}
    results = [{"index": 0, "status": "SUCCEEDED"},
               {"index": 1, "status": "FAILED", "error": {"Error": "StageFailed",
                                                          "Cause": "stage qc: no column"}},
               {"index": 2, "status": "FAILED", "error": {"Error": "StageFailed"}},
               {"index": 3, "status": "FAILED", "error": error}]

    resp = summarize({"action": "summarize", "results": results, "samples": rows,
                      "sample_column": "sample_id"})

    assert resp["failed"] == 3 and resp["total"] == 4
    assert resp["cause"] == ("3 of 4 samples failed: samples[1] (qc: no column); "
                             "samples[2] (?: StageFailed); S4 (qc: 1 of 1 outputs missing)")


def shared_request(check: Any) -> Any:
    """What a scope's shared "Explain the failure" state sends: no stage, the stage's
    ``$.check`` (orchestrator.compiler.scope)."""
    req = request("explain", sample={"sample_id": "S2"}, check=check)
    del req["stage"], req["job"]
    return req


def test_a_shared_explain_reads_the_stage_and_the_error_from_the_check(
        load_event: Load) -> None:
    error = load_event("catch_batch_job_failed")
    check = {"complete": False, "submit": {"JobName": "x"}, "stage": "trim", "spec": "ab",
             "error": error}

    resp = explain(shared_request(check))

    assert resp["cause"].startswith("stage trim, sample S2 failed after 3 attempts")


def test_a_failed_check_is_named_from_the_check_functions_message() -> None:
    # the check state's own error replaces $.check; the handler began its message with the
    # stage (lambdas/check_outputs/app.py: name_the_stage)
    cause = {"errorMessage": "stage trim: the sample row has no column 'sample_id'",
             "errorType": "BadCheckRequest"}
    check = {"Error": "BadCheckRequest", "Cause": json.dumps(cause)}

    resp = explain(shared_request(check))

    assert resp == {"error": "BadCheckRequest", "cause": (
        "stage trim, sample S2: BadCheckRequest: the sample row has no column 'sample_id'")}


def test_a_failed_check_without_a_stage_in_its_message_is_a_stage_not_the_run() -> None:
    check = {"Error": "Lambda.Unknown", "Cause": "The function timed out"}

    resp = explain(shared_request(check))

    assert resp["cause"] == "a stage, sample S2: Lambda.Unknown: The function timed out"


@settings(max_examples=200, deadline=None)
@given(check=SHAPED | st.dictionaries(st.sampled_from(["stage", "error", "Error", "Cause"]),
                                      SHAPED | st.text(max_size=20), max_size=4))
def test_any_check_is_explained_without_raising(check: Any) -> None:
    resp = explain(shared_request(check))

    assert isinstance(resp["error"], str) and isinstance(resp["cause"], str) and resp["cause"]
