"""`orchestrator plan FILE --local`: what `orchestrator run FILE --local` would skip and run, and
why, without running anything (see orchestrator/dryrun.py). The inputs are checked as `run`
checks them (same defaults for --data, --samples and --workdir); the emulator, boto3 and rich
are imported only when the command runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.cli.local import selection
from orchestrator.errors import OrchestratorError

if TYPE_CHECKING:
    from orchestrator_runtime.contracts import CheckRequest


class PlanError(OrchestratorError):
    """The bucket cannot be read as the plan needs (e.g. an input in another bucket)."""

    exit_code = 2


def register(sub: Any) -> None:
    p = sub.add_parser("plan", help="dry run: per stage and sample, complete / missing / "
                                    "stale and why, and what a run would submit")
    p.add_argument("file", metavar="FILE", help="workflow file (.py)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true",
                       help="plan against the local workspace (what `run --local` would do)")
    where.add_argument("--aws", action="store_true",
                       help="plan against the workflow's bucket on AWS (what `start` with "
                            "the same --samples/--param would do)")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="input data folder, as for run (default: data/<workflow>/ next to "
                        "FILE)")
    p.add_argument("--samples", metavar="FILE.csv",
                   help="sample sheet (default with --local: samples.csv in the data folder; "
                        "with --aws also s3://... CSV or .jsonl)")
    p.add_argument("--region", help="with --aws: AWS region (default: AWS_REGION or the "
                                    "profile's)")
    p.add_argument("--input", metavar="JSON",
                   help="with --aws: the run's execution input, as `start --input` takes it "
                        "('@file.json' reads one; its samples, or the sheet it names)")
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
    if args.aws:
        return _plan_aws(args)
    from orchestrator import dryrun
    from orchestrator.local.bucket import open_kept
    from orchestrator.local.prepare import RunOptions, prepare
    from orchestrator.samples import execution_input
    from orchestrator_runtime.s3util import OutputCheckAccessError

    samples = Path(args.samples) if args.samples else None
    opts = RunOptions(workflow_file=Path(args.file), data_dir=args.data, samples=samples,
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


def _plan_aws(args: argparse.Namespace) -> int:
    """The same plan against S3 itself: the bucket the deployed workflow reads and writes."""
    from orchestrator import dryrun
    from orchestrator.cli.build import load_valid
    from orchestrator.cli.opsout import aws, client
    from orchestrator.samples import (
        execution_input,
        only_samples,
        parse_params,
        parse_sheet,
        run_input,
    )
    from orchestrator_runtime import arrays, samplesheet
    from orchestrator_runtime.s3util import OutputCheckAccessError

    [(wf, _warnings)] = load_valid([args.file])
    with aws(f"planning {wf.name} against {wf.bucket}"):
        s3 = client("s3", args.region)
        rows: list[dict[str, str]] | None = None
        base: dict[str, Any] = run_input(args.input)[0] if args.input else {}
        sheet = args.samples or base.pop("sheet", None)
        if base.get("samples") is not None and not args.samples:
            rows = base.pop("samples")
        elif isinstance(sheet, str) and sheet.startswith("s3://"):
            request: CheckRequest = {"sheet": sheet}
            if wf.foreach is not None:
                request["sample_column"] = wf.foreach.column
            try:
                rows = arrays.read_rows(s3, request)
            except (arrays.BadSampleSheet, samplesheet.SampleSheetError) as exc:
                raise PlanError(str(exc)) from None
        elif args.samples:
            rows = parse_sheet(Path(args.samples).read_text(encoding="utf-8-sig"), wf,
                               args.samples)
        only = only_samples(wf, rows, args.only) if rows is not None and args.only else []
        doc = execution_input(wf, base=base, samples=rows, params=parse_params(args.param),
                              force=args.force, only=only, source=args.samples or "input")
        try:
            result = dryrun.plan(s3, wf, doc, force=args.force)
        except OutputCheckAccessError as exc:
            raise PlanError(str(exc)) from None
    if args.json:
        from orchestrator.cli.opsout import print_json

        print_json({**result.to_json(), "bucket": wf.bucket})
        return 0
    show(result, wf.bucket)
    return 0


def show(result: Any, root: Path | str) -> None:
    from orchestrator import dryrun
    from orchestrator.cli.opsout import print_table

    selection_note = ""
    if result.only:
        selection_note += f", only {', '.join(result.only)}"
    if result.force:
        selection_note += f", forcing {', '.join(result.force)}"
    samples = f"{result.samples} sample(s)" if result.per_sample else "no samples"
    print_table(f"plan of {result.workflow} ({samples}{selection_note}; "
                f"{'bucket' if isinstance(root, str) else 'workspace'} {root})",
                ["Stage", "Samples", "Verdict", "Why"],
                [[r.stage, r.samples, r.verdict, r.reason] for r in dryrun.rows(result)])
    sys.stdout.write(dryrun.summary(result) + "\n")
