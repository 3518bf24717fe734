"""`template`, `deploy`, `start` and `executions`: the commands that meet AWS."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import fanout
from orchestrator.cli import local, outpaths, sam_stage
from orchestrator.cli.build import drift, load_valid
from orchestrator.cli.opsout import aws, client, session
from orchestrator.errors import UsageError
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from orchestrator import model

DEFAULT_TEMPLATE = sam_stage.TEMPLATE_FILE
DEFAULT_STACK = "orchestrator"
STAGING = Path(".orchestrator/sam")


def register(sub: Any) -> None:
    p = sub.add_parser("template", help="generate the SAM template (template.yaml)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--out", default=DEFAULT_TEMPLATE, help="output file (%(default)s)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 with a diff when the file differs (drift check)")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("deploy", help="generate everything, then `sam build` and `sam deploy`")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--stack-name", default=DEFAULT_STACK, help="(%(default)s)")
    p.add_argument("--guided", action="store_true",
                   help="let sam ask for the parameters (and remember them)")
    p.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="template parameter, repeatable: e.g. JobQueueArn=arn:aws:batch:...")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("start", help="start a run of a deployed workflow")
    p.add_argument("workflow", metavar="WORKFLOW",
                   help="workflow file (.py: the input is checked against it) or its name")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--input", metavar="JSON", help="execution input ('@file.json' reads one)")
    given.add_argument("--samples", metavar="FILE.csv", help="sample sheet, one row per sample")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    local.selection(p)
    p.add_argument("--wait", action="store_true", help="follow the run; exit 1 unless it succeeds")
    p.add_argument("--rerun", action="store_true",
                   help="start a new execution even if this input ran before")
    _locate(p)
    p.add_argument("--poll", type=float, default=10.0, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("executions", help="recent runs of a deployed workflow")
    p.add_argument("workflow", metavar="WORKFLOW", help="workflow file (.py) or its name")
    p.add_argument("--limit", type=int, default=20, help="(%(default)s)")
    _locate(p)
    p.set_defaults(func=cmd_executions)


def _locate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-machine-arn", metavar="ARN")
    p.add_argument("--stack-name",
                   help=f"find the state machine in this stack's outputs (default: "
                        f"{DEFAULT_STACK}, if it exists)")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")


def _generate(files: list[str]) -> tuple[list[model.Workflow], dict[str, dict[str, Any]], str]:
    from orchestrator.compiler import compile_workflow
    from orchestrator.template import build_template, template_yaml

    loaded = load_valid(files)
    for _, warnings in loaded:
        for w in warnings:
            print(w.text(), file=sys.stderr)
    wfs = [wf for wf, _ in loaded]
    definitions = {wf.name: compile_workflow(wf) for wf in wfs}
    return wfs, definitions, template_yaml(build_template(wfs, definitions))


def cmd_template(args: argparse.Namespace) -> int:
    from orchestrator.compiler import asl_text
    from orchestrator.template import definition_uri

    out = Path(args.out)
    if not args.check:
        outpaths.check_file(out, "-o", default_name=DEFAULT_TEMPLATE)
    wfs, definitions, text = _generate(args.files)
    if args.check:
        d = drift(out, text)
        if d:
            print(f"{out} is out of date:", file=sys.stderr)
            print("\n".join(d), file=sys.stderr)
            print(f"run: orchestrator template {' '.join(args.files)} -o {args.out}",
                  file=sys.stderr)
            return 1
        print(f"{out} is up to date")
    else:
        outpaths.write_text(out, text)
        print(f"wrote {out} ({len(wfs)} workflow(s))")
    for wf in wfs:
        asl = out.parent / definition_uri(wf)
        if not asl.is_file() or asl.read_text(encoding="utf-8") != asl_text(definitions[wf.name]):
            print(f"note: {asl} is missing or stale; the template deploys it: run orchestrator "
                  f"compile {' '.join(args.files)} -o {asl.parent}", file=sys.stderr)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from orchestrator.aws import deploy

    outpaths.check_folder(STAGING, "staging folder", "run deploy from a folder you can write in")
    sam = deploy.require_sam()
    region = args.region or os.environ.get("AWS_REGION") or None
    with aws("reading AWS credentials"):
        deploy.require_credentials(session(region))
    for pair in args.parameter:
        if "=" not in pair:
            raise UsageError(f"--parameter {pair!r}: write it as KEY=VALUE")
    wfs, definitions, template = _generate(args.files)
    from orchestrator.template.machines import stack_name_problem

    for wf in wfs:
        problem = stack_name_problem(args.stack_name, wf)
        if problem is not None:
            raise UsageError(problem)
    sam_stage.stage(STAGING, wfs, definitions, template)
    print(f"staged {len(wfs)} workflow(s) in {STAGING}/; running sam build and sam deploy")
    deploy.run(deploy.commands(sam, args.stack_name, guided=args.guided,
                               parameters=args.parameter, region=region), cwd=STAGING)
    return 0


def _workflow(arg: str) -> tuple[str, model.Workflow | None]:
    from orchestrator import loader

    if arg.endswith(".py"):
        wf = loader.load_one(arg)
        return wf.name, wf
    return arg, None


def _state_machine(args: argparse.Namespace, name: str) -> str:
    from orchestrator.aws import stack, start

    if args.state_machine_arn:
        return str(args.state_machine_arn)
    sfn = client("stepfunctions", args.region)
    cfn = client("cloudformation", args.region)
    if args.stack_name:
        return start.state_machine_arn(sfn, name, outputs=stack.outputs(cfn, args.stack_name),
                                       stack=args.stack_name)
    return start.state_machine_arn(sfn, name, outputs=stack.outputs_if_any(cfn, DEFAULT_STACK),
                                   stack=DEFAULT_STACK)


def _region(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states" or not parts[3]:
        raise UsageError(f"{arn!r} is not a state machine ARN "
                         "(arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)")
    return parts[3]


def _input(args: argparse.Namespace, wf: model.Workflow | None) -> dict[str, Any]:
    from orchestrator.samples import (
        execution_input,
        only_samples,
        parse_params,
        parse_sheet,
        run_input,
    )

    base: dict[str, Any] = {}
    samples = None
    where = "--input"
    if args.input:
        base, where = run_input(args.input)
    if args.samples and args.samples.startswith("s3://"):
        if wf is None or not fanout.reads_sheet(wf):
            raise UsageError(f"--samples {args.samples}: a sheet in S3 is read by workflows of "
                             "the array or map strategy; give the workflow file (.py) of one, "
                             "or a local FILE.csv")
        base[c.SHEET_KEY] = args.samples  # checked by the run's first step, naming the line
    elif args.samples:
        samples = parse_sheet(_read(args.samples), wf, args.samples)
    only: list[str] = list(args.only)
    if only and wf is not None and samples is not None:
        only = only_samples(wf, samples, only)  # raises naming an unknown sample
    return execution_input(wf, base=base, samples=samples, force=args.force, only=only,
                           params=parse_params(args.param), source=where)


def _sheet_upload(args: argparse.Namespace, wf: model.Workflow | None,
                  doc: dict[str, Any]) -> tuple[bytes, str] | None:
    """An array or map workflow reads its rows from S3: a local sheet (already checked) is uploaded
    content-addressed under the workflow's prefix, and only its URI goes in the input."""
    if (not args.samples or args.samples.startswith("s3://") or wf is None
            or not fanout.reads_sheet(wf)):
        return None
    rows = doc.pop(c.SAMPLES_KEY)  # checked (and selected by --only) already
    body = "".join(c.canonical_json(r) + "\n" for r in rows).encode()
    uri = c.uploaded_sheet_uri(wf.bucket, hashlib.sha256(body).hexdigest()[:32], ".jsonl")
    doc[c.SHEET_KEY] = uri
    return body, uri


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None


def cmd_start(args: argparse.Namespace) -> int:
    import uuid

    from orchestrator.aws import start

    name, wf = _workflow(args.workflow)
    doc = _input(args, wf)
    upload = _sheet_upload(args, wf, doc)
    with aws(f"starting {name}"):
        sm = _state_machine(args, name)
        sfn = client("stepfunctions", _region(sm))
        if upload is not None:
            body, uri = upload
            bucket, key = c.split_uri(uri)
            client("s3", _region(sm)).put_object(Bucket=bucket, Key=key, Body=body)
            print(f"sample sheet: {uri}")
        run = start.start(sfn, sm, name, doc, rerun=uuid.uuid4().hex if args.rerun else "")
        if run.existing:
            print(f"this input was started before: {run.execution_arn} ({run.status})")
            if run.status != "RUNNING":
                print("  to run it again (complete stages are skipped), add --rerun")
        else:
            print(f"started {run.execution_arn}")
        print(f"console: {start.console_url(run.execution_arn)}")
        if not args.wait:
            return 0
        final = start.wait(sfn, run.execution_arn, lambda line: print(f"  {line}", flush=True),
                           poll_seconds=args.poll)
    if final["status"] == "SUCCEEDED":
        return 0
    why = " ".join(str(final.get(k, "")) for k in ("error", "cause")).strip()
    print(f"{name}: {final['status']}" + (f": {why}" if why else ""), file=sys.stderr)
    return 1


def cmd_executions(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: give a number of runs, 1 or more")
    from datetime import UTC, datetime

    from orchestrator.aws import executions

    name, _ = _workflow(args.workflow)
    with aws(f"listing runs of {name}"):
        sm = _state_machine(args, name)
        sfn = client("stepfunctions", _region(sm))
        runs = executions.recent(sfn, sm, args.limit)
    if not runs:
        print(f"no runs of {name} yet")
        return 0
    print(executions.table(runs, datetime.now(UTC)), end="")
    return 0
