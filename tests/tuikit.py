"""Driving `orchestrator tui` in tests with Textual's harness (``App.run_test`` and its pilot):
wait for the reading threads, read what the tables and the log pane show."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Log
from textual.worker import WorkerCancelled

from orchestrator.cli.tuiapp import OpsApp, table_rows


async def settle(pilot: Pilot[int]) -> None:
    """Let the reading threads finish and their results reach the screen."""
    for _ in range(3):
        await pilot.pause()
        for worker in list(pilot.app.workers):
            with contextlib.suppress(WorkerCancelled):  # replaced by a newer read
                await worker.wait()
    await pilot.pause()


async def wait_until(pilot: Pilot[int], done: Callable[[], bool]) -> None:
    """Wait (at most 10 s) for the screen's own refresh timer to show ``done``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        await settle(pilot)
        if done():
            return
    raise AssertionError("the screen did not refresh")


def drive(app: OpsApp, script: Callable[[Pilot[int]], Coroutine[Any, Any, None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            await script(pilot)

    asyncio.run(go())


def table(pilot: Pilot[int], name: str) -> list[list[str]]:
    return table_rows(pilot.app.screen.query_one(f"#{name}", DataTable))


def log_text(pilot: Pilot[int]) -> list[str]:
    return list(pilot.app.screen.query_one("#log", Log).lines)
