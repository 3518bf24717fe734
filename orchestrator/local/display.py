"""Sinks that render the events of ``progress`` for people and scripts.

- ``LiveSink``: a terminal. A rich live display with the phase, a ticking clock and a bar per
  stage where done, skipped, failed, running and waiting jobs look different; failures are
  printed above it as they happen; at the end a table of the jobs that ran or failed (skipped
  ones counted, not listed) and a one-line summary.
- ``PlainSink``: CI and log files. One line per phase and job state change, a heartbeat line
  when the monitor sends one (every 30 s), never a redrawn table.
- ``JsonSink``: ``--json``. One JSON object per event (see ``progress`` for the fields).
- ``QuietSink``: ``--quiet``. Only the summary line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.local.progress import (
    Event,
    Heartbeat,
    JobChanged,
    Notice,
    Phase,
    Progress,
    Snapshot,
    Summary,
    Tally,
    to_json,
)

BAR_WIDTH = 24
# (symbol, style, label) of each state, in the order a bar fills.
DONE = ("█", "green", "done")
SKIPPED = ("░", "cyan", "skipped")
FAILED = ("✗", "bold red", "failed")
RUNNING = ("▸", "yellow", "running")
WAITING = ("·", "dim", "waiting")


class Sink(Protocol):
    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _cells(t: Tally, width: int) -> list[tuple[int, tuple[str, str, str]]]:
    """How many of ``width`` cells each state fills (every non-empty state gets one)."""
    parts = [(t.succeeded, DONE), (t.skipped, SKIPPED), (t.failed, FAILED),
             (t.running, RUNNING)]
    if t.total == 0:
        return [(width, WAITING)]
    out = [(max(1, round(width * n / t.total)) if n else 0, kind) for n, kind in parts]
    used = sum(n for n, _ in out)
    while used > width:  # rounding up small states may overflow: take from the largest
        i = max(range(len(out)), key=lambda k: out[k][0])
        out[i] = (out[i][0] - 1, out[i][1])
        used -= 1
    return [*out, (width - used, WAITING)]


def bar(t: Tally, width: int = BAR_WIDTH) -> Text:
    text = Text()
    for n, (symbol, style, _) in _cells(t, width):
        text.append(symbol * n, style=style)
    return text


def counts(t: Tally, over: bool = False) -> Text:
    """Counts of the states a stage has; once the run is ``over``, waiting means not run."""
    text = Text(f"{t.done:>3}/{t.total:<3}")
    waiting = (t.pending, (WAITING[0], WAITING[1], "not run")) if over else (0, WAITING)
    for n, (symbol, style, label) in ((t.succeeded, DONE), (t.skipped, SKIPPED),
                                       (t.failed, FAILED), (t.running, RUNNING), waiting):
        if n:
            text.append(f"  {symbol} {n} {label}", style=style)
    return text


def stage_table(snapshot: Snapshot, over: bool = False) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for name, t in snapshot.stages:
        grid.add_row(Text(name, style="bold"), bar(t), counts(t, over))
    return grid


def job_table(summary: Summary) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("stage", "sample", "status", "tries", "time", "log"):
        table.add_column(name, justify="right" if name in ("tries", "time") else "left",
                         no_wrap=name != "log", overflow="fold")
    for j in summary.jobs:
        style = {"FAILED": "bold red", "SUCCEEDED": "green"}.get(j.status, "yellow")
        took = f"{j.seconds:.1f}s" if j.seconds is not None else "-"
        table.add_row(j.stage, j.sample or "-", Text(j.status, style=style), str(j.attempts),
                      took, j.log)
    return table


def summary_line(summary: Summary) -> Text:
    style = "bold green" if summary.status == "SUCCEEDED" else "bold red"
    text = Text()
    text.append(f"{summary.workflow}: ", style="bold")
    text.append(summary.status, style=style)
    text.append(f" in {summary.seconds:.1f}s ({summary.ran} job(s) ran, {summary.skipped} "
                "skipped: outputs already complete)")
    text.append(summary.tolerated_text(), style="bold yellow")
    return text


class LiveSink:
    """The terminal display. ``clock`` drives the ticking clock (injected by tests)."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic,
                 live: bool = True) -> None:
        self.console, self.clock = console, clock
        self.started = clock()
        self.stopped: float | None = None  # the run's wall time, once it is over
        self.phase = "starting the engine"
        self.snapshot: Snapshot | None = None
        self.live = Live(self, console=console, refresh_per_second=4,
                         transient=False, auto_refresh=True) if live else None
        self.active = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        head = Text()
        head.append("● ", style="bold magenta")
        head.append(self.phase, style="bold")
        took = self.stopped if self.stopped is not None else self.clock() - self.started
        head.append(f"   ⏱ {clock_text(took)}", style="cyan")
        parts: list[Table | Text] = [head]
        if self.snapshot is not None:
            parts.append(stage_table(self.snapshot, over=self.stopped is not None))
        yield Group(*parts)

    def _start(self) -> None:
        if self.live is not None and not self.active:
            self.live.start()
            self.active = True

    def _refresh(self) -> None:
        if self.live is not None and self.active:
            self.live.refresh()

    def emit(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.console.print(Text(event.text, style="dim"))
            return
        if isinstance(event, Summary):
            self.phase, self.stopped = event.status.lower(), event.seconds
            self._refresh()
            self.close()
            self.finish(event)
            return
        if isinstance(event, Phase):
            self.phase = event.text
        elif isinstance(event, Progress):
            self.snapshot = event.snapshot
        elif isinstance(event, JobChanged) and event.status == "FAILED":
            self.console.print(Text(f"✗ {event.unit} failed (attempt {event.attempts})",
                                    style="bold red"))
        self._start()
        self._refresh()

    def finish(self, summary: Summary) -> None:
        if self.live is None and self.snapshot is not None:
            self.console.print(self)
        self.console.print()
        if summary.jobs:
            self.console.print(job_table(summary))
        if summary.skipped:
            self.console.print(Text(f"{SKIPPED[0]} {summary.skipped} job(s) skipped: outputs "
                                    "already complete", style=SKIPPED[1]))
        self.console.print()
        self.console.print(summary_line(summary))

    def close(self) -> None:
        if self.live is not None and self.active:
            self.live.stop()
            self.active = False


def _brief(snapshot: Snapshot) -> str:
    return ", ".join(f"{name} {t.done}/{t.total}" + (f" ({t.running} running)" if t.running
                                                     else "")
                     for name, t in snapshot.stages)


def plain_table(summary: Summary) -> list[str]:
    lines = [f"{'stage':<12} {'sample':<14} {'status':<10} {'tries':>5} {'time':>7}  log"]
    for j in summary.jobs:
        took = f"{j.seconds:6.1f}s" if j.seconds is not None else "      -"
        lines.append(f"{j.stage:<12} {j.sample or '-':<14} {j.status:<10} {j.attempts:>5} "
                     f"{took:>7}  {j.log}")
    return lines


def summary_lines(summary: Summary) -> list[str]:
    lines = [""]
    if summary.jobs:
        lines += plain_table(summary)
    if summary.skipped:
        lines.append(f"{summary.skipped} job(s) skipped: outputs already complete")
    return [*lines, "", summary.line()]


class PlainSink:
    """Lines that read well in a CI log: no cursor movement, nothing redrawn."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _write(self, *lines: str) -> None:
        for line in lines:
            self.out.write(line + "\n")
        self.out.flush()

    def emit(self, event: Event) -> None:
        stamp = f"[{clock_text(event.elapsed)}]"
        if isinstance(event, Notice):
            self._write(event.text)
        elif isinstance(event, Phase):
            self._write(f"{stamp} {event.text}")
        elif isinstance(event, JobChanged):
            tries = f" (attempt {event.attempts})" if event.status == "FAILED" else ""
            self._write(f"{stamp} {event.unit} {event.status}{tries}")
        elif isinstance(event, Heartbeat):
            self._write(f"{stamp} still running: {_brief(event.snapshot)}")
        elif isinstance(event, Summary):
            self._write(*summary_lines(event))

    def close(self) -> None:
        self.out.flush()


class JsonSink:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def emit(self, event: Event) -> None:
        self.out.write(json.dumps(to_json(event), sort_keys=True) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class QuietSink:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def emit(self, event: Event) -> None:
        if isinstance(event, Summary):
            self.out.write(event.line() + "\n")
            self.out.flush()

    def close(self) -> None:
        self.out.flush()


def choose(out: TextIO, *, json_lines: bool = False, quiet: bool = False) -> Sink:
    """``--json`` and ``--quiet`` win; otherwise a live display on a terminal, lines elsewhere."""
    if json_lines:
        return JsonSink(out)
    if quiet:
        return QuietSink(out)
    if out.isatty():
        return LiveSink(Console(file=out))
    return PlainSink(out)


__all__ = ["JsonSink", "LiveSink", "PlainSink", "QuietSink", "Sink", "choose"]
