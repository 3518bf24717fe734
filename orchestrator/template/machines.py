"""One Step Functions state machine per workflow, with its role and log group."""

from __future__ import annotations

from typing import Any

from orchestrator import fanout, model
from orchestrator.template import access, description, refs
from orchestrator.template.cfn import (
    arn,
    get_att,
    log_group,
    logical_id,
    policy,
    ref,
    statement,
    sub,
    xray_write,
)
from orchestrator.template.cfn import role as iam_role
from orchestrator.template.ids import function_id, machine_output_key
from orchestrator.template.yamltext import Commented
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

CHECK_FUNCTION = function_id("check_outputs")


def _role(wf: model.Workflow, stack: description.StackDescription,
          bucket_param: str) -> dict[str, Any]:
    defs = [jd.name for jd in stack.job_definitions_of(wf.name)]
    jobs = arn("batch", "job/*")
    submit = [refs.job_queue(), jobs]
    submit += [arn("batch", f"job-definition/{n}") for n in defs]
    submit += [arn("batch", f"job-definition/{n}:*") for n in defs]
    check = get_att(CHECK_FUNCTION, "Arn")
    statements = [
        Commented("SubmitJob authorizes the queue, the job definition and the new job (whose id"
                  " does not exist yet, hence job/*).", statement(["batch:SubmitJob"], submit)),
        statement(["batch:TagResource", "batch:TerminateJob"], [jobs]),
        statement(
            ["batch:DescribeJobs"], "*",
            why_star="batch:DescribeJobs has no resource-level permissions; the .sync"
                     " integration polls it for the jobs it submitted."),
        statement(["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                  [arn("events", "rule/StepFunctionsGetEventsForBatchJobsRule")]),
        statement(["lambda:InvokeFunction"], [check, sub(f"${{{CHECK_FUNCTION}.Arn}}:*")]),
        statement(
            ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
             "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
             "logs:PutResourcePolicy", "logs:UpdateLogDelivery"], "*",
            why_star="CloudWatch Logs vended-log delivery (state machine logging) accepts only\n"
                     "'*' for these actions, as AWS documents for Step Functions logging."),
        xray_write(),
    ]
    if fanout.choose(wf) == "map":
        statements += _distributed_map(wf, bucket_param)
    return iam_role("states.amazonaws.com", [policy("run-workflow", statements)])


def machine_name(wf: model.Workflow) -> str:
    """The explicit name of a map workflow's state machine (see :func:`_distributed_map`)."""
    return f"${{AWS::StackName}}-{wf.name}"


def stack_name_problem(stack_name: str, wf: model.Workflow) -> str | None:
    """Why a stack named ``stack_name`` cannot hold ``wf`` (a map workflow's state machine is
    named after the stack: :func:`machine_name`), or None."""
    if wf.foreach is None or fanout.choose(wf) != "map":
        return None
    name = f"{stack_name}-{wf.name}"
    if len(name) <= limits.STATE_MACHINE_NAME_CHARS:
        return None
    room = limits.STATE_MACHINE_NAME_CHARS - 1 - len(wf.name)
    return (f"stack {stack_name!r}: workflow {wf.name!r} fans out with strategy 'map', so its "
            f"state machine is named {name!r} ({len(name)} characters; Step Functions allows "
            f"{limits.STATE_MACHINE_NAME_CHARS}): use --stack-name with at most {room} "
            "characters, or a shorter workflow name")


def _distributed_map(wf: model.Workflow, bucket_param: str) -> list[Any]:
    """What a Distributed Map needs (Step Functions developer guide, "IAM policies for using
    Distributed Map states" and "IAM policies for ResultWriter"): to start its child
    executions (StartExecution on the state machine itself), to watch and stop them (their
    ARNs are execution:<machine>/<map run label or id>:<id>), to read its items and to write
    its results, both under the workflow's run folders. The machine's own ARN is built from
    its explicit name, not from a reference to it: a role that refers to the state machine
    that uses it is a circular dependency in CloudFormation."""
    name = machine_name(wf)
    tasks = access.meta_location(wf, bucket_param, c.TASKS)
    items = access.Location(tasks.bucket, f"{tasks.prefix}*/{c.SHEET_ITEMS}")
    results = access.Location(tasks.bucket, f"{tasks.prefix}*/{c.MAP_RESULTS}/")
    return [
        Commented("The Distributed Map starts one child execution of this state machine per "
                  "sample.", statement(["states:StartExecution"],
                                       [arn("states", f"stateMachine:{name}")])),
        statement(["states:DescribeExecution", "states:StopExecution"],
                  [arn("states", f"execution:{name}/*")]),
        statement(["s3:GetObject"], [items.arn()]),
        statement(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts",
                   "s3:PutObject"], [results.arn()]),
        access.kms_key(write=True),
    ]


def log_group_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineLogGroup")


def role_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineRole")


def resources(wf: model.Workflow, stack: description.StackDescription,
              log_retention: Any, bucket_param: str) -> dict[str, Any]:
    machine = stack.state_machine(wf.name)
    named = fanout.choose(wf) == "map"
    why = (f"Named ${{AWS::StackName}}-{wf.name}: its role lets its Distributed Map start\n"
           "executions of it, by an ARN built from the name (a reference would be circular);\n"
           "the stack name keeps two stacks apart; "
           if named else "No Name: CloudFormation makes one from the stack, so two stacks of "
           "the same\nworkflows can live in one account and region; ")
    return {
        log_group_id(wf): log_group(
            sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{wf.name}"), log_retention),
        role_id(wf): _role(wf, stack, bucket_param),
        machine.logical_id: Commented(
            f"{why}the stack output {machine_output_key(wf.name)}\nholds its ARN "
            "(orchestrator start/status read it).", {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
                **({"Name": sub(machine_name(wf))} if named else {}),
                "Type": "STANDARD",
                "DefinitionUri": machine.definition_uri,
                "DefinitionSubstitutions": refs.cfn(dict(machine.substitutions)),
                "Role": get_att(role_id(wf), "Arn"),
                "Logging": {
                    "Level": ref("StateMachineLogLevel"),
                    "IncludeExecutionData": True,
                    "Destinations": [{"CloudWatchLogsLogGroup": {
                        "LogGroupArn": get_att(log_group_id(wf), "Arn")}}],
                },
                "Tracing": {"Enabled": True},
                "Tags": {c.TAG_WORKFLOW: wf.name},
            },
        }),
    }
