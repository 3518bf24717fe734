"""`orchestrator run FILE --local`: run a workflow on this machine, no AWS account needed."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator.cli import outpaths
from orchestrator.errors import OrchestratorError

if TYPE_CHECKING:
    from orchestrator.local.engine import RunResult


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run a workflow end to end on the embedded engine",
                       epilog="After a run, a warm engine loads in the background and serves "
                              "the next runs (about 1 s to the first job instead of 5); "
                              "ORCHESTRATOR_WARM_ENGINE=0 turns it off.")
    p.add_argument("file", metavar="FILE", help="workflow file (.py)")
    p.add_argument("--local", action="store_true", required=True,
                   help="run on this machine (to run on AWS: orchestrator deploy, then start)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="files uploaded under the workflow's bucket prefix "
                        "(default: data/<workflow>/ next to FILE)")
    p.add_argument("--samples", type=Path, metavar="FILE.csv",
                   help="sample sheet (default: samples.csv in the data folder)")
    p.add_argument("--out", type=Path, metavar="DIR", help="copy the produced outputs here")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    selection(p)
    p.add_argument("--cores", type=cores, help="vCPUs jobs may use at once, 1 or more "
                   "(default: all)")
    p.add_argument("--workdir", type=Path,
                   help="where runs keep the bucket, logs and run records (default: "
                        ".orchestrator in the project root above FILE, else next to FILE)")
    p.add_argument("--wait-for-lock", action="store_true",
                   help="if another run uses the workspace, wait for it instead of stopping")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true",
                       help="print only the summary line (and errors)")
    shown.add_argument("--json", action="store_true",
                       help="print one JSON object per event (phase, job, progress, "
                            "heartbeat, summary) for scripts")
    p.set_defaults(func=cmd_run)


def selection(p: argparse.ArgumentParser) -> None:
    """``--force`` and ``--only``: what ``run`` and ``start`` do beyond what is missing."""
    p.add_argument("--force", action="append", default=[], metavar="STAGE",
                   help="run STAGE again even where its outputs are complete (repeatable); "
                        "stages reading what it writes rerun when the bytes change")
    p.add_argument("--only", action="append", default=[], metavar="SAMPLE",
                   help="run only these samples of the sheet (repeatable)")


def cores(text: str) -> float:
    """``--cores``: a number of vCPUs, at least 1 (a job needs at least one)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of vCPUs") from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give 1 or more vCPUs")
    return value


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding like Ctrl-C: jobs are stopped and scratch folders removed."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_outputs(args: argparse.Namespace) -> Path:
    """Every place the run writes, checked before the engine loads; returns the workspace."""
    from orchestrator.local import runlock

    workspace = runlock.locate(Path(args.file), args.workdir)
    if args.workdir is not None:
        outpaths.check_folder(workspace, "--workdir")
    else:
        outpaths.check_folder(workspace, "workspace", "pass --workdir DIR to keep runs "
                                                      "elsewhere")
    if args.out is not None:
        outpaths.check_folder(args.out, "--out")
    return workspace


def cmd_run(args: argparse.Namespace) -> int:
    began = time.monotonic()
    from orchestrator.local import warmengine

    code = _run_here(args, began)  # here: no warm engine took it (cli.main asked first)
    if warmengine.start_background() is not None and not args.quiet and not args.json:
        print(f"(a warm engine is loading in the background: the next run starts in about a "
              f"second; {warmengine.ENV}=0 turns it off)", file=sys.stderr)
    return code


def _run_here(args: argparse.Namespace, began: float) -> int:
    from orchestrator.local import display, progress, runlock, warmengine

    workspace = check_outputs(args)
    if not args.wait_for_lock:  # before loading the engine: a busy workspace is said at once
        runlock.check_free(workspace)
    from orchestrator.local.engine import RunOptions, run
    from orchestrator.local.publish import MANIFEST

    if args.out is not None:
        outpaths.check_file(args.out / MANIFEST, "--out")

    opts = RunOptions(workflow_file=Path(args.file), data_dir=args.data, out_dir=args.out,
                      samples=args.samples, params=tuple(args.param), cores=args.cores,
                      force=tuple(args.force), only=tuple(args.only),
                      workdir=args.workdir, wait_for_lock=args.wait_for_lock)
    sink = display.choose(sys.stdout, json_lines=args.json, quiet=args.quiet)

    def note(line: str) -> None:
        sink.emit(progress.Notice(line))

    warm = ", warm" if warmengine.SERVED else ""
    note(f"running {args.file} on the embedded engine (moto + local processes{warm})")
    try:
        with _sigterm_unwinds():
            result = run(opts, sink.emit, note)
    except Terminated:
        sink.close()
        print("terminated: running jobs were stopped; finished stages are kept", file=sys.stderr)
        return 143
    except OSError as exc:
        sink.close()
        raise RunOSError(f"{outpaths.describe(exc)}; finished stages are kept in {workspace}: "
                         "fix it and run the same command again") from exc
    except BaseException:
        sink.close()  # a live display gives the terminal back before the error is printed
        raise
    wall = time.monotonic() - began  # the summary's time is the command's, start to end
    sink.emit(progress.summarize(
        result.workflow, result.rows, status=result.status, seconds=wall, logs=result.logs,
        error=result.error, cause=result.cause, run_id=result.run_id, elapsed=wall))
    sink.close()
    if not args.json:
        report(result, args.out, sys.stderr if args.quiet else sys.stdout,
               details=not args.quiet)
    return 0 if result.succeeded else 1


class RunOSError(OrchestratorError):
    """A file could not be read or written during a run; what finished is kept."""

    exit_code = 2


def report(result: RunResult, out_dir: Path | None, out: TextIO, details: bool = True) -> None:
    """What follows the summary: where outputs and the run record went, and why it failed.
    Without ``details`` (``--quiet``), only the failure."""
    if not details:
        if not result.succeeded:
            print(f"error: {result.error}\ncause: {result.cause}", file=out)
        return
    if out_dir is not None:
        print(f"outputs: {len(result.outputs)} file(s) copied to {out_dir}/", file=out)
        missing = result.published.missing if result.published else []
        if missing:
            shown = ", ".join(f"{st}/{sa} ({state})" for st, sa, state in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            print(f"missing from {out_dir}/ (not current after this run): {shown}{more}; "
                  f"see {out_dir}/RUN.json", file=out)
    if result.state_dir is not None:
        print(f"run {result.run_id} recorded in {result.state_dir}/runs/", file=out)
    if result.succeeded:
        return
    print(f"\nerror: {result.error}", file=out)
    print(f"cause: {result.cause}", file=out)
    for job_id, tail in result.failed_tails.items():
        print(f"\nlast lines of job {job_id} ({result.logs.get(job_id, 'no log')}):", file=out)
        for line in tail[-15:]:
            print(f"  | {line}", file=out)
    print("\nfix the problem and run the same command again: finished stages are skipped",
          file=out)
