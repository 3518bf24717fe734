"""`orchestrator run --local`: the compiled state machine on the embedded engine.

The engine compiles the workflow exactly as `orchestrator compile` does, creates the stack's
resources in moto (see resources.py), starts one execution and watches the job-state table
that Batch events feed, as a user on AWS would. Scheduling is the state machine's: nothing
here decides what runs when.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID

from orchestrator import model
from orchestrator.atomic import clean_temporaries
from orchestrator.local import (
    gcphases,
    inputs,
    progress,
    publish,
    reaper,
    resources,
    runlock,
    runrecord,
    s3store,
    settle,
    workspace,
)
from orchestrator.local.adapter import LocalAws
from orchestrator.local.prepare import Prepared, prepare
from orchestrator.local.prepare import RunOptions as RunOptions  # run() takes these
from orchestrator.samples import execution_input
from orchestrator.template import describe
from orchestrator_runtime import contracts as c
from orchestrator_runtime import jobstate, limits

# Lambda handlers log JSON and print EMF metrics to stdout; locally that would bury the
# progress display, and there is no X-Ray daemon.
HANDLER_ENV = {
    "POWERTOOLS_SERVICE_NAME": "orchestrator-local",
    "POWERTOOLS_METRICS_NAMESPACE": "Orchestrator",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
}


@dataclass
class RunResult:
    workflow: model.Workflow
    status: str
    execution_arn: str
    error: str
    cause: str
    seconds: float
    rows: list[dict[str, Any]]
    tallies: dict[str, progress.Tally]
    logs: dict[str, str] = field(default_factory=dict)  # job id -> log file
    failed_tails: dict[str, list[str]] = field(default_factory=dict)  # job id -> stderr tail
    outputs: list[Path] = field(default_factory=list)
    published: publish.Published | None = None
    run_id: str = ""
    state_dir: Path | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def _handlers() -> dict[str, Callable[..., Any]]:
    """The real Lambda handlers the local engine runs, by function name (imported late: only
    a local run needs powertools). s3_trigger is not run: a local run starts its execution."""
    from orchestrator_lambdas.check_outputs import app as check_app
    from orchestrator_lambdas.job_events import app as events_app

    return {"check_outputs": check_app.handler, "job_events": events_app.handler}


@contextlib.contextmanager
def _quiet_emulator() -> Iterator[None]:
    """moto logs every failed state with its whole parse tree; a failed job is reported
    by the engine, readably, instead."""
    logger = logging.getLogger("moto")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(opts: RunOptions, show: progress.Emit = lambda _: None,
        note: Callable[[str], None] = lambda _: None) -> RunResult:
    """One local run. ``show`` gets the progress events (see progress.py), ``note`` one-line
    notices.

    Finished stages are on disk the moment their marker is written (s3store), so an
    interruption at any point (KeyboardInterrupt, SIGTERM turned into one by the CLI, or
    SIGKILL) loses at most the stages that were running.
    """
    with gcphases.paused():  # until the execution starts (gcphases.frozen)
        return _run(opts, show, note)


def _run(opts: RunOptions, show: progress.Emit, note: Callable[[str], None]) -> RunResult:
    prep = prepare(opts)
    wf = prep.workflow
    monitor = progress.Monitor(wf, len(prep.samples), show)
    root = opts.state_dir
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    record = runrecord.RunRecord(root, run_id, wf.name, str(opts.workflow_file.resolve()))
    note(f"state: {root}")
    note(f"logs:  {record.log_dir}")
    with runlock.hold(root, run_id, wf.name, wait=opts.wait_for_lock, note=note) as stale:
        if stale is not None:
            note(f"took over the workspace lock of {stale.describe()}: no longer running")
        killed = reaper.sweep(root)
        if killed:
            note(f"stopped {killed} leftover job process(es) of an interrupted run")
        # A run killed mid-write (SIGKILL: no handler runs) leaves its temporary files.
        clean_temporaries(root / runrecord.RUNS)
        runrecord.close_interrupted(root)
        try:
            record.save()
        except OSError as exc:
            raise runlock.WorkspaceUnusable.because(root, exc) from exc
        watchdog = reaper.watch(root)
        try:
            result = _run_locked(opts, prep, record, monitor)
        except BaseException as exc:
            if record.status == "RUNNING":
                interrupted = isinstance(exc, KeyboardInterrupt)
                record.finish("INTERRUPTED" if interrupted else "FAILED",
                              type(exc).__name__, str(exc))
            raise
        finally:
            if watchdog.stdin is not None:
                watchdog.stdin.close()
            with contextlib.suppress(Exception):
                watchdog.wait(timeout=10)
    return result


def _run_locked(opts: RunOptions, prep: Prepared, record: runrecord.RunRecord,
                monitor: progress.Monitor) -> RunResult:
    wf = prep.workflow
    monitor.phase("starting", "starting the engine")
    space = workspace.Workspace(record.root, wf.bucket_name)
    stack = describe([wf], {wf.name: json.loads(prep.definition)})
    handler_env = HANDLER_ENV | {"TABLE_NAME": resources.table_name(stack.tables[0]),
                                 reaper.MARKER: str(record.root)}
    with _quiet_emulator(), LocalAws(cores=opts.cores, log_dir=record.stream_dir,
                                     extra_env=handler_env,
                                     scratch_dir=record.root / reaper.SCRATCH) as aws:
        aws.batch.warm_up()  # every job of a compiled workflow runs orchestrator-runner
        deployed = resources.deploy(aws, stack, {wf.name: prep.definition}, _handlers())
        store = space.open_store(prefix=wf.bucket_prefix, data_dir=prep.data_dir,
                                 account_id=DEFAULT_ACCOUNT_ID, region_name=aws.region)
        s3store.attach(wf.bucket_name, store)
        staged = {path for path, _, _ in inputs.raw_inputs(wf, prep.samples, prep.values)}
        monitor.phase("staging", f"staging {len(staged)} input file(s)"
                      + (f" from {prep.data_dir}" if prep.data_dir is not None else ""))
        try:
            with gcphases.frozen():
                result = _execute(aws, deployed, prep, record, opts.poll_seconds, monitor,
                                  opts.execution_name)
        finally:
            store.cache.save()
        record.finish(result.status, result.error, result.cause)
        result.run_id, result.state_dir = record.run_id, record.root
        if opts.out_dir is not None:
            monitor.phase("keeping", f"keeping results in {opts.out_dir}")
            result.published = publish.publish_outputs(
                aws.client("s3"), wf, prep.samples, prep.values, opts.out_dir, result.rows,
                record.run_id, result.status)
            result.outputs = result.published.files
    return result


def _execute(aws: LocalAws, deployed: resources.Deployed, prep: Prepared,
             record: runrecord.RunRecord, poll: float,
             monitor: progress.Monitor, execution_name: str | None = None) -> RunResult:
    sfn = aws.client("stepfunctions")
    wf = prep.workflow
    started = time.monotonic()
    arn = sfn.start_execution(
        stateMachineArn=deployed.state_machines[wf.name],
        name=execution_name or f"{wf.name}-{record.run_id}"[:limits.EXECUTION_NAME_CHARS],
        input=c.canonical_json(execution_input(prep.workflow, samples=prep.samples,
                                               params=prep.params, force=prep.force,
                                               only=prep.only)))["executionArn"]
    record.execution_arn = arn
    aws.emit_execution_status(arn)
    jobs = sum(progress.expected_jobs(wf, len(prep.samples)).values())
    monitor.phase("running", f"running {jobs} job(s)")
    read = -1  # the functions' activity when the table was last read
    ended = aws.end_of(arn)  # cuts the wait between polls short
    while True:
        began = time.monotonic()
        desc = sfn.describe_execution(executionArn=arn)
        activity = aws.activity()
        if activity != read:  # else no function has written the table since the last read
            read = activity
            _, rows = jobstate.read_execution(deployed.table, arn)
            record.update(rows)
            monitor.rows(rows)
        if desc["status"] != "RUNNING":
            break
        ended.wait(settle.pause(poll, time.monotonic() - began))
    aws.emit_execution_status(arn)
    aws.flush_events()
    events = settle.history(sfn, arn)
    rows = settle.settled_rows(deployed.table, arn, settle.submitted_jobs(events)).rows
    record.history_events, record.state_transitions = settle.history_counts(events)
    tallies = progress.tally(wf, len(prep.samples), rows)
    monitor.rows(rows)
    record.update(rows)
    rows = record.rows
    logs = {str(r["job_id"]): str(r["log_files"][-1])
            for r in rows if r.get("job_id") and r.get("log_files")}
    tails = {str(r["job_id"]): aws.batch.stderr_tail(str(r["job_id"]))
             for r in rows if r.get("status") == "FAILED" and r.get("job_id")}
    return RunResult(wf, desc["status"], arn, desc.get("error", ""), desc.get("cause", ""),
                     time.monotonic() - started, rows, tallies, logs, tails)
