"""`orchestrator tui` driven by Textual's own test harness (``App.run_test`` and its pilot) over
a RunSource that changes between reads, as a running run does: the runs list, a run's stages
and jobs refreshing live, a job's log tail that grows, the state filter, escape and q."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tuikit import drive, log_text, settle, table, wait_until

from orchestrator.cli import parser
from orchestrator.cli.tui import make_app
from orchestrator.cli.tuiapp import OpsApp, RunScreen, RunsScreen
from orchestrator.runs import Backend, Run, RunNotFound, RunSummary, count_rows

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _row(stage: str, sample: str, status: str, attempts: int, **extra: Any) -> dict[str, Any]:
    return {"stage": stage, "sample": sample, "status": status, "attempts": attempts,
            "status_reason": extra.pop("reason", ""), "job_id": f"{stage}-{sample}",
            "started_at": (T0 + timedelta(seconds=5)).isoformat(), **extra}


class Growing:
    """Run "r2" moves on when the test says (``step``): align/S2 waits, then runs printing one
    line per step, and succeeds at step 3; "r1" is an older failed run."""

    backend: Backend = "local"
    DONE = 3

    def __init__(self) -> None:
        self.step = 0
        self.reads = 0

    def _r2(self) -> tuple[RunSummary, list[dict[str, Any]]]:
        done = self.step >= self.DONE
        rows = [_row("align", "S1", "SUCCEEDED", 1, exit_code=0),
                _row("align", "S2", "SUCCEEDED" if done else "RUNNING", min(self.step, 1),
                     exit_code=0 if done else None),
                _row("count", "S1", "SKIPPED", 0, reason="outputs complete")]
        summary = RunSummary("r2", "r2", "rnaseq", "local",
                             "SUCCEEDED" if done else "RUNNING", T0,
                             T0 + timedelta(minutes=3) if done else None, "cli",
                             count_rows(rows))
        return summary, rows

    def _r1(self) -> tuple[RunSummary, list[dict[str, Any]]]:
        rows = [_row("align", "S1", "FAILED", 2, exit_code=3, reason="exited 3")]
        return (RunSummary("r1", "r1", "rnaseq", "local", "FAILED", T0 - timedelta(hours=1),
                           T0 - timedelta(minutes=50), "cli", count_rows(rows),
                           error="SamplesFailed"), rows)

    def list_runs(self, workflow: str | None = None,
                  limit: int | None = None) -> list[RunSummary]:
        return [self._r2()[0], self._r1()[0]][:limit]

    def get_run(self, run_id: str) -> Run:
        if run_id == "r2":
            self.reads += 1
            summary, rows = self._r2()
        elif run_id == "r1":
            summary, rows = self._r1()
        else:
            raise RunNotFound(f"no local run {run_id!r}")
        return Run(summary, tuple(rows), "/logs")

    def log_location(self, row: Mapping[str, Any], attempt: int) -> str:
        return f"/logs/{row['stage']}/{row['sample']}.attempt{attempt}.log"

    def log_lines(self, row: Mapping[str, Any], attempt: int) -> Iterator[str]:
        key = f"{row['stage']}/{row['sample']}"
        if key == "align/S2":
            yield from (f"S2 line {i}" for i in range(1, self.step + 1))
        else:
            yield f"{key} attempt {attempt} done"


def test_runs_open_a_run_follow_a_job_and_quit() -> None:
    source = Growing()
    app = OpsApp(source, interval=0.3)
    seen: dict[str, Any] = {}

    async def script(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app.screen, RunsScreen)
        seen["runs"] = [(r[0], r[3]) for r in table(pilot, "runs")]
        await pilot.press("enter")  # the newest run, under the cursor
        await settle(pilot)
        assert isinstance(pilot.app.screen, RunScreen)
        seen["jobs_before"] = [r[:4] for r in table(pilot, "jobs")]
        await pilot.press("down")  # align/S2, waiting
        await settle(pilot)
        seen["logs"] = [log_text(pilot)]
        for step in range(1, Growing.DONE + 1):  # no key pressed: the screen refreshes itself
            source.step = step
            # Wait for this step's lines, not merely as many lines: the "never ran" line of
            # the step before is one line too, and the refresh may not have come yet.
            await wait_until(pilot, lambda: log_text(pilot) == [
                f"S2 line {k}" for k in range(1, source.step + 1)])
            seen["logs"].append(log_text(pilot))
        await wait_until(pilot, lambda: table(pilot, "jobs")[1][2] == "SUCCEEDED")
        seen["jobs_after"] = [r[:4] for r in table(pilot, "jobs")]
        seen["stages"] = [(r[0], r[2]) for r in table(pilot, "stages")]
        seen["summary"] = str(pilot.app.screen.query_one("#summary", Static).render())
        reads = source.reads
        await asyncio.sleep(1)
        await settle(pilot)
        seen["reads_after_the_end"] = source.reads - reads
        await pilot.press("q")

    drive(app, script)
    assert seen["runs"] == [("r2", "RUNNING"), ("r1", "FAILED")]
    assert seen["jobs_before"] == [["align", "S1", "SUCCEEDED", "1"],
                                   ["align", "S2", "RUNNING", "0"],
                                   ["count", "S1", "SKIPPED", "0"]]
    assert seen["jobs_after"][1] == ["align", "S2", "SUCCEEDED", "1"]
    assert seen["stages"] == [("align", "succeeded 2"), ("count", "skipped 1")]
    assert "SUCCEEDED" in seen["summary"] and "skipped 1" in seen["summary"]
    # S2 had not started when selected; then its log grows, line by line, as it runs
    assert seen["logs"] == [["align/S2 never ran (RUNNING): no log"], ["S2 line 1"],
                            ["S2 line 1", "S2 line 2"], ["S2 line 1", "S2 line 2", "S2 line 3"]]
    assert seen["reads_after_the_end"] == 0  # a finished run is not read again unasked
    assert app.return_value == 0 and not app.is_running


def test_state_filter_escape_back_and_refresh_key() -> None:
    source = Growing()
    app = OpsApp(source, interval=60)
    seen: dict[str, Any] = {}

    async def script(pilot: Pilot[int]) -> None:
        await pilot.press("down", "enter")  # r1, the failed run
        await settle(pilot)
        seen["summary"] = str(pilot.app.screen.query_one("#summary", Static).render())
        seen["log"] = log_text(pilot)  # the first job is highlighted: its log is shown
        await pilot.press("escape", "up", "enter")  # back, then r2
        await settle(pilot)
        await pilot.press("f")  # first state: RUNNING only
        await settle(pilot)
        seen["running"] = [r[:3] for r in table(pilot, "jobs")]
        await pilot.press("f", "f", "f")  # SKIPPED, SUCCEEDED, then every job again
        await settle(pilot)
        seen["all"] = len(table(pilot, "jobs"))
        before = source.reads
        await pilot.press("r")
        await settle(pilot)
        seen["reread"] = source.reads - before

    drive(app, script)
    assert "FAILED" in seen["summary"] and "error: SamplesFailed" in seen["summary"]
    assert seen["log"] == ["align/S1 attempt 2 done"]  # the last attempt
    assert seen["running"] == [["align", "S2", "RUNNING"]]
    assert seen["all"] == 3 and seen["reread"] == 1


def test_the_command_opens_the_workspace_and_a_run_named_latest(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli import main
    from orchestrator.local.runs import LocalRuns

    app = make_app(parser().parse_args(["tui", "--workdir", str(tmp_path)]))
    assert isinstance(app.source, LocalRuns) and app.source.root == tmp_path.resolve()
    assert main(["tui", "--workdir", str(tmp_path), "--run", "latest"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: latest: no local runs in this workspace")
    assert err.count("\n") == 1
