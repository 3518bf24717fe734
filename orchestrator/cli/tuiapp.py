"""The Textual application behind `orchestrator tui`: runs, a run's stages and samples, and a
job's log, live, over one RunSource (orchestrator.runs), as `runs` and `status` read them.

Two screens. The runs screen lists recent runs (refreshed every ``interval`` seconds); enter
opens one. The run screen shows the run's summary, its stages (jobs by state, attempts, Spot
reclaims, duration) and its jobs, one row per stage and sample (``f`` filters them by state);
the highlighted job's log tail is shown below and followed while the job runs; escape goes
back. Everywhere ``r`` refreshes now and ``q`` quits. It refreshes until the run ends.

Reads run in a worker thread, so a slow AWS call never freezes the screen; a read that fails
shows its one-line message in the screen's message line and is tried again on the next
refresh.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Log, Static
from textual.worker import get_current_worker

from orchestrator.cli.status import duration
from orchestrator.errors import OrchestratorError
from orchestrator.runs import Run, RunSource, RunSummary, ran
from orchestrator.runstatus import status_doc

TERMINAL_JOB = ("SUCCEEDED", "FAILED", "SKIPPED")
STYLES = {"SUCCEEDED": "green", "FAILED": "bold red", "TIMED_OUT": "bold red",
          "ABORTED": "red", "INTERRUPTED": "yellow", "RUNNING": "yellow",
          "STARTING": "cyan", "RUNNABLE": "cyan", "SKIPPED": "dim"}
LOG_TAIL = 200  # lines of a job's log kept in the pane


def styled(status: str) -> Text:
    return Text(status, style=STYLES.get(status, ""))


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def job_key(stage: str, sample: str) -> str:
    return json.dumps([stage, sample])


def table_rows(table: DataTable[Any]) -> list[list[str]]:
    """The visible cells of a table as text (for tests and for people reading the code)."""
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@contextlib.contextmanager
def _guard(source: RunSource) -> Iterator[None]:
    """boto3's errors as one line, as the other commands show them."""
    if source.backend != "aws":
        yield
        return
    from orchestrator.cli.opsout import aws

    with aws("reading runs"):
        yield


class RunsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Refresh")]

    def __init__(self, source: RunSource, workflow: str | None, interval: float,
                 limit: int) -> None:
        super().__init__()
        self.source, self.workflow, self.interval, self.limit = source, workflow, interval, limit
        self.runs: list[RunSummary] = []
        self.timer: Timer

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="message")
        table: DataTable[Any] = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        table.add_columns("RUN", "WORKFLOW", "WHERE", "STATUS", "STARTED (UTC)", "DURATION",
                          "RAN", "SKIPPED", "FAILED", "STARTED BY")
        table.border_title = "runs"
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.timer = self.set_interval(self.interval, self.action_reload)

    def on_screen_resume(self) -> None:
        """Shown (first, or back from a run): read now and keep reading."""
        self.app.title = f"orchestrator: {self.source.backend} runs"
        self.action_reload()
        self.timer.resume()

    def on_screen_suspend(self) -> None:
        self.timer.pause()  # a run is open on top: this list is not seen

    def action_reload(self) -> None:
        self.run_worker(self._fetch, thread=True, exclusive=True, group="runs")

    def _fetch(self) -> None:
        try:
            with _guard(self.source):
                runs = self.source.list_runs(self.workflow, self.limit)
        except (OrchestratorError, OSError) as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        if not get_current_worker().is_cancelled:  # a newer read replaced this one
            self.app.call_from_thread(self._show, runs)

    def _problem(self, message: str) -> None:
        self.query_one("#message", Static).update(Text(f"error: {message}", style="red"))

    def _show(self, runs: list[RunSummary]) -> None:
        self.runs = runs
        self.query_one("#message", Static).update(
            f"{len(runs)} run(s); enter opens one, r refreshes, q quits" if runs else
            "no runs yet" + (f" of {self.workflow}" if self.workflow else ""))
        table = self.query_one("#runs", DataTable)
        keep = _cursor_key(table)
        table.clear()
        for s in runs:
            table.add_row(s.name, s.workflow, s.backend, styled(s.status), when(s.started_at),
                          duration(s.duration_seconds()), str(ran(s.counts)),
                          str(s.counts.get("SKIPPED", 0)), str(s.counts.get("FAILED", 0)),
                          s.started_by, key=s.run_id)
        _restore_cursor(table, keep)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs" and event.row_key.value is not None:
            self.app.push_screen(RunScreen(self.source, event.row_key.value, self.interval))


def _cursor_key(table: DataTable[Any]) -> str | None:
    if table.row_count == 0:
        return None
    with contextlib.suppress(Exception):  # no row under the cursor
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return None


def _restore_cursor(table: DataTable[Any], key: str | None) -> None:
    if key is None:
        return
    with contextlib.suppress(Exception):  # the row is gone (filtered out)
        table.move_cursor(row=table.get_row_index(key))


class RunScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"), Binding("f", "filter", "Filter by state"),
        Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    RunScreen #stages { height: auto; max-height: 12; }
    RunScreen #jobs { height: 1fr; }
    RunScreen #log { height: 14; border: solid $primary; }
    """

    def __init__(self, source: RunSource, run_id: str, interval: float) -> None:
        super().__init__()
        self.source, self.run_id, self.interval = source, run_id, interval
        self.run: Run | None = None
        self.doc: Mapping[str, Any] = {}  # the last status document (runstatus.status_doc)
        self.state: str | None = None  # the jobs table shows only this state
        self.selected: str | None = None  # the job key whose log is shown
        self.log_shown: tuple[str, int, int] | None = None  # (job key, attempt, lines)
        self.timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="summary")
        yield Static("", id="message")
        stages: DataTable[Any] = DataTable(id="stages", cursor_type="none")
        stages.can_focus = False  # the keys move through jobs
        stages.add_columns("STAGE", "JOBS", "STATES", "ATTEMPTS", "SPOT RECLAIMS", "DURATION")
        stages.border_title = "stages"
        yield stages
        jobs: DataTable[Any] = DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        jobs.add_columns("STAGE", "SAMPLE", "STATUS", "ATTEMPTS", "DURATION", "EXIT", "REASON")
        jobs.border_title = "jobs"
        yield jobs
        log = Log(id="log", max_lines=LOG_TAIL)
        log.border_title = "log"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#jobs", DataTable).focus()
        self.action_reload()
        self.timer = self.set_interval(self.interval, self.action_reload)

    # --- reading (worker thread) ----------------------------------------------------------

    def action_reload(self) -> None:
        self.run_worker(self._fetch, thread=True, exclusive=True, group="run")

    def _fetch(self) -> None:
        try:
            with _guard(self.source):
                run = self.source.get_run(self.run_id)
                doc = status_doc(run, self.source.log_location, self.source.log_lines,
                                 now=datetime.now(UTC))
        except (OrchestratorError, OSError) as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, run, doc)

    def _fetch_log(self, key: str, row: Mapping[str, Any], attempt: int) -> None:
        try:
            with _guard(self.source):
                lines = list(self.source.log_lines(row, attempt))
                where = self.source.log_location(row, attempt)
        except (OrchestratorError, OSError) as exc:
            self.app.call_from_thread(self._show_log, key, row, attempt, [str(exc)], "", False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_log, key, row, attempt, lines, where)

    # --- showing (app thread) -------------------------------------------------------------

    def _problem(self, message: str) -> None:
        self.query_one("#message", Static).update(Text(f"error: {message}", style="red"))

    def _show(self, run: Run, doc: Mapping[str, Any]) -> None:
        self.run, self.doc = run, doc
        s = run.summary
        self.app.title = f"orchestrator: {s.name}"
        line = Text.assemble(
            f"{s.name} ({s.workflow}, {s.backend}): ", styled(s.status),
            f", started {when(s.started_at)} by {s.started_by}, "
            f"{duration(s.duration_seconds())}; jobs ran {ran(s.counts)}, skipped "
            f"{s.counts.get('SKIPPED', 0)}, failed {s.counts.get('FAILED', 0)}")
        if s.error:
            line.append(f"\nerror: {s.error}" + (f": {s.cause}" if s.cause else ""),
                        style="red")
        self.query_one("#summary", Static).update(line)
        self.query_one("#message", Static).update(
            "enter or the cursor shows a job's log; f filters by state; escape goes back")
        stages = self.query_one("#stages", DataTable)
        stages.clear()
        for st in doc["stages"]:
            stages.add_row(st["stage"], str(st["jobs"]),
                           Text(", ").join(Text(f"{k.lower()} {v}", STYLES.get(k, ""))
                                           for k, v in st["counts"].items()),
                           str(st["attempts"]), str(st["spot_reclaims"]),
                           duration(st["duration_seconds"]))
        self._show_jobs(doc["jobs"])
        if s.finished and self.timer is not None:
            self.timer.pause()  # nothing changes any more; r still reads it again
        self._follow_log()

    def _show_jobs(self, jobs: Sequence[Mapping[str, Any]]) -> None:
        table = self.query_one("#jobs", DataTable)
        keep = _cursor_key(table)
        table.clear()
        for j in jobs:
            if self.state is not None and j["status"] != self.state:
                continue
            table.add_row(j["stage"], j["sample"], styled(j["status"]), str(j["attempts"]),
                          duration(j["duration_seconds"]),
                          "-" if j["exit_code"] is None else str(j["exit_code"]),
                          j["status_reason"], key=job_key(j["stage"], j["sample"]))
        table.border_title = "jobs" + (f" ({self.state} only)" if self.state else "")
        _restore_cursor(table, keep)

    def _row(self, key: str | None) -> dict[str, Any] | None:
        if self.run is None or key is None:
            return None
        return next((r for r in self.run.rows
                     if job_key(str(r.get("stage")), str(r.get("sample"))) == key), None)

    def _follow_log(self) -> None:
        """Read the selected job's log again while it can still grow."""
        row = self._row(self.selected)
        if row is None or self.selected is None:
            return
        attempt = int(row.get("attempts") or 0)
        shown = self.log_shown
        if (shown is not None and shown[:2] == (self.selected, attempt)
                and row.get("status") in TERMINAL_JOB):
            return
        self._load_log(self.selected, row)

    def _load_log(self, key: str, row: Mapping[str, Any]) -> None:
        attempt = int(row.get("attempts") or 0)
        if attempt == 0:
            self._show_log(key, row, 0, [f"{row.get('stage')}/{row.get('sample')} never ran "
                                         f"({row.get('status')}): no log"], "")
            return
        self.run_worker(partial(self._fetch_log, key, row, attempt), thread=True,
                        exclusive=True, group="log")

    def _show_log(self, key: str, row: Mapping[str, Any], attempt: int, lines: list[str],
                  where: str, read: bool = True) -> None:
        """``read``: False when ``lines`` is why the log could not be read."""
        if key != self.selected:
            return  # the cursor moved on while this was read
        log = self.query_one("#log", Log)
        shown = self.log_shown
        if shown is not None and shown[:2] == (key, attempt) and len(lines) >= shown[2]:
            log.write_lines(lines[shown[2]:])  # only what is new: the pane keeps its place
        else:
            log.clear()
            log.write_lines(lines[-LOG_TAIL:])
        self.log_shown = (key, attempt, len(lines)) if read else None
        label = f"{row.get('stage')}/{row.get('sample')}"
        log.border_title = (f"log: {label} attempt {attempt}" if attempt else f"log: {label}")
        log.border_subtitle = where

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "jobs":
            self._select(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "jobs":
            self._select(event.row_key.value, again=True)

    def _select(self, key: str | None, again: bool = False) -> None:
        if key is None or (key == self.selected and not again):
            return
        self.selected = key
        row = self._row(key)
        if row is not None:
            self._load_log(key, row)

    def action_filter(self) -> None:
        """Cycle the jobs table through: every job, then each state the run has."""
        if self.run is None:
            return
        states = sorted({str(r.get("status")) for r in self.run.rows})
        cycle: list[str | None] = [None, *states]
        now = cycle.index(self.state) if self.state in cycle else 0
        self.state = cycle[(now + 1) % len(cycle)]
        self._show_jobs(self.doc.get("jobs") or [])


class OpsApp(App[int]):
    """``source``: where runs are read; ``run_id``: open this run first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, source: RunSource, *, workflow: str | None = None,
                 interval: float = 5.0, limit: int = 50, run_id: str | None = None) -> None:
        super().__init__()
        self.source, self.workflow, self.interval = source, workflow, interval
        self.limit, self.first_run = limit, run_id

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.source, self.workflow, self.interval, self.limit))
        if self.first_run is not None:
            self.push_screen(RunScreen(self.source, self.first_run, self.interval))

    async def action_quit(self) -> None:
        self.exit(0)
