"""`orchestrator report RUN -o report.html`: one self-contained HTML page about a run.

Reads local run records (``<workdir>/runs/<run id>.json``); AWS runs (the job-state table)
are not connected yet."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_bytes_atomic
from orchestrator.errors import LoadError
from orchestrator.local import runlock, runrecord
from orchestrator.local.runreport import RecordError, from_local_record
from orchestrator.report import Prices, build_report


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
                   help="run id (see <workdir>/runs/), 'latest', or a run record file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.html")
    p.add_argument("--vcpu-hour-price", type=_price, metavar="USD",
                   help="price per vCPU-hour of Batch compute, to show its cost")
    p.add_argument("--workdir", type=Path,
                   help="the workspace holding the run records (default: .orchestrator in "
                        "the project root above the current directory)")
    p.set_defaults(func=cmd_report)


def record_path(run: str, workdir: Path | None) -> Path:
    given = Path(run)
    if run.endswith(".json") and given.is_file():
        return given
    root = runlock.locate(Path.cwd() / "workflow.py", workdir)
    folder = root / runrecord.RUNS
    if run == "latest":
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not found:
            raise RecordError(f"{folder}: no run records (run a workflow with --local first, "
                              "or pass --workdir)")
        return found[-1]
    path = folder / f"{Path(run).name}.json"
    if not path.is_file():
        raise RecordError(f"{path}: no such run record (runs are listed in {folder}/; "
                          "pass --workdir if the workspace is elsewhere)")
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


def cmd_report(args: argparse.Namespace) -> int:
    path = record_path(args.run, args.workdir)
    doc = runrecord.load(path) or {}
    resources, order = _resources(str(doc.get("workflow_file") or ""),
                                  str(doc.get("workflow") or ""))
    run = from_local_record(path, resources, order)
    html = build_report(run, Prices(vcpu_hour=args.vcpu_hour_price))
    try:
        write_bytes_atomic(args.output, html.encode("utf-8"))
    except OSError as exc:
        raise RecordError(f"{args.output}: cannot write the report ({exc.strerror})") from exc
    print(f"report of run {run.run_id} ({run.workflow}, {run.status}) written to {args.output}")
    return 0
