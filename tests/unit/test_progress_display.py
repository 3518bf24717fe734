"""Progress of a local run: the monitor's events and the sinks that render them."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from orchestrator import Workflow, model
from orchestrator.local import display, progress
from orchestrator.local.progress import Event, JobChanged, Monitor, Phase


def workflow() -> model.Workflow:
    wf = Workflow("w", bucket="s3://b/p")
    samples = wf.foreach("sample_id")
    wf.job("align", image="img", command=["true"], outputs={"o": "a/{sample_id}"},
           per=samples)
    wf.job("merge", image="img", command=["true"], outputs={"o": "m"}, after=["align"])
    return wf.build()


def row(stage: str, sample: str, status: str, attempts: int = 1,
        took: float | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"stage": stage, "sample": sample, "status": status,
                         "attempts": attempts, "job_id": f"id-{stage}-{sample}"}
    if took is not None:
        r |= {"started_at": "2026-01-01T00:00:00+00:00",
              "stopped_at": f"2026-01-01T00:00:{took:04.1f}+00:00"}
    return r


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scripted(emit: progress.Emit, clock: Clock) -> Monitor:
    """A run of four samples: one skipped, two succeed, one fails; 40 s pass."""
    mon = Monitor(workflow(), 4, emit, clock)
    mon.phase("starting", "starting the engine")
    clock.now += 2
    mon.phase("staging", "staging 4 input file(s)")
    mon.phase("running", "running 5 job(s)")
    states = [row("align", "S1", "SKIPPED"), row("align", "S2", "RUNNING"),
              row("align", "S3", "RUNNABLE"), row("align", "S4", "RUNNING")]
    mon.rows(states)
    mon.rows(states)  # nothing changed: no event
    clock.now += 31
    mon.rows(states)  # only the heartbeat
    clock.now += 9
    mon.rows([row("align", "S1", "SKIPPED"), row("align", "S2", "SUCCEEDED", took=3.5),
              row("align", "S3", "SUCCEEDED", took=2.0),
              row("align", "S4", "FAILED", attempts=3, took=1.0)])
    return mon


def summary(mon: Monitor) -> progress.Summary:
    return progress.summarize(
        mon.wf, [row("align", "S1", "SKIPPED"), row("align", "S2", "SUCCEEDED", took=3.5),
                 row("align", "S3", "SUCCEEDED", took=2.0),
                 row("align", "S4", "FAILED", attempts=3, took=1.0)],
        status="FAILED", seconds=42.0, logs={"id-align-S4": "/logs/align/S4.log"},
        error="States.TaskFailed", cause="align/S4 exited 1", run_id="r1", elapsed=42.0)


def test_the_monitor_emits_changes_only_and_a_heartbeat_every_30_seconds() -> None:
    events: list[Event] = []
    scripted(events.append, Clock())
    kinds = [e.event for e in events]
    assert kinds == ["phase", "phase", "phase", "job", "job", "job", "job", "progress",
                     "heartbeat", "job", "job", "job", "progress"]
    changes = [(e.unit, e.previous, e.status) for e in events if isinstance(e, JobChanged)]
    assert changes[-3:] == [("align/S2", "RUNNING", "SUCCEEDED"),
                            ("align/S3", "RUNNABLE", "SUCCEEDED"),
                            ("align/S4", "RUNNING", "FAILED")]
    assert [e.elapsed for e in events if e.event == "heartbeat"] == [33.0]


def test_a_snapshot_equals_another_with_the_same_counts_whatever_the_rows() -> None:
    wf = workflow()
    one = progress.Snapshot.of(progress.tally(wf, 2, [row("align", "S1", "RUNNING")]))
    two = progress.Snapshot.of(progress.tally(wf, 2, [row("align", "S2", "RUNNING")]))
    three = progress.Snapshot.of(progress.tally(wf, 2, [row("align", "S2", "SUCCEEDED")]))
    assert one == two and one != three


def test_plain_lines_one_per_state_change_a_heartbeat_and_no_redrawn_table() -> None:
    out, clock = io.StringIO(), Clock()
    sink = display.PlainSink(out)
    mon = scripted(sink.emit, clock)
    sink.emit(summary(mon))
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["[0:00:00] starting the engine", "[0:00:02] staging 4 input file(s)",
                         "[0:00:02] running 5 job(s)"]
    assert "[0:00:02] align/S1 SKIPPED" in lines
    assert "[0:00:42] align/S4 FAILED (attempt 3)" in lines
    beats = [x for x in lines if "still running" in x]
    assert beats == ["[0:00:33] still running: align 1/4 (2 running), merge 0/1"]
    assert sum(1 for x in lines if x.startswith("[")) == 3 + 7 + 1  # phases, changes, beat
    assert not any("\x1b" in x for x in lines)
    table = lines[lines.index(next(x for x in lines if x.startswith("stage "))):]
    assert [x.split()[:3] for x in table[1:4]] == [
        ["align", "S4", "FAILED"], ["align", "S2", "SUCCEEDED"], ["align", "S3", "SUCCEEDED"]]
    assert "S1" not in "\n".join(table)  # the skipped job is counted, not listed
    assert "1 job(s) skipped: outputs already complete" in table
    assert table[-1] == ("w: FAILED in 42.0s (3 job(s) ran, 1 skipped: outputs already "
                         "complete)")


def test_json_lines_parse_and_name_their_event() -> None:
    out, clock = io.StringIO(), Clock()
    sink = display.JsonSink(out)
    mon = scripted(sink.emit, clock)
    sink.emit(summary(mon))
    objs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [o["event"] for o in objs] == [
        "phase", "phase", "phase", "job", "job", "job", "job", "progress", "heartbeat", "job",
        "job", "job", "progress", "summary"]
    assert objs[-2]["stages"]["align"] == {"total": 4, "pending": 0, "running": 0,
                                           "succeeded": 2, "failed": 1, "skipped": 1}
    last = objs[-1]
    assert (last["status"], last["ran"], last["failed"], last["skipped"]) == ("FAILED", 3, 1, 1)
    assert [j["sample"] for j in last["jobs"]] == ["S4", "S2", "S3"]
    assert objs[3] == {"event": "job", "stage": "align", "sample": "S1", "status": "SKIPPED",
                       "previous": "", "attempts": 1, "job_id": "id-align-S1",
                       "elapsed": 2.0}


def test_quiet_prints_only_the_summary_line() -> None:
    out = io.StringIO()
    sink = display.QuietSink(out)
    mon = scripted(sink.emit, Clock())
    sink.emit(summary(mon))
    assert out.getvalue() == ("w: FAILED in 42.0s (3 job(s) ran, 1 skipped: outputs already "
                              "complete)\n")


def test_the_live_display_shows_bars_symbols_the_clock_and_counts_skipped_jobs() -> None:
    console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor")
    clock = Clock()
    sink = display.LiveSink(console, clock=clock, live=False)
    events: list[Event] = []
    mon = scripted(events.append, clock)
    for e in events:
        sink.emit(e)
    clock.now += 5  # the clock ticks without any event
    console.print(sink)
    live = console.export_text(clear=False).splitlines()
    head = next(x for x in live if "running 5 job(s)" in x)
    assert "⏱ 0:00:47" in head
    align = next(x for x in live if x.startswith("align"))
    # a bar of 24 cells: 2 done (12), 1 skipped (6), 1 failed (6)
    assert "█" * 12 + "░" * 6 + "✗" * 6 in align
    assert "█ 2 done" in align and "░ 1 skipped" in align and "✗ 1 failed" in align
    merge = next(x for x in live if x.startswith("merge"))
    assert "·" * 24 in merge and "0/1" in merge
    assert "✗ align/S4 failed (attempt 3)" in live  # printed above the display as it happens
    html = console.export_html(clear=False)
    assert "color: #008000" in html or "#00ff00" in html.lower() or "green" in html

    console.export_text(clear=True)
    sink.emit(summary(mon))
    final = console.export_text().splitlines()
    rows = [x.split()[:3] for x in final if x.startswith("align ") and " S" in x]
    assert rows == [["align", "S4", "FAILED"], ["align", "S2", "SUCCEEDED"],
                    ["align", "S3", "SUCCEEDED"]]
    assert "░ 1 job(s) skipped: outputs already complete" in final
    assert "· 1 not run" in next(x for x in final if x.startswith("merge "))
    assert "⏱ 0:00:42" in next(x for x in final if x.startswith("● failed"))
    assert final[-1] == ("w: FAILED in 42.0s (3 job(s) ran, 1 skipped: outputs already "
                         "complete)")


def test_a_tiny_share_still_shows_in_the_bar() -> None:
    t = progress.Tally(total=100, succeeded=98, failed=1, running=1)
    text = display.bar(t).plain
    assert len(text) == display.BAR_WIDTH and "✗" in text and "▸" in text


def test_the_sink_follows_the_flags_and_the_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(display.choose(io.StringIO()), display.PlainSink)
    assert isinstance(display.choose(Tty()), display.LiveSink)
    assert isinstance(display.choose(Tty(), json_lines=True), display.JsonSink)
    assert isinstance(display.choose(Tty(), quiet=True), display.QuietSink)


def test_phase_events_name_their_phase() -> None:
    assert progress.to_json(Phase("keeping", "keeping results in out", 3.0)) == {
        "event": "phase", "phase": "keeping", "text": "keeping results in out", "elapsed": 3.0}


def test_a_stage_that_runs_once_is_named_without_a_sample() -> None:
    events: list[Event] = []
    mon = Monitor(workflow(), 1, events.append, Clock())
    mon.rows([row("merge", "_once", "FAILED", took=1.0)])
    [job] = [e for e in events if isinstance(e, JobChanged)]
    assert job.unit == "merge" and job.sample == ""
    done = progress.summarize(mon.wf, [row("merge", "_once", "FAILED", took=1.0)],
                              status="FAILED", seconds=1.0)
    assert display.plain_table(done)[1].split()[:3] == ["merge", "-", "FAILED"]


def test_a_run_that_succeeded_names_the_failed_samples_it_tolerated() -> None:
    rows = [row("align", "S1", "SUCCEEDED", took=1.0), row("align", "S4", "FAILED", took=1.0),
            row("align", "S7", "FAILED", took=1.0), row("merge", "_once", "SUCCEEDED")]
    done = progress.summarize(workflow(), rows, status="SUCCEEDED", seconds=5.0)
    assert done.line() == ("w: SUCCEEDED in 5.0s (4 job(s) ran, 0 skipped: outputs already "
                           "complete); 2 samples failed and were tolerated: S4, S7")
    assert [j.status for j in done.jobs][:2] == ["FAILED", "FAILED"]  # still listed, first
    assert progress.to_json(done)["tolerated"] == ["S4", "S7"]
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(display.summary_line(done))
    assert "2 samples failed and were tolerated: S4, S7" in console.export_text()
    failed = progress.summarize(workflow(), rows, status="FAILED", seconds=5.0)
    assert failed.tolerated == () and "tolerated" not in failed.line()
