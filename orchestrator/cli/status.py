"""`orchestrator runs`, `status`, `watch` and `logs`: what runs did, local or on AWS.

Every command reads runs through orchestrator.runs (cli.runsource picks the back end: the
workspace's run records with ``--local``/``--workdir`` or a local run id, else AWS). Tables for
people, ``--json`` for scripts; the JSON shapes are documented in docs/operations.md.
boto3 is imported only when AWS is read.

Exit codes: ``status``/``watch`` exit 1 when the run ended in failure, 0 otherwise; ``logs``
exits 1 when the job has no such attempt or log; 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.aws.errors import UsageError
from orchestrator.cli.runsource import (
    LATEST,
    add_source_options,
    local_asked,
    open_aws,
    open_source,
    resolve_run,
    workspace,
)
from orchestrator.errors import OrchestratorError
from orchestrator.runs import Run, RunNotFound, RunSource, RunSummary, ran

FAILED_RUN = ("FAILED", "TIMED_OUT", "ABORTED", "INTERRUPTED")
RUN_HELP = f"local run id, execution ARN or execution name; {LATEST!r}: the newest run"


def register(sub: Any) -> None:
    p = sub.add_parser("runs", help="recent runs, local and on AWS")
    p.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="only this workflow's runs")
    p.add_argument("--limit", type=int, default=20, help="runs per source (%(default)s)")
    add_source_options(p)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("status", help="a run's stages and samples: states, failures, logs")
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    add_source_options(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("watch", help="`status`, refreshed until the run ends")
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    p.add_argument("--interval", type=float, default=5.0, help="seconds (%(default)s)")
    add_source_options(p)
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("logs", help="a job's output (CloudWatch Logs, or the local log file)")
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    p.add_argument("stage", nargs="?", metavar="STAGE", help="(optional with --save)")
    p.add_argument("sample", nargs="?", metavar="SAMPLE",
                   help="the sample (needed when the stage fans out)")
    p.add_argument("--attempt", type=int, help="1-based (default: the last)")
    p.add_argument("--follow", action="store_true", help="keep printing until the job ends")
    p.add_argument("--save", type=Path, metavar="DIR",
                   help="write every attempt of every failed job to DIR/<stage>/<sample>."
                        "attempt<n>.log")
    p.add_argument("--interval", type=float, default=2.0, help="--follow: seconds between "
                   "reads (%(default)s)")
    add_source_options(p)
    p.set_defaults(func=cmd_logs)


# --- shared ---------------------------------------------------------------------------------

def _guard(what: str) -> Any:
    """boto3's errors as one line (opsout.aws), imported only when AWS is used."""
    from orchestrator.cli.opsout import aws

    return aws(what)


def _out() -> Any:
    from orchestrator.cli import opsout

    return opsout


def duration(value: float | None) -> str:
    if value is None:
        return "-"
    from orchestrator.aws.executions import duration as fmt

    return fmt(value)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def open_run(args: argparse.Namespace) -> tuple[RunSource, str]:
    """The source of ``args.run`` and the run's id there (``latest`` resolved once)."""
    source = open_source(args, args.run)
    with _guard(f"finding run {args.run}"):
        return source, resolve_run(source, args.run)


def read_run(args: argparse.Namespace) -> tuple[RunSource, Run]:
    source, run_id = open_run(args)
    with _guard(f"reading run {run_id}"):
        return source, source.get_run(run_id)


# --- runs -----------------------------------------------------------------------------------

def cmd_runs(args: argparse.Namespace) -> int:
    only_local = local_asked(args)  # refuses --local with --aws
    only_aws = bool(args.aws or args.table)
    found: list[RunSummary] = []
    errors: list[str] = []
    if not only_aws:
        from orchestrator.local.runs import LocalRuns

        found.extend(LocalRuns(workspace(args.workdir)).list_runs(args.workflow, args.limit))
    if not only_local:
        try:
            source = open_aws(args)
            with _guard("listing executions"):
                found.extend(source.list_runs(args.workflow, args.limit))
        except OrchestratorError as exc:
            if only_aws:
                raise
            errors.append(f"AWS runs not shown: {exc} (--local shows local runs only)")
    found.sort(key=lambda s: s.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    out = _out()
    if args.json:
        out.print_json({"runs": [s.as_json() for s in found], "errors": errors})
    else:
        out.print_table("runs", ("RUN", "WORKFLOW", "WHERE", "STATUS", "STARTED (UTC)",
                                 "DURATION", "RAN", "SKIPPED", "FAILED", "STARTED BY"),
                        [(s.name, s.workflow, s.backend, s.status, _when(s.started_at),
                          duration(s.duration_seconds()), str(ran(s.counts)),
                          str(s.counts.get("SKIPPED", 0)), str(s.counts.get("FAILED", 0)),
                          s.started_by) for s in found])
        for e in errors:
            print(e, file=sys.stderr)
    return 0


# --- status / watch -------------------------------------------------------------------------

def status_document(source: RunSource, run: Run) -> dict[str, Any]:
    from orchestrator.runstatus import status_doc

    with _guard("reading logs"):
        return status_doc(run, source.log_location, source.log_lines,
                          now=datetime.now(UTC))


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k.lower()} {v}" for k, v in counts.items())


def render_status(doc: Mapping[str, Any]) -> None:
    out, run = _out(), doc["run"]
    jobs = run["jobs"]
    print(f"{run['name']} ({run['workflow']}, {run['backend']}): {run['status']}, started "
          f"{run['started_at'] or '-'} by {run['started_by']}, "
          f"{duration(run['duration_seconds'])}; jobs ran {jobs['ran']}, skipped "
          f"{jobs['skipped']}, failed {jobs['failed']}")
    if run["error"]:
        print(f"error: {run['error']}" + (f": {run['cause']}" if run["cause"] else ""))
    out.print_table("stages", ("STAGE", "JOBS", "STATES", "ATTEMPTS", "SPOT RECLAIMS",
                               "DURATION"),
                    [(s["stage"], str(s["jobs"]), _counts(s["counts"]), str(s["attempts"]),
                      str(s["spot_reclaims"]), duration(s["duration_seconds"]))
                     for s in doc["stages"]])
    out.print_table("jobs", ("STAGE", "SAMPLE", "STATUS", "ATTEMPTS", "DURATION", "EXIT"),
                    [(j["stage"], j["sample"], j["status"], str(j["attempts"]),
                      duration(j["duration_seconds"]),
                      "-" if j["exit_code"] is None else str(j["exit_code"]))
                     for j in doc["jobs"]])
    for f in doc["failures"]:
        print(f"FAILED {f['stage']}/{f['sample']}: exit {f['exit_code']}, "
              f"{f['status_reason'] or 'no reason given'}"
              + (f" ({f['spot_reclaims']} Spot reclaim(s))" if f["spot_reclaims"] else ""))
        for log in f["logs"]:
            print(f"  log: {log}")
    for b in doc["blocked"]:
        print(f"blocked: sample {b['sample']} failed in {', '.join(b['failed_stages'])}"
              + (f"; not run: {', '.join(b['not_run'])}" if b["not_run"] else ""))
    for m in doc["missing_outputs"]:
        print(f"missing outputs: {m['stage']}/{m['sample']}: {m['outputs']}")


def _exit(doc: Mapping[str, Any]) -> int:
    return 1 if doc["run"]["status"] in FAILED_RUN else 0


def cmd_status(args: argparse.Namespace) -> int:
    source, run = read_run(args)
    doc = status_document(source, run)
    if args.json:
        _out().print_json(doc)
    else:
        render_status(doc)
    return _exit(doc)


def cmd_watch(args: argparse.Namespace) -> int:
    source, run_id = open_run(args)
    while True:
        with _guard(f"reading run {run_id}"):
            run = source.get_run(run_id)
        doc = status_document(source, run)
        if args.json:  # one document per line, each refresh
            print(json.dumps(doc, default=str), flush=True)
        else:
            if sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            render_status(doc)
            sys.stdout.flush()
        if run.summary.finished:
            return _exit(doc)
        time.sleep(args.interval)


# --- logs -----------------------------------------------------------------------------------

def find_row(run: Run, stage: str, sample: str | None) -> dict[str, Any]:
    rows = [r for r in run.rows if r.get("stage") == stage]
    if not rows:
        stages = sorted({str(r.get("stage")) for r in run.rows})
        raise RunNotFound(f"run {run.summary.name} has no job of stage {stage!r}: its stages "
                          f"are {', '.join(stages) or 'none yet'}")
    if sample is not None:
        rows = [r for r in rows if r.get("sample") == sample]
        if not rows:
            raise RunNotFound(f"stage {stage!r} of run {run.summary.name} has no sample "
                              f"{sample!r}: `orchestrator status {run.summary.name}` lists them")
    if len(rows) > 1:
        names = ", ".join(str(r.get("sample")) for r in rows[:5])
        raise UsageError(f"stage {stage!r} ran {len(rows)} samples: name one ({names}"
                         f"{', ...' if len(rows) > 5 else ''})")
    return rows[0]


def _attempt(row: Mapping[str, Any], wanted: int | None) -> int:
    attempts = int(row.get("attempts") or 0)
    label = f"{row.get('stage')}/{row.get('sample')}"
    if attempts == 0:
        raise RunNotFound(f"{label} never ran ({row.get('status')}: "
                          f"{row.get('status_reason') or 'no job'}), so it has no log")
    if wanted is not None and not 1 <= wanted <= attempts:
        raise UsageError(f"{label} has {attempts} attempt(s): pass --attempt 1..{attempts}")
    return wanted or attempts


def cmd_logs(args: argparse.Namespace) -> int:
    if args.save is not None:
        return _save(args)
    if not args.stage:
        raise UsageError("give a STAGE (and SAMPLE when it fans out), or --save DIR")
    source, run = read_run(args)
    row = find_row(run, args.stage, args.sample)
    attempt = _attempt(row, args.attempt)
    with _guard("reading the log"):
        lines = list(source.log_lines(row, attempt))
        where = source.log_location(row, attempt)
    if args.json and not args.follow:
        _out().print_json({"stage": row["stage"], "sample": row["sample"], "attempt": attempt,
                           "log": where, "lines": lines})
        return 0
    for line in lines:
        _emit(args, row, attempt, line)
    if args.follow:
        _follow(args, source, run.summary.run_id, row, attempt, len(lines))
    return 0


def _emit(args: argparse.Namespace, row: Mapping[str, Any], attempt: int, line: str) -> None:
    if args.json:  # --follow --json: one object per line
        print(json.dumps({"stage": row["stage"], "sample": row["sample"], "attempt": attempt,
                          "line": line}), flush=True)
    else:
        print(line, flush=True)


def _follow(args: argparse.Namespace, source: RunSource, run_id: str,
            row: Mapping[str, Any], attempt: int, shown: int) -> None:
    """Print new lines until the job ends (a new attempt is followed from its start)."""
    while True:
        time.sleep(args.interval)
        with _guard(f"reading run {run_id}"):
            run = source.get_run(run_id)
        current = find_row(run, str(row["stage"]), str(row["sample"]))
        latest = int(current.get("attempts") or 0)
        with _guard("reading the log"):
            lines = list(source.log_lines(current, attempt))
        for line in lines[shown:]:
            _emit(args, current, attempt, line)
        shown = len(lines)
        if latest > attempt and args.attempt is None:
            attempt, shown = latest, 0
            continue
        if current.get("status") in ("SUCCEEDED", "FAILED", "SKIPPED"):
            return


def _save(args: argparse.Namespace) -> int:
    from orchestrator.atomic import write_bytes_atomic

    source, run = read_run(args)
    rows = [r for r in run.rows if r.get("status") == "FAILED"
            and (args.stage is None or r.get("stage") == args.stage)
            and (args.sample is None or r.get("sample") == args.sample)]
    saved: list[dict[str, Any]] = []
    problems: list[str] = []
    for row in rows:
        for attempt in range(1, int(row.get("attempts") or 0) + 1):
            path = args.save / str(row["stage"]) / f"{row['sample']}.attempt{attempt}.log"
            try:
                with _guard("reading the log"):
                    lines = list(source.log_lines(row, attempt))
            except RunNotFound as exc:
                problems.append(str(exc))
                continue
            write_bytes_atomic(path, "".join(f"{x}\n" for x in lines).encode())
            saved.append({"stage": row["stage"], "sample": row["sample"], "attempt": attempt,
                          "path": str(path), "lines": len(lines)})
    if args.json:
        _out().print_json({"saved": saved, "problems": problems})
    else:
        for s in saved:
            print(f"{s['path']}: {s['lines']} line(s)")
        for p in problems:
            print(f"not saved: {p}", file=sys.stderr)
        if not rows:
            print(f"run {run.summary.name} has no failed job"
                  + (f" in stage {args.stage}" if args.stage else ""))
    return 1 if problems else 0

