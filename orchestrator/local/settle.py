"""When the job-state table tells the whole story of an execution.

Batch events reach the table through EventBridge, a queue and a handler, so they lag the
execution. The execution's own history says which jobs it submitted (one ``TaskSubmitted``
per ``batch:submitJob``, carrying JobId and JobName); the table is settled when the
execution row is closed and, for every job name the history submitted, the table's row holds
the last job id submitted under that name, in a terminal status. An array job is settled
when its own row is terminal and as many of its children's rows (job ids ``<id>:<index>``,
one per sample) are terminal as it has children. Only then are the counts of a summary the
jobs that ran.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator_runtime import contracts as c
from orchestrator_runtime import jobstate

POLL = 0.05
# The engine's threads (event delivery, the job-state handler) share the interpreter with
# whoever polls the table: reading a table of a thousand rows is CPU the handlers then lack,
# so a poll waits a few times as long as its read took.
POLL_SHARE = 4


def pause(least: float, read_seconds: float) -> float:
    """How long to wait before reading the table again."""
    return max(least, POLL_SHARE * read_seconds)


@dataclass(frozen=True)
class Settled:
    execution: dict[str, Any] | None
    rows: list[dict[str, Any]]
    missing: tuple[str, ...]  # job names whose final state the table never received

    @property
    def complete(self) -> bool:
        return not self.missing


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def submitted_jobs(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Job name -> id of the last Batch job submitted under that name, from the history."""
    jobs: dict[str, str] = {}
    for event in events:
        detail = event.get("taskSubmittedEventDetails") or {}
        if detail.get("resourceType") != "batch":
            continue
        try:
            output = json.loads(detail.get("output") or "{}")
        except ValueError:
            continue
        if isinstance(output, dict) and output.get("JobId") and output.get("JobName"):
            jobs[str(output["JobName"])] = str(output["JobId"])
    return jobs


def history_counts(events: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(events, transitions) of an execution's history: Step Functions fails a run past
    limits.HISTORY_EVENTS events, and bills the states it entered as transitions."""
    return len(events), sum(1 for e in events if str(e.get("type", "")).endswith("StateEntered"))


def unsettled(execution: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]],
              submitted: Mapping[str, str],
              arrays: Sequence[Mapping[str, Any]] = ()) -> tuple[str, ...]:
    """Job names (and ``execution``) the table does not yet show in their final state."""
    final = {str(r.get("job_name")): str(r.get("job_id")) for r in rows
             if r.get("status") in c.STAGE_FINAL}
    children = Counter(str(r.get("job_id")).partition(":")[0] for r in rows
                       if r.get("status") in c.STAGE_FINAL and ":" in str(r.get("job_id")))
    done = {str(a.get("job_id")) for a in arrays if a.get("status") in c.STAGE_FINAL
            and children[str(a.get("job_id"))] >= int(a.get("size") or 0)}
    missing = [name for name, job_id in submitted.items()
               if final.get(name) != job_id and job_id not in done]
    missing += [f"{r.get('stage')}/{r.get('sample')}" for r in rows
                if r.get("status") not in c.STAGE_FINAL and str(r.get("job_name")) not in submitted]
    if execution is None or execution.get("status") in (None, "RUNNING"):
        missing.append("execution")
    return tuple(missing)


def settled_rows(table: Any, execution_arn: str, submitted: Mapping[str, str], *,
                 timeout: float = 60.0) -> Settled:
    """The table's rows once every job of the (finished) execution is recorded as final.

    ``timeout`` bounds the wait for events that never come (a handler that keeps failing):
    it counts from the last time the table changed, so the events of a thousand array
    children still arriving are waited for, and a table that has stopped changing for
    ``timeout`` is returned as it is, with the job names that are not final.
    """
    deadline = time.monotonic() + timeout
    last: tuple[Any, ...] = ()
    while True:
        began = time.monotonic()
        execution, rows, arrays = jobstate.read_run(table, execution_arn)
        missing = unsettled(execution, rows, submitted, arrays)
        if not missing:
            return Settled(execution, rows, missing)
        seen = (len(rows), sum(1 for r in rows if r.get("status") in c.STAGE_FINAL),
                tuple(str(a.get("status")) for a in arrays))
        if seen != last:
            last, deadline = seen, time.monotonic() + timeout
        elif time.monotonic() > deadline:
            return Settled(execution, rows, missing)
        time.sleep(pause(POLL, time.monotonic() - began))
