"""Logical ids of resources other modules refer to."""

from __future__ import annotations

from orchestrator import model
from orchestrator.template.cfn import logical_id


def machine_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "StateMachine")


def function_id(fn: str) -> str:
    return logical_id(fn, "Function")


def job_definition_id(wf: model.Workflow, job: model.Job) -> str:
    return logical_id(wf.name, job.name, "JobDefinition")


def job_role_id(wf: model.Workflow) -> str:
    return logical_id(wf.name, "JobRole")


MACHINE_OUTPUT = "StateMachineArn"


def machine_output_key(workflow: str) -> str:
    """The stack output holding a workflow's state machine ARN (read by `orchestrator start`)."""
    return logical_id(workflow, MACHINE_OUTPUT)


def is_machine_output_key(key: str) -> bool:
    return key.endswith(MACHINE_OUTPUT)


QUEUE_OUTPUT = "JobQueueInUse"  # stack output: the queue jobs are submitted to
QUEUE_PARAM = "JobQueueArn"  # parameter: an existing queue
CREATED_QUEUE = "JobQueue"  # the queue the stack creates when asked to
USE_QUEUE_PARAM = "UseExistingQueue"  # condition (defined in build.py)
BUCKET_PARAM = "DataBucketName"
TABLE = "JobStateTable"
JOB_EVENTS_QUEUE = "JobEventsQueue"
JOB_EVENTS_DLQ = "JobEventsDeadLetterQueue"
FUNCTION_DLQ = "FunctionDeadLetterQueue"
BATCH_RULE = "BatchJobStateRule"
EXECUTION_RULE = "ExecutionStatusRule"
UPLOAD_RULE = "UploadRule"
