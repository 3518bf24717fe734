"""Start a run on AWS, idempotently, and follow it.

The execution name is derived from the workflow and the canonical input
(:func:`orchestrator_runtime.contracts.execution_name`), so starting the same input twice
while a run is going returns that run instead of starting a second one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from orchestrator import names
from orchestrator.aws.errors import AwsError
from orchestrator.compiler import scope
from orchestrator.template import machine_output_key
from orchestrator_runtime import contracts as c


@dataclass(frozen=True)
class Started:
    execution_arn: str
    existing: bool  # the same input was started before: this is that execution
    status: str
    input: str  # the canonical JSON that was sent


def state_machine_arn(sfn: Any, workflow: str, *, outputs: Mapping[str, str] | None = None,
                      stack: str = "") -> str:
    """The ARN of the workflow's state machine: from the ``outputs`` of ``stack`` when given
    (CloudFormation names the state machines, so two stacks of one workflow can coexist),
    else a state machine named exactly after the workflow (as earlier versions of the
    template named them, or one created by hand)."""
    if outputs is not None:
        key = machine_output_key(workflow)
        if key not in outputs:
            raise AwsError(f"stack {stack or '?'!r} has no output {key}: it was not deployed "
                           f"with workflow {workflow!r} (outputs: "
                           f"{', '.join(sorted(outputs)) or 'none'}); pass --stack-name")
        return outputs[key]
    for page in sfn.get_paginator("list_state_machines").paginate():
        for sm in page["stateMachines"]:
            if sm["name"] == workflow:
                return str(sm["stateMachineArn"])
    where = f"stack {stack!r} does not exist and " if stack else ""
    raise AwsError(f"{where}no state machine named {workflow!r} in this account and region: "
                   "deploy it (orchestrator deploy FILE.py) or pass --stack-name (the stack "
                   "you deployed) or --state-machine-arn")


def execution_arn(state_machine: str, name: str) -> str:
    return f"{state_machine.replace(':stateMachine:', ':execution:', 1)}:{name}"


def start(sfn: Any, state_machine: str, workflow: str, doc: Mapping[str, Any], *,
          rerun: str = "") -> Started:
    """Start (or find) the execution of ``doc``; the name depends only on workflow + input,
    plus ``rerun`` (any new string) to run the same input again after an earlier run ended."""
    text = c.canonical_json(doc)
    name = c.execution_name(workflow, text, *([rerun] if rerun else []))
    arn = execution_arn(state_machine, name)
    found = _status(sfn, arn)
    if found:
        return Started(arn, True, found, text)
    try:
        response = sfn.start_execution(stateMachineArn=state_machine, name=name, input=text)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":  # started meanwhile
            raise AwsError(f"cannot start {workflow!r}: "
                           f"{exc.response['Error'].get('Message') or exc}") from None
        return Started(arn, True, _status(sfn, arn) or "RUNNING", text)
    return Started(str(response["executionArn"]), False, "RUNNING", text)


def _status(sfn: Any, arn: str) -> str:
    """The execution's status, or "" when there is none by that ARN."""
    try:
        return str(sfn.describe_execution(executionArn=arn)["status"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return ""
        raise


def console_url(arn: str) -> str:
    region = arn.split(":")[3]
    return (f"https://{region}.console.aws.amazon.com/states/home?region={region}"
            f"#/v2/executions/details/{arn}")


def latest_state(sfn: Any, arn: str) -> str:
    """The state most recently entered, or "" before the first one; a state the stages of a
    scope share is followed by the stage it runs ("Run the job (trim branch): count")."""
    events = sfn.get_execution_history(executionArn=arn, reverseOrder=True,
                                       maxResults=50)["events"]
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details:
            return state_label(details)
    return ""


def state_label(details: dict[str, Any]) -> str:
    """A state entered, as ``stateEnteredEventDetails`` gives it: its name, and for a shared
    state the stage from its input."""
    name = str(details.get("name", ""))
    if not names.is_shared(name):
        return name
    try:
        stage = scope.running_stage(json.loads(str(details.get("input") or "{}")))
    except ValueError:
        return name
    return f"{name}: {stage}" if stage else name


def wait(sfn: Any, arn: str, report: Callable[[str], None], *, poll_seconds: float = 10.0,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll until the execution ends, reporting each change of status or current state."""
    last = ("", "")
    while True:
        desc: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        now = (str(desc["status"]), latest_state(sfn, arn))
        if now != last:
            report(f"{now[0]}: {now[1]}" if now[1] and now[0] == "RUNNING" else now[0])
            last = now
        if now[0] in c.EXECUTION_FINAL:
            return desc
        sleep(poll_seconds)
