"""The stack description's References as CloudFormation intrinsic functions."""

from __future__ import annotations

from typing import Any

from orchestrator.template import description as d
from orchestrator.template.cfn import get_att, if_, ref
from orchestrator.template.ids import BUCKET_PARAM, CREATED_QUEUE, QUEUE_PARAM, USE_QUEUE_PARAM


def job_queue() -> dict[str, Any]:
    """The queue jobs go to: the one this stack creates, or the JobQueueArn parameter."""
    return if_(USE_QUEUE_PARAM, ref(QUEUE_PARAM), ref(CREATED_QUEUE))


def intrinsic(reference: d.Reference) -> Any:
    match reference:
        case d.JobQueueArn():
            return job_queue()
        case d.BucketName():
            return ref(BUCKET_PARAM)
        case d.FunctionArn(logical_id):
            return get_att(logical_id, "Arn")
        case d.JobDefinitionArn(logical_id) | d.StateMachineArn(logical_id):
            return ref(logical_id)  # Ref of either is its ARN


def cfn(value: Any) -> Any:
    """``value`` with its References written as intrinsic functions."""
    return d.resolve_references(value, intrinsic)
