"""The three Lambda functions, their layer, roles, log groups, queues and event rules.

Every role is written out (no SAM policy templates), so each permission is visible in the
template and a function gets exactly what its code does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from orchestrator import fanout, model
from orchestrator.template import access, batch, description, refs
from orchestrator.template.cfn import (
    NO_VALUE,
    escape_sub,
    get_att,
    if_,
    log_group,
    log_writer,
    logical_id,
    policy,
    ref,
    role,
    skip_checkov,
    statement,
    sub,
    xray_write,
)
from orchestrator.template.description import FUNCTIONS, TIMEOUTS
from orchestrator.template.ids import (
    BATCH_RULE,
    EXECUTION_RULE,
    FUNCTION_DLQ,
    JOB_EVENTS_DLQ,
    JOB_EVENTS_QUEUE,
    TABLE,
    UPLOAD_RULE,
    function_id,
    machine_id,
)
from orchestrator.template.yamltext import Commented
from orchestrator_runtime import contracts as c

__all__ = ["FUNCTIONS", "LAYER_MAKEFILE", "TABLE", "TIMEOUTS", "check_outputs", "job_events",
           "layer", "layer_makefile", "s3_trigger", "table", "triggers_env"]

LAYER = "RuntimeLayer"
RUNTIME = "python3.11"
RESERVE_CONCURRENCY = "ReserveConcurrency"  # condition defined in build.py
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to look and redrive


def _ids(fn: str) -> tuple[str, str, str]:
    return function_id(fn), logical_id(fn, "Role"), logical_id(fn, "LogGroup")


def _queue(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"SqsManagedSseEnabled": True}
    props.update(extra or {})
    return skip_checkov({"Type": "AWS::SQS::Queue", "Properties": props}, "CKV_AWS_27")


def _function(fn: str, statements: list[dict[str, Any]], log_retention: Any, *,
              reserve: bool, events: dict[str, Any] | None = None,
              environment: dict[str, Any] | None = None) -> dict[str, Any]:
    fid, rid, lid = _ids(fn)
    props: dict[str, Any] = {
        "CodeUri": f"lambdas/{fn}/",
        "Role": get_att(rid, "Arn"),
        "Timeout": TIMEOUTS[fn],
        "LoggingConfig": {"LogGroup": ref(lid)},
        "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": fn, **(environment or {})}},
    }
    if reserve:
        props["ReservedConcurrentExecutions"] = if_(
            RESERVE_CONCURRENCY, ref("EventFunctionsReservedConcurrency"), NO_VALUE)
        props["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": get_att(FUNCTION_DLQ, "Arn")}
        statements = [*statements, statement(["sqs:SendMessage"], [get_att(FUNCTION_DLQ, "Arn")])]
    if events:
        props["Events"] = events
    skips = ["CKV_AWS_117", "CKV_AWS_173"] + ([] if reserve else ["CKV_AWS_115", "CKV_AWS_116"])
    return {
        lid: log_group(sub(f"/orchestrator/${{AWS::StackName}}/{fn}"), log_retention),
        rid: role("lambda.amazonaws.com", [policy(fn, [
            *statements, log_writer(lid), xray_write()])]),
        fid: skip_checkov({"Type": "AWS::Serverless::Function", "Properties": props}, *skips),
    }


def _table_rows() -> dict[str, Any]:
    """Conditional row writes (jobstate: read, then TransactWriteItems of Put + Update)."""
    return statement(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                     [get_att(TABLE, "Arn")])


def check_outputs(wfs: Sequence[model.Workflow], bucket_param: str,
                  log_retention: Any) -> dict[str, Any]:
    reads: set[access.Location] = set()
    tasks: set[access.Location] = set()
    for wf in wfs:
        r, t = access.check_locations(wf, bucket_param)
        reads |= r
        tasks.add(t)
    arrays = any(fanout.choose(wf) == "array" for wf in wfs)
    describe = statement(
        ["batch:DescribeJobDefinitions", *(["batch:DescribeJobs"] if arrays else [])], "*",
        why_star="Batch's Describe actions have no resource-level permissions: '*' is the "
                 "only resource they accept. A stage's spec is read from its job definition"
                 + ("; the array strategy's collect step reads why children failed." if arrays
                    else "."))
    return _function("check_outputs", [
        statement(["s3:GetObject"], batch.sorted_arns(reads)),
        statement(["s3:PutObject"], batch.sorted_arns(tasks)),
        *access.list_buckets(reads),
        access.kms_key(write=True),
        _table_rows(),
        describe,
    ], log_retention, reserve=False, environment={c.JOB_QUEUE_ENV: refs.job_queue()})


def job_events(wfs: Sequence[model.Workflow], stack: description.StackDescription,
               bucket_param: str, log_retention: Any) -> dict[str, Any]:
    queue = get_att(JOB_EVENTS_QUEUE, "Arn")
    events = {"BatchJobStates": {"Type": "SQS", "Properties": {
        "Queue": queue, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 5,
        "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}
    plans = {access.plan_locations(wf, bucket_param) for wf in wfs}
    out = _function("job_events", [
        _table_rows(),
        statement(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                   "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], [queue]),
        Commented("An array child's event names its manifest line, not its sample: the\n"
                  "function reads that line (and the stage document beside it).",
                  statement(["s3:GetObject"], batch.sorted_arns(plans))),
        *access.list_buckets(plans),  # a manifest deleted since: 404 (not retried), not 403
        access.kms_key(write=False),
    ], log_retention, reserve=True, events=events)
    visibility = 6 * TIMEOUTS["job_events"]  # AWS's advice for SQS event sources
    out[JOB_EVENTS_DLQ] = _queue({"MessageRetentionPeriod": DLQ_RETENTION_SECONDS})
    out[JOB_EVENTS_QUEUE] = _queue({
        "VisibilityTimeout": visibility,
        "RedrivePolicy": {"deadLetterTargetArn": get_att(JOB_EVENTS_DLQ, "Arn"),
                          "maxReceiveCount": 5}})
    out[BATCH_RULE] = _rule(stack.rule(BATCH_RULE))
    out["JobEventsQueuePolicy"] = _events_may_send(
        [JOB_EVENTS_QUEUE, JOB_EVENTS_DLQ], [BATCH_RULE])
    out[EXECUTION_RULE] = _rule(stack.rule(EXECUTION_RULE))
    out["JobEventsInvokePermission"] = _invoke_permission("job_events", EXECUTION_RULE)
    return out


def s3_trigger(wfs: Sequence[model.Workflow], stack: description.StackDescription,
               bucket_param: str, log_retention: Any) -> dict[str, Any]:
    triggered = [wf for wf in wfs if wf.triggers]
    sheets = {loc for wf in triggered for loc in access.sheet_locations(wf, bucket_param)}
    statements = [statement(["states:StartExecution"],
                            [ref(machine_id(wf)) for wf in triggered])]
    if sheets:
        statements.append(statement(["s3:GetObject"], batch.sorted_arns(sheets)))
        statements += access.list_buckets(sheets)  # a sheet deleted since: 404, not 403
        statements.append(access.kms_key(write=False))
    out = _function("s3_trigger", statements if triggered else [], log_retention,
                    reserve=True, environment={"TRIGGERS": triggers_env(triggered)})
    if triggered:
        out[UPLOAD_RULE] = _rule(stack.rule(UPLOAD_RULE))
        out["S3TriggerInvokePermission"] = _invoke_permission("s3_trigger", UPLOAD_RULE)
    rules = [EXECUTION_RULE, *([UPLOAD_RULE] if triggered else [])]
    out["FunctionDeadLetterQueuePolicy"] = _events_may_send([FUNCTION_DLQ], rules)
    out[FUNCTION_DLQ] = _queue({"MessageRetentionPeriod": DLQ_RETENTION_SECONDS})
    return out


def _trigger(wf: model.Workflow, t: model.Trigger) -> c.TriggerConfig:
    out: c.TriggerConfig = {"workflow": wf.name,
                      "state_machine_arn": f"${{{machine_id(wf)}}}",
                      "kind": t.kind, "bucket": wf.bucket.rstrip("/")}
    if t.kind == "key":
        out["pattern"] = t.pattern
    else:
        out["prefix"] = t.prefix
        out["suffix"] = t.suffix
    if wf.foreach is not None:
        out["sample_column"] = wf.foreach.column
        if t.kind == "sheet" and fanout.reads_sheet(wf):
            out["sheet_by_uri"] = True
    return out


def triggers_env(wfs: Sequence[model.Workflow]) -> dict[str, str]:
    """The TRIGGERS variable: JSON whose state-machine ARNs CloudFormation fills in."""
    found = [_trigger(wf, t) for wf in wfs for t in wf.triggers]
    text = escape_sub(json.dumps(found, sort_keys=True, separators=(",", ":")))
    for wf in wfs:  # un-escape only the ARN placeholders this module wrote
        mid = machine_id(wf)
        text = text.replace(f"${{!{mid}}}", f"${{{mid}}}")
    return sub(text)


def _rule(rule: description.Rule) -> dict[str, Any]:
    return {"Type": "AWS::Events::Rule", "Properties": {
        "Description": rule.description,
        "State": "ENABLED",
        "EventPattern": refs.cfn(dict(rule.pattern)),
        "Targets": [{
            "Id": rule.target,
            "Arn": get_att(rule.target, "Arn"),
            "DeadLetterConfig": {"Arn": get_att(rule.dead_letter, "Arn")},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        }],
    }}


def _events_may_send(queues: list[str], rules: list[str]) -> dict[str, Any]:
    return {"Type": "AWS::SQS::QueuePolicy", "Properties": {
        "Queues": [ref(q) for q in queues],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": [get_att(q, "Arn") for q in queues],
            "Condition": {"ArnEquals": {"aws:SourceArn": [get_att(r, "Arn") for r in rules]}},
        }]},
    }}


def _invoke_permission(fn: str, rule: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction",
        "FunctionName": get_att(function_id(fn), "Arn"),
        "Principal": "events.amazonaws.com",
        "SourceArn": get_att(rule, "Arn"),
        "SourceAccount": ref("AWS::AccountId"),
    }}


def layer() -> dict[str, Any]:
    return {LAYER: Commented(
        "Built by runtime/Makefile (layer_makefile), not by SAM's pip builder: the layer must\n"
        "not carry its own boto3/botocore over the Lambda runtime's.", {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {"ContentUri": "runtime/", "CompatibleRuntimes": [RUNTIME],
                       "RetentionPolicy": "Delete"},
        "Metadata": {"BuildMethod": "makefile"},
    })}


# What the Lambda Python runtime provides (boto3 and its dependencies), as folders and files a
# `pip install --target` leaves: the layer must not hold them. aws-xray-sdk, which the Tracer
# extra of aws-lambda-powertools installs, requires botocore; a layer's copy comes first on
# sys.path (/opt/python before the runtime's own) and would pair the runtime's boto3 with
# another botocore.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil",
                    "python_dateutil", "six")
LAYER_MAKEFILE = "Makefile"


def layer_makefile() -> str:
    """runtime/Makefile: what `sam build` runs for the layer (BuildMethod: makefile runs
    ``make build-RuntimeLayer`` in a copy of ContentUri with ARTIFACTS_DIR set)."""
    version = RUNTIME.removeprefix("python")
    provided = " ".join(f"{name} {name}-*.dist-info" for name in RUNTIME_PROVIDED)
    return (
        "# Generated by orchestrator (template/functions.py, layer_makefile): do not edit.\n"
        "# `sam build` runs `make build-RuntimeLayer` here with ARTIFACTS_DIR set. The layer\n"
        "# gets requirements.txt (wheels for the Lambda runtime) and orchestrator_runtime,\n"
        "# minus what the Lambda runtime provides: its boto3 and botocore must stay the ones\n"
        "# in use.\n"
        "PYTHON ?= python3\n"
        "LAYER = $(ARTIFACTS_DIR)/python\n"
        f"PROVIDED = {provided} six.py six.pyi bin\n"
        "\n"
        f"build-{LAYER}:\n"
        "\t$(PYTHON) -m pip install --quiet --no-compile --disable-pip-version-check \\\n"
        f"\t\t--platform manylinux2014_x86_64 --implementation cp --python-version {version} \\\n"
        "\t\t--only-binary=:all: --target \"$(LAYER)\" -r requirements.txt\n"
        "\tcp -R orchestrator_runtime \"$(LAYER)/\"\n"
        "\trm -rf \"$(LAYER)/orchestrator_runtime/__pycache__\"\n"
        "\tcd \"$(LAYER)\" && rm -rf $(PROVIDED)\n"
    )


def table(spec: description.Table) -> dict[str, Any]:
    keys = [(spec.partition_key, "HASH"), (spec.sort_key, "RANGE")]
    return {spec.logical_id: skip_checkov(Commented(
        "Job state is derived from Batch events and markers in S3; deleting the stack deletes\n"
        "it (markers, which decide what reruns, stay in the data bucket).", {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": spec.ttl_attribute, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    }), "CKV_AWS_119")}

