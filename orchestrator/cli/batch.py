"""`orchestrator batch ce|queue list|create|enable|disable|delete`: the compute a run needs.

JSON shapes (``--json``):
- ``ce list``: ``{"computeEnvironments": [{"name", "arn", "type", "state", "status",
  "statusReason", "maxvCpus", "instanceTypes", "queues"}]}``
- ``queue list``: ``{"jobQueues": [{"name", "arn", "state", "status", "statusReason",
  "priority", "computeEnvironments" (names, in order), "jobStateTimeLimitActions"}]}``
- every change: ``{"action", "name", "arn", "state"}`` (``state`` is "DELETED" after delete)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrator.aws.facts import KINDS, ComputeEnvironment, Queue
from orchestrator.cli.opsout import add_common, aws, client, print_json, print_table

if TYPE_CHECKING:
    from orchestrator.aws import batch_infra


def register(sub: Any) -> None:
    p = sub.add_parser("batch", help="compute environments and job queues")
    kinds = p.add_subparsers(dest="batch_kind", required=True, metavar="ce|queue")

    ce = kinds.add_parser("ce", help="managed compute environments (EC2, Spot, Fargate)")
    ce_cmds = ce.add_subparsers(dest="ce_cmd", required=True, metavar="COMMAND")
    c = ce_cmds.add_parser("list", help="compute environments and the queues using them")
    add_common(c)
    c.set_defaults(func=cmd_ce_list)
    c = ce_cmds.add_parser("create", help="create a managed EC2, SPOT or FARGATE environment")
    c.add_argument("name")
    c.add_argument("--type", dest="kind", choices=KINDS, required=True)
    c.add_argument("--max-vcpus", type=int, required=True)
    c.add_argument("--min-vcpus", type=int, default=0, help="EC2/SPOT only (%(default)s)")
    c.add_argument("--subnets", required=True, help="comma-separated subnet ids")
    c.add_argument("--security-groups", required=True, help="comma-separated group ids")
    c.add_argument("--instance-types", default="",
                   help="EC2/SPOT: comma-separated types or families (default: optimal)")
    c.add_argument("--instance-role", default="", help="EC2/SPOT: instance profile ARN")
    c.add_argument("--service-role", default="",
                   help="Batch service role ARN (default: the service-linked role)")
    c.add_argument("--allocation-strategy", default="",
                   help="EC2: BEST_FIT_PROGRESSIVE; SPOT: SPOT_PRICE_CAPACITY_OPTIMIZED")
    c.add_argument("--bid-percentage", type=int, help="SPOT: highest %% of on-demand price")
    c.add_argument("--disabled", action="store_true", help="create it DISABLED")
    _waiting(c)
    c.set_defaults(func=cmd_ce_create)
    for verb, helptext in (("enable", "let the environment start instances"),
                           ("disable", "stop starting instances (running jobs finish)"),
                           ("delete", "disable, wait, then delete (refused while a queue "
                                      "uses it)")):
        c = ce_cmds.add_parser(verb, help=helptext)
        c.add_argument("name")
        _waiting(c)
        c.set_defaults(func=cmd_ce_change, verb=verb)

    q = kinds.add_parser("queue", help="job queues")
    q_cmds = q.add_subparsers(dest="queue_cmd", required=True, metavar="COMMAND")
    c = q_cmds.add_parser("list", help="job queues by priority, with their environments")
    add_common(c)
    c.set_defaults(func=cmd_queue_list)
    c = q_cmds.add_parser("create", help="create a job queue over 1-3 environments")
    c.add_argument("name")
    c.add_argument("--priority", type=int, default=1, help="higher is scheduled first "
                   "(%(default)s)")
    c.add_argument("--ce", action="append", default=[], metavar="NAME",
                   help="compute environment, repeatable: tried in the order given")
    c.add_argument("--disabled", action="store_true", help="create it DISABLED")
    _waiting(c)
    c.set_defaults(func=cmd_queue_create)
    for verb, helptext in (("enable", "accept new jobs"),
                           ("disable", "refuse new jobs (queued jobs finish)"),
                           ("delete", "disable, wait, then delete")):
        c = q_cmds.add_parser(verb, help=helptext)
        c.add_argument("name")
        _waiting(c)
        c.set_defaults(func=cmd_queue_change, verb=verb)


def _waiting(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds to wait for a state change (%(default)s)")
    p.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)


def _wait(args: argparse.Namespace) -> batch_infra.Waiting:
    from orchestrator.aws import batch_infra as infra

    return infra.Waiting(timeout=args.timeout, interval=args.poll)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _env_json(e: ComputeEnvironment, queues: list[Queue]) -> dict[str, Any]:
    return {"name": e.name, "arn": e.arn, "type": e.kind, "state": e.state, "status": e.status,
            "statusReason": e.status_reason, "maxvCpus": e.max_vcpus,
            "instanceTypes": list(e.instance_types),
            "queues": [q.name for q in queues if e.arn in q.environments
                       or e.name in q.environments]}


def _queue_json(q: Queue, envs: list[ComputeEnvironment]) -> dict[str, Any]:
    names = {e.arn: e.name for e in envs}
    return {"name": q.name, "arn": q.arn, "state": q.state, "status": q.status,
            "statusReason": q.status_reason, "priority": q.priority,
            "computeEnvironments": [names.get(ref, ref) for ref in q.environments],
            "jobStateTimeLimitActions": [
                {"reason": a.reason, "state": a.state, "maxTimeSeconds": a.max_time_seconds,
                 "action": a.action} for a in q.time_limit_actions]}


def cmd_ce_list(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    batch = client("batch", args.region)
    with aws("listing compute environments"):
        envs, queues = infra.environments(batch), infra.queues(batch)
    docs = [_env_json(e, queues) for e in envs]
    if args.json:
        print_json({"computeEnvironments": docs})
        return 0
    if not docs:
        print("no compute environments: create one with orchestrator batch ce create")
        return 0
    print_table("Compute environments",
                ("NAME", "TYPE", "STATE", "STATUS", "MAX vCPU", "INSTANCE TYPES", "QUEUES"),
                [(d["name"], d["type"], d["state"], _status(d), str(d["maxvCpus"] or "-"),
                  ", ".join(d["instanceTypes"]) or "-", ", ".join(d["queues"]) or "-")
                 for d in docs])
    return 0


def cmd_queue_list(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    batch = client("batch", args.region)
    with aws("listing job queues"):
        queues, envs = infra.queues(batch), infra.environments(batch)
    docs = [_queue_json(q, envs) for q in queues]
    if args.json:
        print_json({"jobQueues": docs})
        return 0
    if not docs:
        print("no job queues: create one with orchestrator batch queue create")
        return 0
    print_table("Job queues",
                ("NAME", "PRIORITY", "STATE", "STATUS", "ENVIRONMENTS (in order)", "TIME LIMITS"),
                [(d["name"], str(d["priority"]), d["state"], _status(d),
                  " > ".join(d["computeEnvironments"]),
                  ", ".join(f"{a['reason']} {a['maxTimeSeconds']}s"
                            for a in d["jobStateTimeLimitActions"]) or "-")
                 for d in docs])
    return 0


def _status(doc: dict[str, Any]) -> str:
    return f"{doc['status']}: {doc['statusReason']}" if doc["status"] == "INVALID" \
        else str(doc["status"])


def _report(args: argparse.Namespace, action: str, kind: str, name: str, arn: str,
            state: str) -> int:
    if args.json:
        print_json({"action": action, "name": name, "arn": arn, "state": state})
    else:
        print(f"{kind} {name}: {state.lower()}" + (f" ({arn})" if action == "create" else ""))
    return 0


def cmd_ce_create(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    spec = infra.EnvironmentSpec(
        name=args.name, kind=args.kind, max_vcpus=args.max_vcpus, min_vcpus=args.min_vcpus,
        subnets=_split(args.subnets), security_groups=_split(args.security_groups),
        instance_types=_split(args.instance_types), instance_role=args.instance_role,
        service_role=args.service_role, allocation_strategy=args.allocation_strategy,
        bid_percentage=args.bid_percentage, enabled=not args.disabled)
    infra.environment_request(spec)  # bad flags fail before any client exists
    batch = client("batch", args.region)
    with aws(f"creating compute environment {args.name}"):
        arn = infra.create_environment(batch, spec, _wait(args))
    return _report(args, "create", "compute environment", args.name, arn,
                   "DISABLED" if args.disabled else "ENABLED")


def cmd_ce_change(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    return _change(args, "compute environment", lambda b: infra.environment(b, args.name).arn,
                   infra.delete_environment, infra.set_environment_state)


def cmd_queue_create(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    batch = client("batch", args.region)
    with aws(f"creating job queue {args.name}"):
        arn = infra.create_queue(batch, args.name, args.priority, args.ce,
                                 enabled=not args.disabled, wait=_wait(args))
    return _report(args, "create", "job queue", args.name, arn,
                   "DISABLED" if args.disabled else "ENABLED")


def cmd_queue_change(args: argparse.Namespace) -> int:
    from orchestrator.aws import batch_infra as infra

    return _change(args, "job queue", lambda b: infra.queue(b, args.name).arn,
                   infra.delete_queue, infra.set_queue_state)


def _change(args: argparse.Namespace, kind: str, arn_of: Callable[[Any], str],
            delete: Callable[[Any, str, Any], None],
            set_state: Callable[[Any, str, str, Any], None]) -> int:
    """enable, disable or delete one compute environment or job queue."""
    batch = client("batch", args.region)
    with aws(f"{args.verb[:-1]}ing {kind} {args.name}"):
        arn = arn_of(batch)
        if args.verb == "delete":
            delete(batch, args.name, _wait(args))
            state = "DELETED"
        else:
            state = "ENABLED" if args.verb == "enable" else "DISABLED"
            set_state(batch, args.name, state, _wait(args))
    return _report(args, args.verb, kind, args.name, arn, state)
