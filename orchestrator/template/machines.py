"""One Step Functions state machine per workflow, with its role and log group."""

from __future__ import annotations

from typing import Any

from orchestrator import model
from orchestrator.template import description, refs
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

CHECK_FUNCTION = function_id("check_outputs")


def _role(wf: model.Workflow, stack: description.StackDescription) -> dict[str, Any]:
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
    return iam_role("states.amazonaws.com", [policy("run-workflow", statements)])


def log_group_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineLogGroup")


def role_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachineRole")


def resources(wf: model.Workflow, stack: description.StackDescription,
              log_retention: Any) -> dict[str, Any]:
    machine = stack.state_machine(wf.name)
    return {
        log_group_id(wf): log_group(
            sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{wf.name}"), log_retention),
        role_id(wf): _role(wf, stack),
        machine.logical_id: Commented(
            "No Name: CloudFormation makes one from the stack, so two stacks of the same\n"
            "workflows can live in one account and region; the stack output "
            f"{machine_output_key(wf.name)}\nholds its ARN (orchestrator start/status read it).", {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
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
