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

from orchestrator import loader, model
from orchestrator.compiler import compile_workflow, render
from orchestrator.errors import UsageError
from orchestrator.local import progress, resources, settle, workspace
from orchestrator.local.adapter import LocalAws
from orchestrator.samples import execution_input, parse_params, read_sheet
from orchestrator.template import describe
from orchestrator.validate import ensure_valid
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


@dataclass(frozen=True)
class RunOptions:
    workflow_file: Path
    data_dir: Path | None = None
    out_dir: Path | None = None
    samples: Path | None = None
    params: tuple[str, ...] = ()
    cores: float | None = None
    workdir: Path = Path(".orchestrator")
    poll_seconds: float = 0.2


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

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class Prepared:
    workflow: model.Workflow
    definition: str
    samples: list[dict[str, str]]
    params: dict[str, str]  # as given: what goes into the execution input
    values: dict[str, str]  # params with declared defaults filled in: for local paths
    data_dir: Path | None


def prepare(opts: RunOptions) -> Prepared:
    """Everything that can be wrong with the inputs, found before anything starts."""
    wf = loader.load_one(opts.workflow_file)
    ensure_valid(wf)
    definition = render(compile_workflow(wf))
    data_dir = opts.data_dir
    if data_dir is not None and not data_dir.is_dir():
        raise workspace.InputDataError(f"{data_dir}: no such data folder")
    if data_dir is None:
        default = opts.workflow_file.parent / "data" / wf.name
        data_dir = default if default.is_dir() else None
    samples: list[dict[str, str]] = []
    if wf.foreach is not None:
        sheet = opts.samples or (data_dir / "samples.csv" if data_dir else None)
        if sheet is None:
            raise UsageError(f"workflow {wf.name!r} runs per {wf.foreach.column}: "
                             "pass --samples FILE.csv")
        samples = read_sheet(sheet, wf)
    elif opts.samples is not None:
        read_sheet(opts.samples, wf)  # raises: the workflow takes no samples
    params = parse_params(list(opts.params))
    execution_input(wf, samples=samples, params=params)  # raises on unknown/missing params
    values = {**{p.name: p.default for p in wf.params if p.default is not None}, **params}
    mirror = workspace.Workspace(opts.workdir, wf.bucket_name).mirror
    workspace.check_inputs(wf, samples, values, data_dir, mirror)
    return Prepared(wf, definition, samples, params, values, data_dir)


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


def run(opts: RunOptions, show: Callable[[str], None] = lambda _: None) -> RunResult:
    prep = prepare(opts)
    wf = prep.workflow
    space = workspace.Workspace(opts.workdir, wf.bucket_name)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    log_dir = opts.workdir / "logs" / wf.name / run_id
    stack = describe([wf], {wf.name: json.loads(prep.definition)})
    handler_env = HANDLER_ENV | {"TABLE_NAME": resources.table_name(stack.tables[0])}
    with _quiet_emulator(), LocalAws(cores=opts.cores, log_dir=log_dir,
                                     extra_env=handler_env) as aws:
        deployed = resources.deploy(aws, stack, {wf.name: prep.definition}, _handlers())
        s3 = aws.client("s3")
        space.restore(s3, wf.bucket_prefix)
        if prep.data_dir is not None:
            workspace.upload_tree(s3, prep.data_dir, wf.bucket_name, wf.bucket_prefix)
        result = _execute(aws, deployed, prep, run_id, opts.poll_seconds, show)
        result.outputs = (workspace.copy_outputs(s3, wf, prep.samples, prep.values,
                                                 opts.out_dir) if opts.out_dir else [])
        space.keep(s3, wf.bucket_prefix)
    return result


def _execute(aws: LocalAws, deployed: resources.Deployed, prep: Prepared, run_id: str,
             poll: float, show: Callable[[str], None]) -> RunResult:
    sfn = aws.client("stepfunctions")
    wf = prep.workflow
    started = time.monotonic()
    arn = sfn.start_execution(
        stateMachineArn=deployed.state_machines[wf.name],
        name=f"{wf.name}-{run_id}"[:limits.EXECUTION_NAME_CHARS],
        input=c.canonical_json(execution_input(prep.workflow, samples=prep.samples,
                                               params=prep.params)))["executionArn"]
    aws.emit_execution_status(arn)
    shown = ""
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        _, rows = jobstate.read_execution(deployed.table, arn)
        text = progress.render_progress(progress.tally(wf, len(prep.samples), rows),
                                        time.monotonic() - started)
        if text.split("\nelapsed")[0] != shown.split("\nelapsed")[0]:
            show(text)
            shown = text
        if desc["status"] != "RUNNING":
            break
        time.sleep(poll)
    aws.emit_execution_status(arn)
    rows = settle.settled_rows(deployed.table, sfn, arn).rows
    tallies = progress.tally(wf, len(prep.samples), rows)
    show(progress.render_progress(tallies, time.monotonic() - started))
    logs = {str(r["job_id"]): str(aws.log_path(str(r["log_stream"])))
            for r in rows if r.get("job_id") and r.get("log_stream")}
    tails = {str(r["job_id"]): aws.batch.stderr_tail(str(r["job_id"]))
             for r in rows if r.get("status") == "FAILED" and r.get("job_id")}
    return RunResult(wf, desc["status"], arn, desc.get("error", ""), desc.get("cause", ""),
                     time.monotonic() - started, rows, tallies, logs, tails)
