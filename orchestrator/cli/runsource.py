"""Pick where runs are read from: the local workspace or AWS, and which run RUN names.

``--local`` (or a RUN that is a local run id) reads ``--workdir`` (default: ``.orchestrator``
in the current project, as `orchestrator run --local` uses for a workflow here). Otherwise AWS:
the job-state table is ``--table``, or the ``JobStateTableName`` output of ``--stack-name``.
RUN ``latest`` is the newest run: of the workspace, unless an AWS option (``--aws``,
``--table``, ``--stack-name``, ``--region``) asks for AWS. boto3 is imported only when AWS is
used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.aws.errors import UsageError
from orchestrator.runs import RunNotFound, RunSource

if TYPE_CHECKING:
    from orchestrator.aws.runs import AwsRuns

DEFAULT_STACK = "orchestrator"
DEFAULT_LIMIT = 20
LATEST = "latest"  # RUN: the newest run of the source


def add_source_options(p: argparse.ArgumentParser, *, json_option: bool = True) -> None:
    p.add_argument("--local", action="store_true",
                   help="read local runs (automatic when RUN is a local run id)")
    p.add_argument("--aws", action="store_true", help="read runs on AWS")
    p.add_argument("--workdir", type=Path,
                   help="local workspace (default: .orchestrator in the project root above "
                        "the current folder)")
    p.add_argument("--table", help="AWS: the job-state table (default: from --stack-name)")
    p.add_argument("--stack-name",
                   help="AWS: stack whose JobStateTableName output names the table "
                        f"(default: {DEFAULT_STACK})")
    p.add_argument("--log-group", default="/aws/batch/job",
                   help="AWS: the jobs' CloudWatch Logs group (%(default)s)")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    if json_option:
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def workspace(workdir: Path | None) -> Path:
    from orchestrator.local import runlock

    if workdir is not None:
        return workdir.resolve()
    return runlock.locate(Path.cwd() / "workflow.py", None)


def aws_asked(args: argparse.Namespace) -> bool:
    """An option only AWS takes was given."""
    return bool(args.aws or args.table or args.stack_name is not None
                or args.region is not None)


def local_asked(args: argparse.Namespace) -> bool:
    if (args.local or args.workdir is not None) and (args.aws or args.table):
        raise UsageError("--local/--workdir and --aws/--table exclude each other")
    return bool(args.local or args.workdir is not None)


def wants_local(args: argparse.Namespace, run_id: str | None = None) -> bool:
    from orchestrator.local.runs import looks_local

    if local_asked(args):
        return True
    if args.aws or run_id is None:
        return False
    if run_id == LATEST:
        return not aws_asked(args)
    return looks_local(run_id)


def resolve_run(source: RunSource, run_id: str) -> str:
    """RUN as ``source`` knows it: ``latest`` is its newest run (RunNotFound when it has
    none); any other RUN is itself."""
    if run_id != LATEST:
        return run_id
    newest = source.list_runs(limit=1)
    if not newest:
        where = ("no local runs in this workspace: run a workflow with `orchestrator run FILE "
                 "--local`, or pass --workdir DIR" if source.backend == "local" else
                 "no runs on AWS: start one with `orchestrator start FILE` (or check --region "
                 "and --stack-name)")
        raise RunNotFound(f"{LATEST}: {where}")
    return newest[0].run_id


def open_source(args: argparse.Namespace, run_id: str | None = None) -> RunSource:
    if wants_local(args, run_id):
        from orchestrator.local.runs import LocalRuns

        return LocalRuns(workspace(args.workdir))
    return open_aws(args)


def open_aws(args: argparse.Namespace, limit: int | None = None) -> AwsRuns:
    from orchestrator.aws import collect, stack
    from orchestrator.aws.runs import AwsRuns
    from orchestrator.cli.opsout import aws, client, dynamodb_table

    name = args.table
    machines: list[str] | None = None
    if not name:
        stack_name = args.stack_name or DEFAULT_STACK
        with aws(f"reading the outputs of stack {stack_name}"):
            outputs = stack.outputs(client("cloudformation", args.region), stack_name)
        machines = stack.machine_arns(outputs)
        if collect.STACK_TABLE_OUTPUT not in outputs:
            raise UsageError(f"stack {stack_name!r} has no {collect.STACK_TABLE_OUTPUT} "
                             "output: pass --table NAME (or --local for local runs)")
        name = outputs[collect.STACK_TABLE_OUTPUT]
    table: Any = dynamodb_table(args.region, name)
    from botocore.exceptions import ClientError

    with aws(f"opening job-state table {name}"):
        try:
            table.load()  # a missing table is one clear error now, not a traceback later
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            raise UsageError(f"job-state table {name!r} does not exist in this region: pass "
                             "--table NAME or --stack-name of the deployed stack (or "
                             "--region)") from None
    return AwsRuns(sfn=client("stepfunctions", args.region), table=table,
                   batch=client("batch", args.region), logs=client("logs", args.region),
                   log_group=args.log_group,
                   limit=limit or getattr(args, "limit", None) or DEFAULT_LIMIT,
                   machines=machines)
