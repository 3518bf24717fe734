"""`orchestrator tui`: a terminal UI over the runs `runs` and `status` read (cli.tuiapp).

Local runs of the workspace by default (``--workdir``); runs on AWS with ``--aws`` or any AWS
option `status` takes (``--table``, ``--stack-name``, ``--region``), or when ``--run`` names an
execution (an ARN or an execution name). Textual
(the ``tui`` extra) is imported when the command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from orchestrator.cli.runsource import (
    LATEST,
    add_source_options,
    aws_asked,
    local_asked,
    wants_local,
)

if TYPE_CHECKING:
    from orchestrator.cli.tuiapp import OpsApp


def register(sub: Any) -> None:
    p = sub.add_parser("tui", help="a terminal UI: runs, a run's jobs live, a job's log")
    p.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="only this workflow's runs")
    p.add_argument("--run", metavar="RUN",
                   help=f"open this run first (a run id, execution ARN or name, {LATEST!r})")
    p.add_argument("--interval", type=float, default=5.0,
                   help="seconds between refreshes (%(default)s)")
    p.add_argument("--limit", type=int, default=50, help="runs listed (%(default)s)")
    add_source_options(p, json_option=False)
    p.set_defaults(func=cmd_tui)


def make_app(args: argparse.Namespace) -> OpsApp:
    from orchestrator.cli.opsout import aws
    from orchestrator.cli.runsource import open_aws, resolve_run, workspace
    from orchestrator.cli.tuiapp import OpsApp
    from orchestrator.local.runs import LocalRuns
    from orchestrator.runs import RunSource

    source: RunSource
    local = wants_local(args, args.run) if args.run is not None else not aws_asked(args)
    if local or local_asked(args):
        source = LocalRuns(workspace(args.workdir))
    else:
        source = open_aws(args, args.limit)
    run_id = None
    if args.run is not None:  # an unknown run is one line now, not an error inside the UI
        with aws(f"reading run {args.run}"):
            run_id = source.get_run(resolve_run(source, args.run)).summary.run_id
    return OpsApp(source, workflow=args.workflow, interval=args.interval, limit=args.limit,
                  run_id=run_id)


def cmd_tui(args: argparse.Namespace) -> int:
    code = make_app(args).run()
    return 0 if code is None else code
