"""Each Lambda handler end to end: real event payloads in, moto behind, a fake context."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from stagekit import EXECUTION, PREFIX, job, put, request

from orchestrator_lambdas.check_outputs import app as check_app
from orchestrator_lambdas.job_events import app as events_app
from orchestrator_lambdas.s3_trigger import app as trigger_app
from orchestrator_runtime import contracts, jobstate, triggers
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from conftest import FakeLambdaContext
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

Load = Callable[[str], dict[str, Any]]
FIXTURE_EXECUTION = (
    "arn:aws:states:us-east-1:123456789012:execution:rnaseq:rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d")


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Handlers cache their clients per container; each test gets its own moto world."""
    caches = [check_app._s3, check_app._table, check_app._batch, events_app._table,
              trigger_app._clients, trigger_app._triggers]
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines the handlers write (their stream is bound at import time)."""
    buffer = io.StringIO()
    for module in (check_app, events_app, trigger_app):
        monkeypatch.setattr(module.logger.registered_handler, "stream", buffer)
    return lambda: emitted(buffer.getvalue())


def emitted(out: str) -> list[dict[str, Any]]:
    docs = []
    for line in out.splitlines():
        try:
            docs.append(json.loads(line))
        except ValueError:
            continue
    return docs


def metric_names(out: str) -> set[str]:
    return {m["Name"] for d in emitted(out) if "_aws" in d
            for block in d["_aws"]["CloudWatchMetrics"] for m in block["Metrics"]}


def test_check_handler_answers_pre_and_logs_the_stage(
    s3: S3Client, bucket: str, table: Table, lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    monkeypatch.setenv("TABLE_NAME", table.name)
    put(s3, f"{PREFIX}/raw/S1.fq", b"reads")

    resp = check_app.handler(request(), lambda_context)

    assert resp["status"] == "missing" and resp["task_uri"].startswith(PREFIX)
    [line] = [d for d in logs() if d.get("message") == resp["reason"]]
    assert (line["stage"], line["sample"], line["execution"]) == ("qc", "S1", EXECUTION)
    assert "StageMissing" in metric_names(capsys.readouterr().out)


def test_check_handler_rejects_a_malformed_request_by_name(
    aws: None, lambda_context: FakeLambdaContext
) -> None:
    bad = request()
    bad["job"]["command"] = "count reads"

    with pytest.raises(BadCheckRequest, match=r"CheckRequest\.job\.command"):
        check_app.handler(bad, lambda_context)


def test_check_handler_errors_begin_with_the_stage_they_are_about(
    aws: None, lambda_context: FakeLambdaContext
) -> None:
    # a failed "Check x" state hands its error to the scope's shared explain state, which
    # reads the stage from this message (orchestrator_runtime.explain)
    with pytest.raises(BadCheckRequest) as caught:
        check_app.handler(request(sample={"name": "S2"}), lambda_context)
    assert str(caught.value).startswith("stage qc: the sample row has no column 'sample_id'")
    bad = request()
    bad["job"]["command"] = "count reads"
    with pytest.raises(BadCheckRequest) as named:  # named already: left as it is
        check_app.handler(bad, lambda_context)
    assert str(named.value).startswith("stage qc: CheckRequest.job.command")


def test_check_handler_raises_the_contract_error_after_an_empty_job(
    s3: S3Client, bucket: str, lambda_context: FakeLambdaContext
) -> None:
    put(s3, f"{PREFIX}/raw/S1.fq", b"reads")

    with pytest.raises(Exception) as caught:
        check_app.handler(request("post"), lambda_context)

    assert type(caught.value).__name__ == contracts.ERR_OUTPUTS_MISSING  # Step Functions' name


def _registered(spec: contracts.StageSpec) -> str:
    """A job definition holding ``spec``, as the template registers it; its ARN."""
    import boto3

    return boto3.client("batch", region_name="us-east-1").register_job_definition(
        jobDefinitionName="rnaseq-qc", type="container",
        containerProperties={"image": "python:3.12-slim", "command": ["orchestrator-runner"],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                      {"type": "MEMORY", "value": "512"}]},
        parameters={contracts.SPEC_PARAMETER: contracts.canonical_json(spec)},
        tags={contracts.TAG_SPEC: contracts.spec_digest(spec)})["jobDefinitionArn"]


def _by_reference(arn: str, digest: str, **changes: Any) -> Any:
    event = request(**changes)
    del event["job"]
    return event | {"job_definition": arn, "spec": digest}


def test_check_handler_reads_the_spec_from_the_job_definition_and_prepares_the_submission(
    s3: S3Client, bucket: str, lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(contracts.JOB_QUEUE_ENV, "arn:aws:batch:us-east-1:1:job-queue/q")
    put(s3, f"{PREFIX}/raw/S1.fq", b"reads")
    spec: contracts.StageSpec = {"job": job(), "param_defaults": {"genome": "GRCh38"}}
    arn = _registered(spec)

    resp = check_app.handler(_by_reference(arn, contracts.spec_digest(spec)), lambda_context)

    assert resp["status"] == "missing"
    task_bucket, task_key = contracts.split_uri(resp["task_uri"])
    task = json.loads(s3.get_object(Bucket=task_bucket, Key=task_key)["Body"].read())
    assert task["command"] == job()["command"]  # the job definition's spec, resolved
    submit = resp["submit"]
    assert (submit["JobQueue"], submit["JobDefinition"]) == (
        "arn:aws:batch:us-east-1:1:job-queue/q", arn)
    assert submit["ContainerOverrides"] == {"Environment": [
        {"Name": contracts.TASK_ENV, "Value": resp["task_uri"]}]}
    assert submit["Tags"] == {
        contracts.TAG_WORKFLOW: "rnaseq", contracts.TAG_STAGE: "qc",
        contracts.TAG_EXECUTION: contracts.execution_tag(EXECUTION), contracts.TAG_SAMPLE: "S1"}
    assert submit["JobName"] == resp["job_name"]


def test_check_handler_refuses_a_job_definition_from_another_deployment(
    s3: S3Client, bucket: str, lambda_context: FakeLambdaContext,
) -> None:
    spec: contracts.StageSpec = {"job": job(), "param_defaults": {}}
    arn = _registered(spec)
    newer: contracts.StageSpec = {"job": job(command=["count", "--fast"]), "param_defaults": {}}

    with pytest.raises(Exception) as caught:
        check_app.handler(_by_reference(arn, contracts.spec_digest(newer)), lambda_context)

    assert type(caught.value).__name__ == "StageSpecMismatch"
    assert "different deployments" in str(caught.value) and arn in str(caught.value)


def test_check_handler_checks_the_spec_it_reads_as_it_checks_an_inline_one(
    s3: S3Client, bucket: str, lambda_context: FakeLambdaContext,
) -> None:
    spec: Any = {"job": job(command="count reads"), "param_defaults": {}}
    arn = _registered(spec)

    with pytest.raises(BadCheckRequest, match=r"stage qc: job definition spec\.command"):
        check_app.handler(_by_reference(arn, contracts.spec_digest(spec)), lambda_context)


def test_check_handler_explains_without_aws(
    lambda_context: FakeLambdaContext, load_event: Load
) -> None:
    event = request("explain", sample={"sample_id": "S2"}, error=load_event("catch_lambda_error"))

    resp = check_app.handler(event, lambda_context)

    assert resp["error"] == "StageOutputsMissing"
    assert resp["cause"].startswith("stage qc, sample S2: 1 of 1 outputs missing")


def test_check_models_keep_step_with_the_contract() -> None:
    assert set(check_app.CheckRequestModel.model_fields) == set(
        contracts.CheckRequest.__annotations__)
    assert set(check_app.JobSpecModel.model_fields) == set(contracts.JobSpec.__annotations__)


def test_sqs_batch_reports_only_the_bad_records(
    table: Table, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch,
    load_event: Load, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TABLE_NAME", table.name)
    batch = load_event("sqs_batch_job_events")
    good = batch["Records"][0]
    unknown_status = load_event("batch_job_running")
    unknown_status["detail"]["status"] = "WEIRD"
    batch["Records"] += [dict(good, messageId="bad-json", body="{not json"),
                         dict(good, messageId="bad-status", body=json.dumps(unknown_status)),
                         dict(good, messageId="foreign",
                              body=json.dumps(load_event("batch_job_foreign")))]

    resp = events_app.handler(batch, lambda_context)

    assert resp == {"batchItemFailures": [{"itemIdentifier": "bad-json"},
                                          {"itemIdentifier": "bad-status"}]}
    execution, [row] = jobstate.read_execution(table, FIXTURE_EXECUTION)
    assert row["status"] == "SUCCEEDED"
    assert execution is not None and execution["n_SUCCEEDED"] == 1
    names = metric_names(capsys.readouterr().out)
    assert {"JobStatusChanges", "JobDuration", "MalformedEvents", "IgnoredEvents"} <= names


def test_a_batch_with_a_job_s_whole_life_writes_its_row_once(
    table: Table, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch,
    load_event: Load, logs: Callable[[], list[dict[str, Any]]],
) -> None:
    """The events of one job that a later one in the same batch supersedes are acknowledged
    without a write (on AWS: a short job's changes within the 5 s batching window)."""
    monkeypatch.setenv("TABLE_NAME", table.name)
    written: list[str] = []
    apply_job_event = jobstate.apply_job_event

    def counted(table: Table, event: Any, **kwargs: Any) -> jobstate.Outcome:
        written.append(event.status)
        return apply_job_event(table, event, **kwargs)

    monkeypatch.setattr(jobstate, "apply_job_event", counted)
    record = load_event("sqs_batch_job_events")["Records"][0]
    names = ["batch_job_running", "batch_job_succeeded", "batch_job_runnable",
             "batch_job_starting", "batch_job_running"]  # out of order, one twice
    batch = {"Records": [dict(record, messageId=f"m{i}", body=json.dumps(load_event(n)))
                         for i, n in enumerate(names)]}

    resp = events_app.handler(batch, lambda_context)

    assert resp == {"batchItemFailures": []}  # all acknowledged
    assert written == ["SUCCEEDED"]
    execution, [row] = jobstate.read_execution(table, FIXTURE_EXECUTION)
    assert row["status"] == "SUCCEEDED"
    assert execution is not None and execution["n_SUCCEEDED"] == 1
    assert not any(v for k, v in execution.items() if k.startswith("n_") and k != "n_SUCCEEDED")
    said = [d["message"] for d in logs() if "superseded by SUCCEEDED" in str(d.get("message"))]
    assert len(said) == 4


def test_sqs_batch_of_only_malformed_records_does_not_crash(
    table: Table, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch,
    load_event: Load,
) -> None:
    monkeypatch.setenv("TABLE_NAME", table.name)
    record = load_event("sqs_batch_job_events")["Records"][0]

    resp = events_app.handler({"Records": [dict(record, body="[]")]}, lambda_context)

    assert resp == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


@pytest.mark.parametrize("name", ["sfn_execution_running", "batch_job_running"])
def test_direct_eventbridge_events_are_applied(
    table: Table, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch,
    load_event: Load, name: str,
) -> None:
    monkeypatch.setenv("TABLE_NAME", table.name)

    resp = events_app.handler(load_event(name), lambda_context)

    execution, jobs = jobstate.read_execution(table, FIXTURE_EXECUTION)
    assert resp["applied"] is True
    assert execution is not None
    assert (execution.get("status"), [j["status"] for j in jobs]) in (
        ("RUNNING", []), (None, ["RUNNING"]))


@pytest.mark.parametrize("event", [{"detail-type": "Batch Job State Change",
                                    "source": "aws.batch"}, {"unexpected": True}])
def test_malformed_direct_event_is_reported_not_raised(
    table: Table, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch,
    event: dict[str, Any],
) -> None:
    monkeypatch.setenv("TABLE_NAME", table.name)

    resp = events_app.handler(event, lambda_context)

    assert resp["applied"] is False and resp["reason"]


def object_created(load_event: Load, s3: S3Client, bucket: str, key: str,
                   body: bytes) -> dict[str, Any]:
    event = load_event("s3_object_created")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update({"key": key, "etag": etag, "size": len(body)})
    del event["detail"]["object"]["version-id"]
    return event


def test_upload_handler_starts_a_run(
    triggered: str, sfn: SFNClient, s3: S3Client, bucket: str,
    lambda_context: FakeLambdaContext, load_event: Load,
) -> None:
    event = object_created(load_event, s3, bucket, "rnaseq/raw/S 7+b.fastq.gz", b"reads")

    resp = trigger_app.handler(event, lambda_context)

    [run] = sfn.list_executions(stateMachineArn=triggered)["executions"]
    assert resp["started"] == [run["name"]]
    started = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    assert started["samples"] == [{"sample_id": "S 7+b"}]  # the key is used as sent


def test_upload_handler_reports_a_bad_sheet(
    triggered: str, sfn: SFNClient, s3: S3Client, bucket: str,
    lambda_context: FakeLambdaContext, load_event: Load, capsys: pytest.CaptureFixture[str],
) -> None:
    event = object_created(load_event, s3, bucket, "rnaseq/sheets/run.csv", b"name\nS1\n")

    resp = trigger_app.handler(event, lambda_context)

    assert resp["started"] == [] and "no column 'sample_id'" in resp["errors"][0]
    assert "InvalidSampleSheets" in metric_names(capsys.readouterr().out)
    assert sfn.list_executions(stateMachineArn=triggered)["executions"] == []


def test_upload_handler_fails_loudly_on_a_broken_trigger_setting(
    s3: S3Client, bucket: str, lambda_context: FakeLambdaContext, load_event: Load,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIGGERS", '[{"workflow": "rnaseq"}]')
    event = object_created(load_event, s3, bucket, "rnaseq/raw/S1.fastq.gz", b"reads")

    with pytest.raises(triggers.TriggerConfigError, match=r"TRIGGERS\[0\]\.state_machine_arn"):
        trigger_app.handler(event, lambda_context)


@pytest.mark.parametrize("event", [{}, {"detail": "nope"}, ["not", "an", "object"]])
def test_upload_handler_survives_malformed_events(
    triggered: str, lambda_context: FakeLambdaContext, event: Any
) -> None:
    resp = trigger_app.handler(event, lambda_context)

    assert resp["started"] == [] and resp["ignored"] == ["malformed event"]


def test_disabled_metrics_print_nothing_for_job_events(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The local engine disables metrics: EMF lines on stdout would bury its progress display.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    outcome = jobstate.Outcome(kind="job", applied=True, workflow="w", stage="s",
                               status="SUCCEEDED", message="", duration_seconds=1.0)
    events_app._metrics(outcome)
    assert '"_aws"' not in capsys.readouterr().out
