"""`orchestrator report RUN -o report.html`: one self-contained HTML page about a run.

A local run is read from its run record (``<workdir>/runs/<run id>.json``, or a record file);
its job sizes come from the workflow file the run recorded. A run on AWS (``--aws``, any other
AWS option, or an execution ARN) is read like `status` reads it (the job-state table, falling
back to the execution history and DescribeJobs); its job sizes are what DescribeJobs says
the jobs asked for, and its state transitions are counted in the execution history.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_bytes_atomic
from orchestrator.cli.runsource import LATEST, add_source_options, aws_asked, local_asked
from orchestrator.errors import LoadError
from orchestrator.local import runrecord
from orchestrator.local.runreport import RecordError, from_local_record
from orchestrator.report import Prices, ReportInput, build_report


def _price(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.04)") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a price of zero or more (e.g. 0.04)")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="write an HTML report of a run (timeline, stats, costs)")
    p.add_argument("run", metavar="RUN",
                   help=f"local run id, {LATEST!r} (the newest run), a run record file, or "
                        "with --aws an execution ARN or name")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.html")
    p.add_argument("--vcpu-hour-price", type=_price, metavar="USD",
                   help="price per vCPU-hour of Batch compute, to show its cost")
    add_source_options(p)
    p.set_defaults(func=cmd_report)


def wants_aws(args: argparse.Namespace) -> bool:
    """Local unless AWS is asked for (an AWS option, or an execution ARN)."""
    if local_asked(args):
        return False
    return aws_asked(args) or str(args.run).startswith("arn:")


def record_path(run: str, workdir: Path | None) -> Path:
    from orchestrator.cli.runsource import resolve_run, workspace
    from orchestrator.local.runs import LocalRuns
    from orchestrator.runs import RunNotFound

    given = Path(run)
    if run.endswith(".json") and given.is_file():
        return given
    root = workspace(workdir)
    folder = root / runrecord.RUNS
    try:
        run = resolve_run(LocalRuns(root), run)
    except RunNotFound as exc:
        raise RecordError(f"{folder}: {exc}") from None
    path = folder / f"{Path(run).name}.json"
    if not path.is_file():
        raise RecordError(f"{path}: no such run record (runs are listed in {folder}/; "
                          "pass --workdir if the workspace is elsewhere, or --aws for a run "
                          "on AWS)")
    return path


def _resources(workflow_file: str, name: str) -> tuple[dict[str, tuple[float, int]],
                                                         tuple[str, ...]]:
    """Stage -> (vCPUs, GPUs) and stage order from the workflow file the run recorded."""
    from orchestrator import loader

    try:
        workflows = loader.load_file(workflow_file)
    except LoadError as exc:
        print(f"warning: vCPU- and GPU-hours not counted: {exc}", file=sys.stderr)
        return {}, ()
    wf = next((w for w in workflows if w.name == name), None)
    if wf is None:
        print(f"warning: vCPU- and GPU-hours not counted: {workflow_file} no longer defines "
              f"workflow {name!r}", file=sys.stderr)
        return {}, ()
    return ({j.name: (float(j.cpus), int(j.gpus)) for j in wf.jobs},
            tuple(j.name for j in wf.jobs))


def local_input(args: argparse.Namespace) -> ReportInput:
    path = record_path(args.run, args.workdir)
    doc = runrecord.load(path) or {}
    resources, order = _resources(str(doc.get("workflow_file") or ""),
                                  str(doc.get("workflow") or ""))
    return from_local_record(path, resources, order)


def aws_input(args: argparse.Namespace) -> ReportInput:
    from orchestrator.cli.opsout import aws
    from orchestrator.cli.runsource import open_aws, resolve_run
    from orchestrator.report.rows import from_run

    source = open_aws(args)
    with aws(f"reading run {args.run}"):
        run = source.get_run(resolve_run(source, args.run))
        sizes = source.stage_sizes(run)
        transitions = source.state_transitions(run.summary.run_id)
    unsized = sorted({str(r.get("stage")) for r in run.rows
                      if r.get("status") != "SKIPPED"} - set(sizes))
    if unsized:
        print(f"warning: vCPU- and GPU-hours not counted for {', '.join(unsized)}: Batch no "
              "longer describes their jobs", file=sys.stderr)
    return from_run(run, sizes, state_transitions=transitions)


def cmd_report(args: argparse.Namespace) -> int:
    run = aws_input(args) if wants_aws(args) else local_input(args)
    html = build_report(run, Prices(vcpu_hour=args.vcpu_hour_price))
    try:
        write_bytes_atomic(args.output, html.encode("utf-8"))
    except OSError as exc:
        raise RecordError(f"{args.output}: cannot write the report ({exc.strerror})") from exc
    if args.json:
        from orchestrator.cli.opsout import print_json

        print_json({"run_id": run.run_id, "workflow": run.workflow, "status": run.status,
                    "jobs": len(run.jobs),
                    "attempts": sum(len(j.attempts) for j in run.jobs),
                    "output": str(args.output)})
    else:
        print(f"report of run {run.run_id} ({run.workflow}, {run.status}) written to "
              f"{args.output}")
    return 0
