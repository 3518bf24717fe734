"""The HTML run report: the pure builder (stats, costs, escaping, one bar per attempt), the
local run-record adapter and the `orchestrator report` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.cli import main
from orchestrator.local.runreport import RecordError, from_local_record
from orchestrator.report import Attempt, JobRow, Prices, ReportInput, build_report, stats
from orchestrator.report.prices import TRANSITION_PRICE_PER_1000
from orchestrator.report.rows import from_run, job_row
from orchestrator.runs import Run, RunSummary

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "runrecords" / "failed_run.json"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Page(HTMLParser):
    """Tags, bar rectangles and visible text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.bars: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "rect" and "bar" in (found.get("class") or "").split():
            self.bars.append(found)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def run_of(*jobs: JobRow, transitions: int | None = None) -> ReportInput:
    return ReportInput(run_id="r1", workflow="wf", status="FAILED", started=T0,
                       ended=at(600), jobs=jobs, state_transitions=transitions,
                       stage_order=("align", "call"))


ALIGN = (
    JobRow("align", "S1", "SUCCEEDED", vcpus=4, gpus=1, created=at(0),
           attempts=(Attempt(1, at(10), at(70), 0),)),
    JobRow("align", "S2", "SUCCEEDED", vcpus=4, gpus=1, created=at(0),
           attempts=(Attempt(1, at(10), at(40), 137, "OutOfMemory"),
                     Attempt(2, at(50), at(170), 0))),
    JobRow("align", "S3", "FAILED", "Essential container in task exited", vcpus=4,
           created=at(0), attempts=(Attempt(1), Attempt(2), Attempt(3, at(300), at(330), 1))),
    JobRow("align", "S4", "SKIPPED", "outputs complete; job not submitted", vcpus=4),
)
CALL = (JobRow("call", "S1", "SUCCEEDED", vcpus=2, attempts=(Attempt(1, at(80), at(140), 0),)),)


def test_stage_statistics_count_every_timed_attempt() -> None:
    align, call = stats.stage_stats(run_of(*CALL, *ALIGN))  # workflow order, not row order
    assert (align.stage, align.jobs, align.succeeded, align.failed, align.skipped) == (
        "align", 4, 2, 1, 1)
    assert (align.attempts, align.timed) == (6, 4)
    assert (align.min_s, align.median_s, align.max_s, align.total_s) == (30, 45, 120, 240)
    assert align.mean_s == 60
    assert (call.stage, call.attempts, call.total_s) == ("call", 1, 60)


def test_hours_and_costs() -> None:
    use = stats.usage(run_of(*ALIGN, *CALL, transitions=40_000), Prices(Decimal("0.04")))
    # align: 4 vCPUs x (60+30+120+30) s; call: 2 vCPUs x 60 s
    assert use.vcpu_hours == pytest.approx((4 * 240 + 2 * 60) / 3600)
    assert use.gpu_hours == pytest.approx((60 + 30 + 120) / 3600)  # S3 has no GPU
    assert use.untimed_attempts == 2
    assert use.transitions_cost == Decimal("1.000")
    assert use.batch_cost is not None
    assert float(use.batch_cost) == pytest.approx(0.04 * 1080 / 3600)
    assert stats.usage(run_of(*ALIGN), Prices()).batch_cost is None
    assert stats.usage(run_of(*ALIGN), Prices()).transitions_cost is None


def test_hours_of_jobs_of_unknown_size_are_not_guessed() -> None:
    unsized = JobRow("a", "S1", "SUCCEEDED", attempts=(Attempt(1, at(0), at(3600), 0),))
    use = stats.usage(run_of(unsized), Prices(Decimal("1")))
    assert (use.vcpu_hours, use.gpu_hours, use.batch_cost, use.unsized_attempts) == (
        None, None, None, 1)
    page = build_report(run_of(unsized), Prices(Decimal("1")))
    assert "unknown without the jobs" in page
    use = stats.usage(run_of(unsized, *CALL), Prices(Decimal("1")))
    assert use.vcpu_hours == pytest.approx(2 * 60 / 3600) and use.unsized_attempts == 1


def test_transition_price_is_the_list_price() -> None:
    assert Decimal("0.025") == TRANSITION_PRICE_PER_1000
    page = build_report(run_of(*ALIGN, transitions=1_234_000), Prices())
    assert "$30.85" in page and "1,234,000" in page


def test_batch_cost_shown_only_with_a_price() -> None:
    without = build_report(run_of(*ALIGN), Prices())
    assert "--vcpu-hour-price" in without
    priced = build_report(run_of(*ALIGN), Prices(Decimal("3600")))
    assert "at $3600 per vCPU-hour" in priced
    assert "$960.00" in priced  # 4 vCPUs x 240 s = 960 vCPU-seconds


def test_one_bar_per_attempt_and_none_for_skipped_jobs() -> None:
    page = Page(build_report(run_of(*ALIGN, *CALL), Prices()))
    bars = [(b["data-job"], b["data-attempt"]) for b in page.bars]
    assert sorted(bars) == sorted([("align/S1", "1"), ("align/S2", "1"), ("align/S2", "2"),
                                   ("align/S3", "1"), ("align/S3", "2"), ("align/S3", "3"),
                                   ("call/S1", "1")])
    classes = {(b["data-job"], b["data-attempt"]): b["class"] for b in page.bars}
    assert classes[("align/S2", "1")] == "bar retried"
    assert classes[("align/S3", "3")] == "bar failed"
    assert classes[("call/S1", "1")] == "bar succeeded"


def test_attempts_without_times_fill_the_gap_before_the_known_one() -> None:
    bars = [b for b in stats.bars(run_of(*ALIGN)) if b.job.sample == "S3"]
    assert [b.estimated for b in bars] == [True, True, False]
    assert (bars[0].start, bars[0].end, bars[1].end, bars[2].start) == (
        at(0), at(150), at(300), at(300))


def test_failures_and_skipped_are_listed_with_reasons() -> None:
    run = run_of(*ALIGN)
    fails = [(f.key, f.attempt, f.final, f.exit_code, f.reason) for f in stats.failures(run)]
    assert ("align/S2", 1, False, 137, "OutOfMemory") in fails
    assert ("align/S3", 3, True, 1, "Essential container in task exited") in fails
    assert not any(f[0] == "align/S1" for f in fails)
    assert stats.skipped(run) == {"align": ["S4"]}
    page = build_report(run, Prices())
    assert "OutOfMemory" in page and "(retried)" in page


HOSTILE = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>"


def test_hostile_strings_are_escaped_everywhere() -> None:
    job = JobRow(HOSTILE, HOSTILE, "FAILED", HOSTILE,
                 attempts=(Attempt(1, at(1), at(2), 1, HOSTILE),))
    run = ReportInput(run_id=HOSTILE, workflow=HOSTILE, status=HOSTILE, started=T0,
                      ended=at(5), jobs=(job, JobRow("s", HOSTILE, "SKIPPED")),
                      error=HOSTILE, cause=HOSTILE)
    html = build_report(run, Prices())
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert "<script" not in html and "<img" not in html
    assert any(HOSTILE in t for t in page.text)  # shown as text, intact
    assert len(page.bars) == 1


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_sample_and_reason_stays_text(sample: str, reason: str) -> None:
    clean = JobRow("a", "ok", "FAILED", "x", attempts=(Attempt(1, at(1), at(2), 2, "x"),))
    job = JobRow("a", sample, "FAILED", reason, attempts=(Attempt(1, at(1), at(3), 2, reason),))
    expected = Page(build_report(run_of(clean, clean), Prices())).tags
    page = Page(build_report(run_of(clean, job), Prices()))
    assert page.tags == expected  # the same elements, whatever the strings hold
    text = "".join(page.text)
    assert f"a/{sample}" in text and reason in text


def test_the_page_is_self_contained() -> None:
    html = build_report(run_of(*ALIGN, *CALL), Prices())
    tags = set(Page(html).tags)
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert html.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0


def test_local_record_adapter(tmp_path: Path) -> None:
    run = from_local_record(FIXTURE, {"align": (4.0, 0), "call": (2.0, 1)}, ("align", "call"))
    assert (run.run_id, run.workflow, run.status, run.state_transitions) == (
        "20261201-090000-abc123", "demo", "FAILED", 40000)
    by_key = {j.key: j for j in run.jobs}
    assert [a.started is None for a in by_key["align/S2"].attempts] == [True, False]
    failed = by_key["align/<script>alert('x')</script>"]
    assert (len(failed.attempts), failed.attempts[-1].exit_code, failed.vcpus) == (3, 137, 4.0)
    assert by_key["merge"].sample == ""  # a stage that runs once
    assert by_key["align/S4"].attempts == ()
    assert by_key["align/S1"].attempts[0].seconds == 60


def test_attempt_details_give_every_attempt_its_times(tmp_path: Path) -> None:
    doc = json.loads(FIXTURE.read_text())
    doc["jobs"][1]["attempt_details"] = [  # as jobstate keeps Batch's attempts[]
        {"started_at": "2026-12-01T09:00:05.000Z", "stopped_at": "2026-12-01T09:00:15.000Z",
         "exit_code": 137, "status_reason": "Essential container in task exited",
         "container_reason": "OutOfMemoryError: Container killed due to memory usage"},
        {"started_at": "2026-12-01T09:00:20.000Z", "stopped_at": "2026-12-01T09:01:20.000Z",
         "exit_code": 0}]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    job = next(j for j in from_local_record(path).jobs if j.sample == "S2")
    assert [(a.seconds, a.exit_code, a.reason) for a in job.attempts] == [
        (10, 137, "Essential container in task exited: OutOfMemoryError: Container killed due "
                  "to memory usage"), (60, 0, "")]


def test_a_running_job_has_its_current_attempt_after_the_listed_ones() -> None:
    row = {"stage": "align", "sample": "S1", "status": "RUNNING", "attempts": 1,
           "started_at": "2026-12-01T09:02:00Z",
           "attempt_details": [{"started_at": "2026-12-01T09:00:00Z",
                                "stopped_at": "2026-12-01T09:01:00Z",
                                "status_reason": "Host EC2 (instance i-1) terminated."}]}
    first, current = job_row(row, {}).attempts
    assert (first.seconds, first.reason) == (60, "Host EC2 (instance i-1) terminated.")
    assert (current.number, current.started, current.stopped) == (
        2, datetime(2026, 12, 1, 9, 2, tzinfo=UTC), None)


def test_a_run_read_from_a_source_keeps_submission_order_sizes_and_names() -> None:
    rows = ({"stage": "merge", "sample": "_once", "status": "SUCCEEDED", "attempts": 1,
             "created_at": "2026-12-01T09:05:00Z", "started_at": "2026-12-01T09:05:10Z",
             "stopped_at": "2026-12-01T09:06:10Z", "exit_code": 0},
            {"stage": "align", "sample": "S1", "status": "SUCCEEDED", "attempts": 1,
             "created_at": "2026-12-01T09:00:00Z", "started_at": "2026-12-01T09:00:10Z",
             "stopped_at": "2026-12-01T09:01:10Z", "exit_code": 0})
    summary = RunSummary("arn:aws:states:us-east-1:1:execution:demo:run-1", "run-1", "demo",
                         "aws", "SUCCEEDED", T0, at(600), error="", cause="")
    run = from_run(Run(summary, rows), {"align": (4.0, 1)}, state_transitions=12)
    assert (run.run_id, run.workflow, run.state_transitions) == ("run-1", "demo", 12)
    assert run.stage_order == ("align", "merge")
    merge, align = run.jobs
    assert (merge.sample, merge.vcpus, align.vcpus, align.gpus) == ("", None, 4.0, 1)
    assert [s.stage for s in stats.stage_stats(run)] == ["align", "merge"]


def test_unreadable_record_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RecordError, match=r"bad\.json: not a run record"):
        from_local_record(bad)
    bad.write_text("[]")
    with pytest.raises(RecordError, match="no run_id"):
        from_local_record(bad)


WORKFLOW = """
from orchestrator import Workflow

wf = Workflow("demo", bucket="s3://b/demo")
s = wf.foreach("sample_id")
align = wf.job("align", image="i", command=["a {sample_id}"], outputs={"o": "a/{sample_id}"},
               cpus=4, gpus=1, per=s)
call = wf.job("call", image="i", command=["c"], inputs={"i": "a/{sample_id}"},
              outputs={"o": "c/{sample_id}"}, cpus=2, after=[align], per=s)
merge = wf.job("merge", image="i", command=["m"], inputs={"i": "c/{sample_id}"},
               outputs={"o": "m.txt"}, after=[call])
"""


def _workspace(tmp_path: Path, workflow: str | None = None) -> Path:
    runs = tmp_path / "ws" / "runs"
    runs.mkdir(parents=True)
    doc = json.loads(FIXTURE.read_text())
    if workflow is not None:
        (tmp_path / "demo.py").write_text(workflow)
        doc["workflow_file"] = str(tmp_path / "demo.py")
    (runs / "20261201-090000-abc123.json").write_text(json.dumps(doc))
    return tmp_path / "ws"


def test_report_command_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        ) -> None:
    ws, out = _workspace(tmp_path, WORKFLOW), tmp_path / "out" / "report.html"
    out.parent.mkdir()
    code = main(["report", "latest", "--workdir", str(ws), "-o", str(out),
                 "--vcpu-hour-price", "0.05"])
    assert code == 0, capsys.readouterr().err
    html = out.read_text()
    assert len(Page(html).bars) == 8
    # timed attempts: align 60 + 70 + 20 s at 4 vCPUs (1 GPU), call 60 + 30 s at 2 vCPUs
    vcpu_hours = (4 * 150 + 2 * 90) / 3600
    assert f"<b>{vcpu_hours:.4f}</b>" in html and f"<b>{150 / 3600:.4f}</b>" in html
    assert f"${0.05 * vcpu_hours:.4f}" in html and "at $0.05 per vCPU-hour" in html
    assert "written to" in capsys.readouterr().out


def test_report_without_the_workflow_file_does_not_guess_hours(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws, out = _workspace(tmp_path), tmp_path / "report.html"
    assert main(["report", "20261201-090000-abc123", "--workdir", str(ws), "-o", str(out),
                 "--vcpu-hour-price", "0.05"]) == 0
    assert "demo.py: no such workflow file" in capsys.readouterr().err
    assert "unknown without the jobs" in out.read_text()


def test_report_command_unknown_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws, out = _workspace(tmp_path), tmp_path / "r.html"
    assert main(["report", "nope", "--workdir", str(ws), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nope.json: no such run record" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_report_command_rejects_a_bad_price(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", "latest", "-o", str(tmp_path / "r.html"), "--vcpu-hour-price", "-1"])
    assert exc.value.code == 2
