"""The pure pieces behind `orchestrator status`/`watch`/`logs`: times, local run ids, the status
document, rows rebuilt from Batch jobs; and `watch`/`logs --follow` on a run that is still
going (a source whose run advances on every read)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docschemas import check
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.aws.errors import UsageError
from orchestrator.aws.runs import _camel, job_size, row_from_job
from orchestrator.cli import main, parser
from orchestrator.cli import status as status_cli
from orchestrator.cli.runsource import resolve_run, wants_local
from orchestrator.local.runrecord import RunRecord
from orchestrator.local.runs import LocalRuns, looks_local
from orchestrator.runs import Backend, Run, RunNotFound, RunSummary, count_rows, iso, parse_time
from orchestrator.runstatus import MISSING_MARK, status_doc
from orchestrator_runtime import contracts

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_times_in_every_shape_the_records_use_parse_to_the_same_instant(when: datetime
                                                                         ) -> None:
    when = when.replace(microsecond=0)
    assert parse_time(iso(when)) == when
    assert parse_time(when.strftime("%Y-%m-%dT%H:%M:%S%z")) == when  # older local records
    assert parse_time(int(when.timestamp() * 1000)) == when  # Batch's epoch millis
    assert parse_time(when.isoformat(timespec="milliseconds").replace("+00:00", "Z")) == when


def test_a_local_run_that_ends_within_its_first_second_lasted_more_than_nothing(
        tmp_path: Path) -> None:
    """A no-op re-run takes well under a second; its record said 0 s when it kept whole
    seconds."""
    record = RunRecord(tmp_path, "20261202-120000-abcdef", "wf", "wf.py")
    record.save()
    time.sleep(0.01)
    record.finish("SUCCEEDED")

    [run] = LocalRuns(tmp_path).list_runs()

    assert run.ended_at is not None and run.started_at is not None
    assert 0 < (run.duration_seconds() or 0) < 5


def test_bad_times_are_unknown_not_errors() -> None:
    assert parse_time("") is None and parse_time(None) is None and parse_time("soon") is None


@pytest.mark.parametrize(("run_id", "local"), [
    ("20261201-162511-f12651", True), ("rnaseq-0123456789abcdef01234567", False),
    ("arn:aws:states:us-east-1:1:execution:rnaseq:run-1", False), ("run-1", False)])
def test_local_run_ids_are_told_from_execution_names(run_id: str, local: bool) -> None:
    assert looks_local(run_id) is local


def row(stage: str, sample: str, status: str, attempts: int = 1, **more: Any
        ) -> dict[str, Any]:
    return {"stage": stage, "sample": sample, "status": status, "attempts": attempts,
            "started_at": iso(T0), "stopped_at": iso(T0 + timedelta(seconds=30)),
            "job_id": f"{stage}-{sample}", "source": "table", **more}


def make_run(rows: list[dict[str, Any]], status: str = "FAILED",
             backend: Backend = "aws") -> Run:
    return Run(RunSummary("r", "r", "wf", backend, status, T0, None if status == "RUNNING"
                          else T0 + timedelta(minutes=5), "cli", count_rows(rows)),
               tuple(rows), "/aws/batch/job")


def test_status_document_counts_reclaims_blocked_samples_and_missing_outputs() -> None:
    reclaimed = [{"status_reason": "Host EC2 (instance i-1) terminated.", "log": "a"},
                 {"status_reason": "Host EC2 (instance i-2) terminated.", "log": "b"},
                 {"status_reason": "Essential container in task exited", "log": "c"}]
    rows = [row("qc", "S1", "SUCCEEDED"), row("qc", "S2", "SUCCEEDED"),
            row("trim", "S1", "SUCCEEDED"),
            row("trim", "S2", "FAILED", 3, exit_code=3, attempt_details=reclaimed),
            row("count", "S1", "SUCCEEDED"), row("report", "_once", "SKIPPED", 0)]
    logs = {3: [f"x: {MISSING_MARK} trimmed/S2.fq.gz (empty)"]}
    doc = check("status", status_doc(make_run(rows), lambda r, n: f"log{n}",
                                     lambda r, n: iter(logs.get(n, []))))
    stages = {s["stage"]: s for s in doc["stages"]}
    assert stages["trim"]["spot_reclaims"] == 2 and stages["trim"]["attempts"] == 4
    assert stages["trim"]["duration_seconds"] == 30
    assert doc["failures"][0]["logs"] == ["log1", "log2", "log3"]
    assert doc["blocked"] == [{"sample": "S2", "failed_stages": ["trim"], "not_run": ["count"],
                               "finished": True}]
    assert doc["missing_outputs"] == [{"stage": "trim", "sample": "S2",
                                       "outputs": "trimmed/S2.fq.gz (empty)"}]


def test_a_running_job_lasts_until_now() -> None:
    running = row("qc", "S1", "RUNNING")
    del running["stopped_at"]
    doc = status_doc(make_run([running], "RUNNING"), lambda r, n: "", lambda r, n: iter(()),
                     now=T0 + timedelta(seconds=90))
    assert doc["jobs"][0]["duration_seconds"] == 90
    assert doc["stages"][0]["duration_seconds"] == 90


def test_stages_started_within_one_second_are_listed_in_the_order_they_started() -> None:
    def at(ms: int) -> str:  # as the job-state rows hold times: to the millisecond
        return (T0 + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")

    rows = [row("prepare", "_once", "SUCCEEDED", started_at=at(100)),
            row("letters", "_once", "SUCCEEDED", started_at=at(900)),
            row("combine", "_once", "SUCCEEDED", started_at=at(2500)),
            row("never", "_once", "FAILED", started_at=None)]
    doc = status_doc(make_run(rows), lambda r, n: "", lambda r, n: iter(()), now=T0)
    assert [s["stage"] for s in doc["stages"]] == ["prepare", "letters", "combine", "never"]


def test_a_job_only_the_history_remembers_becomes_a_row() -> None:
    """A TaskFailed cause holds the job in ASL's PascalCase; tags keep their keys."""
    cause = {"JobId": "j1", "JobName": "wf-align-S1", "Status": "FAILED",
             "StatusReason": "Essential container in task exited", "CreatedAt": 1767268800000,
             "Tags": {contracts.TAG_STAGE: "align", contracts.TAG_SAMPLE: "S1"},
             "Container": {"ExitCode": 2, "LogStreamName": "align/default/x"},
             "Attempts": [{"StatusReason": "Essential container in task exited",
                           "Container": {"ExitCode": 2, "LogStreamName": "align/default/x"}}]}
    r = row_from_job(_camel(cause), "wf", "history")
    assert (r["stage"], r["sample"], r["status"], r["exit_code"]) == ("align", "S1", "FAILED", 2)
    assert r["attempts"] == 1 and r["attempt_details"][0]["log"] == "align/default/x"
    assert r["created_at"] == "2026-01-01T12:00:00.000Z"


class Advancing:
    """A run that gains a log line per read and ends on the third."""

    backend: Backend = "local"

    def __init__(self) -> None:
        self.reads = 0

    def list_runs(self, workflow: str | None = None,
                  limit: int | None = None) -> list[RunSummary]:
        return []

    def get_run(self, run_id: str) -> Run:
        self.reads += 1
        done = self.reads >= 3
        job = row("qc", "S1", "SUCCEEDED" if done else "RUNNING")
        return make_run([job], "SUCCEEDED" if done else "RUNNING", "local")

    def log_location(self, row: Mapping[str, Any], attempt: int) -> str:
        return "qc.log"

    def log_lines(self, row: Mapping[str, Any], attempt: int) -> Iterator[str]:
        return iter([f"line {i}" for i in range(1, self.reads + 1)])


def test_watch_and_follow_run_until_the_run_ends(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = Advancing()
    monkeypatch.setattr(status_cli, "open_source", lambda args, run_id=None: source)
    monkeypatch.setattr("orchestrator.cli.status.time.sleep", lambda s: None)
    assert main(["watch", "r", "--json"]) == 0
    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [check("status", d)["run"]["status"] for d in docs] == [
        "RUNNING", "RUNNING", "SUCCEEDED"]

    source.reads = 0
    assert main(["logs", "r", "qc", "--follow"]) == 0
    assert capsys.readouterr().out.splitlines() == ["line 1", "line 2", "line 3"]


@pytest.mark.parametrize(("job", "size"), [
    ({"container": {"resourceRequirements": [{"type": "VCPU", "value": "0.5"},
                                             {"type": "MEMORY", "value": "1024"}]}}, (0.5, 0)),
    ({"container": {"resourceRequirements": [{"type": "GPU", "value": "2"},
                                             {"type": "VCPU", "value": "8"}]}}, (8.0, 2)),
    ({"container": {"vcpus": 4, "memory": 2048}}, (4.0, 0)),  # the older field (and moto)
    ({"container": {"resourceRequirements": [{"type": "MEMORY", "value": "1024"}]}}, None),
    ({}, None),
])
def test_a_jobs_size_is_what_it_asked_batch_for(job: dict[str, Any],
                                                 size: tuple[float, int] | None) -> None:
    assert job_size(job) == size


@pytest.mark.parametrize(("argv", "local"), [
    (["status", "latest"], True),
    (["status", "latest", "--aws"], False),
    (["status", "latest", "--table", "t"], False),
    (["status", "latest", "--region", "eu-west-1"], False),
    (["status", "latest", "--stack-name", "prod"], False),
    (["status", "20261201-162511-f12651"], True),
    (["status", "my-manual-run"], False),
    (["status", "my-manual-run", "--workdir", "ws"], True),
])
def test_where_a_run_is_read(argv: list[str], local: bool) -> None:
    args = parser().parse_args(argv)
    assert wants_local(args, args.run) is local


def test_local_and_aws_options_exclude_each_other() -> None:
    args = parser().parse_args(["status", "latest", "--local", "--aws"])
    with pytest.raises(UsageError, match="exclude each other"):
        wants_local(args, args.run)


def test_latest_of_a_source_without_runs_says_how_to_make_one() -> None:
    with pytest.raises(RunNotFound,
                       match=r"latest: no local runs .* `orchestrator run FILE --local`"):
        resolve_run(Advancing(), "latest")
    assert resolve_run(Advancing(), "r1") == "r1"
