"""`orchestrator plan FILE --local`: what `orchestrator run FILE --local` would skip and run, and
why, without running anything (see orchestrator/dryrun.py). The inputs are checked as `run`
checks them (same defaults for --data, --samples and --workdir); the emulator, boto3 and rich
are imported only when the command runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from orchestrator.cli.local import selection
from orchestrator.errors import OrchestratorError


class PlanError(OrchestratorError):
    """The bucket cannot be read as the plan needs (e.g. an input in another bucket)."""

    exit_code = 2


def register(sub: Any) -> None:
    p = sub.add_parser("plan", help="dry run: per stage and sample, complete / missing / "
                                    "stale and why, and what a run would submit")
    p.add_argument("file", metavar="FILE", help="workflow file (.py)")
    p.add_argument("--local", action="store_true", required=True,
                   help="plan against the local workspace (what `run --local` would do)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="input data folder, as for run (default: data/<workflow>/ next to "
                        "FILE)")
    p.add_argument("--samples", type=Path, metavar="FILE.csv",
                   help="sample sheet (default: samples.csv in the data folder)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    selection(p)
    p.add_argument("--workdir", type=Path,
                   help="the workspace runs keep (default: .orchestrator in the project root "
                        "above FILE, else next to FILE)")
    p.add_argument("--wait-for-lock", action="store_true",
                   help="if a run uses the workspace, wait for it instead of stopping")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (schema in docs/operations.md)")
    p.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    from orchestrator import dryrun
    from orchestrator.local.bucket import open_kept
    from orchestrator.local.prepare import RunOptions, prepare
    from orchestrator.samples import execution_input
    from orchestrator_runtime.s3util import OutputCheckAccessError

    opts = RunOptions(workflow_file=Path(args.file), data_dir=args.data, samples=args.samples,
                      params=tuple(args.param), force=tuple(args.force),
                      only=tuple(args.only), workdir=args.workdir)
    prep = prepare(opts)  # every check `run --local` makes before it starts
    doc = execution_input(prep.workflow, samples=prep.samples, params=prep.params,
                          force=prep.force, only=prep.only)  # what `run --local` starts with
    root = opts.state_dir
    try:
        with open_kept(root, prep.workflow, prep.data_dir, wait=args.wait_for_lock) as s3:
            result = dryrun.plan(s3, prep.workflow, doc, force=prep.force)
    except OutputCheckAccessError as exc:
        raise PlanError(f"{exc} (a local plan sees only the workflow's bucket in {root})"
                        ) from None
    if args.json:
        from orchestrator.cli.opsout import print_json

        print_json({**result.to_json(), "workspace": str(root)})
        return 0
    show(result, root)
    return 0


def show(result: Any, root: Path) -> None:
    from orchestrator import dryrun
    from orchestrator.cli.opsout import print_table

    selection_note = ""
    if result.only:
        selection_note += f", only {', '.join(result.only)}"
    if result.force:
        selection_note += f", forcing {', '.join(result.force)}"
    samples = f"{result.samples} sample(s)" if result.per_sample else "no samples"
    print_table(f"plan of {result.workflow} ({samples}{selection_note}; workspace {root})",
                ["Stage", "Samples", "Verdict", "Why"],
                [[r.stage, r.samples, r.verdict, r.reason] for r in dryrun.rows(result)])
    sys.stdout.write(dryrun.summary(result) + "\n")
