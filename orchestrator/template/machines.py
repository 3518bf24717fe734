"""One Step Functions state machine per workflow, with its role and log group."""

from __future__ import annotations

from typing import Any

from orchestrator import model
from orchestrator.template import batch
from orchestrator.template.cfn import (
    TemplateError,
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
from orchestrator.template.ids import function_id, job_definition_id, machine_id
from orchestrator.template.render import Commented
from orchestrator_runtime import contracts as c

CHECK_FUNCTION = function_id("check_outputs")


def definition_uri(wf: model.Workflow) -> str:
    return f"state_machines/{wf.name}.asl.json"


def placeholders(definition: Any) -> list[str]:
    """Every ``${Name}`` in the definition's strings (keys included), sorted."""
    found: set[str] = set()
    stack = [definition]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            found.update(c.substitution_keys(item))
    return sorted(found)


def substitutions(wf: model.Workflow, definition: dict[str, Any]) -> dict[str, Any]:
    """A DefinitionSubstitutions value for each placeholder; unknown ones are an error."""
    known: dict[str, Any] = {
        c.SUB_CHECK_FUNCTION: get_att(CHECK_FUNCTION, "Arn"),
        c.SUB_JOB_QUEUE: batch.job_queue(),
    }
    for job in wf.jobs:
        known[c.substitution_key("JobDefinition", job.name)] = ref(job_definition_id(wf, job))
    found = placeholders(definition)
    unknown = [p for p in found if p not in known]
    if unknown:
        names = ", ".join(c.substitution(p) for p in unknown)
        raise TemplateError(
            f"{machine_id(wf)}: the definition of workflow {wf.name!r} uses {names}, which the "
            f"template cannot fill; known placeholders are "
            + ", ".join(c.substitution(k) for k in sorted(known))
            + ". Recompile the workflow with this version of orchestrator.")
    return {p: known[p] for p in found}


def _role(wf: model.Workflow) -> dict[str, Any]:
    defs = [batch.job_definition_name(wf, j) for j in wf.jobs]
    jobs = arn("batch", "job/*")
    submit = [batch.job_queue(), jobs]
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
    return iam_role("states.amazonaws.com", [policy("run-workflow", statements)])


def log_group_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineLogGroup")


def role_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineRole")


def resources(wf: model.Workflow, definition: dict[str, Any],
              log_retention: Any) -> dict[str, Any]:
    return {
        log_group_id(wf): log_group(
            sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{wf.name}"), log_retention),
        role_id(wf): _role(wf),
        machine_id(wf): {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
                "Name": wf.name,
                "Type": "STANDARD",
                "DefinitionUri": definition_uri(wf),
                "DefinitionSubstitutions": substitutions(wf, definition),
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
        },
    }
