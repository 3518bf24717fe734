"""`orchestrator doctor RUN`: why a run's jobs wait in RUNNABLE or keep failing.

RUN is an execution ARN or name. Its jobs are read from the job-state table: ``--table NAME``,
or the ``JobStateTableName`` output of ``--stack-name`` (default ``orchestrator``). Without a
table, ``--job ID`` (repeatable) diagnoses Batch job ids directly.

Exit 0 when nothing was found, 1 when there are findings, 2 on bad input.
``--json`` prints ``{"run", "jobs": <examined>, "findings": [{"rule", "subjects",
"job_ids", "why", "fix"}]}``.
"""

from __future__ import annotations

import argparse
from typing import Any

from orchestrator.aws.errors import UsageError
from orchestrator.cli.opsout import (
    add_common,
    aws,
    client,
    dynamodb_table,
    print_json,
    print_table,
)

DEFAULT_STACK = "orchestrator"


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="explain stuck or failing jobs of a run, and the fix")
    p.add_argument("run", nargs="?", metavar="RUN", help="execution ARN or name")
    p.add_argument("--job", action="append", default=[], metavar="ID",
                   help="a Batch job id to examine (repeatable; no table needed)")
    p.add_argument("--table", help="the job-state table (default: from --stack-name)")
    p.add_argument("--stack-name", default=DEFAULT_STACK,
                   help="stack whose JobStateTableName output names the table (%(default)s)")
    add_common(p)
    p.set_defaults(func=cmd_doctor)


def _table_name(args: argparse.Namespace) -> str:
    from orchestrator.aws import collect, stack

    if args.table:
        return str(args.table)
    cfn = client("cloudformation", args.region)
    outputs = stack.outputs(cfn, args.stack_name)
    if collect.STACK_TABLE_OUTPUT not in outputs:
        raise UsageError(f"stack {args.stack_name!r} has no {collect.STACK_TABLE_OUTPUT} "
                         "output: pass --table NAME")
    return outputs[collect.STACK_TABLE_OUTPUT]


def cmd_doctor(args: argparse.Namespace) -> int:
    from orchestrator.aws import collect, doctor

    if not args.run and not args.job:
        raise UsageError("give a RUN (execution ARN or name) or --job ID")
    batch = client("batch", args.region)
    rows: list[dict[str, Any]] = []
    run = args.run or ", ".join(args.job)
    with aws(f"examining {run}"):
        if args.run:
            name = _table_name(args)
            table = dynamodb_table(args.region, name)
            run = collect.execution_arn(table, args.run)
            rows = collect.run_rows(table, run)
        facts = collect.collect(batch, run, rows, args.job)
    found = doctor.diagnose(facts)
    if args.json:
        print_json({"run": run, "jobs": len(facts.jobs),
                    "findings": [d.as_json() for d in found]})
    elif not found:
        print(f"{run}: {len(facts.jobs)} job(s) examined; nothing found to change")
    else:
        print_table(f"{run}: {len(facts.jobs)} job(s) examined",
                    ("#", "RULE", "JOBS"),
                    [(str(i), d.rule, _subjects(d.subjects)) for i, d in enumerate(found, 1)])
        # Causes and fixes unwrapped, so a suggested command can be copied as it is.
        for i, d in enumerate(found, 1):
            print(f"\n{i}. {d.rule}: {_subjects(d.subjects)}\n   why: {d.why}\n   fix: {d.fix}")
    return 1 if found else 0


def _subjects(subjects: tuple[str, ...], shown: int = 3) -> str:
    head = ", ".join(subjects[:shown])
    more = len(subjects) - shown
    return f"{head} and {more} more" if more > 0 else head

