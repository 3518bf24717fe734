"""The upload-trigger function: an S3 "Object Created" event starts the workflows it matches.

The event is read by :func:`orchestrator_runtime.triggers.parse_object_created`, which keeps
the key as S3 sent it (EventBridge keys are not URL-encoded; powertools' event data class
unquotes them, which would turn a literal ``+`` into a space) and bounds every field it uses,
so a malformed event is logged and ignored, never raised.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orchestrator_runtime import contracts, triggers
from orchestrator_runtime.envcache import env_cached

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Orchestrator")


@env_cached()
def _clients() -> tuple[SFNClient, S3Client]:
    return boto3.client("stepfunctions"), boto3.client("s3")


@env_cached("TRIGGERS")
def _triggers() -> list[contracts.TriggerConfig]:
    return triggers.parse_triggers(os.environ.get("TRIGGERS", "[]"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        upload = triggers.parse_object_created(event)
    except triggers.MalformedUpload as exc:  # retrying it cannot help
        logger.error("not an S3 Object Created event", extra={"reason": str(exc)})
        metrics.add_metric("MalformedEvents", MetricUnit.Count, 1)
        return {"started": [], "ignored": ["malformed event"], "errors": []}
    logger.append_keys(bucket=upload.bucket, key=upload.key)
    try:
        configured = _triggers()
    except triggers.TriggerConfigError as exc:  # the template is wrong: fail loudly
        logger.error("TRIGGERS is invalid", extra={"reason": str(exc)})
        metrics.add_metric("TriggerConfigErrors", MetricUnit.Count, 1)
        raise
    sfn, s3 = _clients()
    result = triggers.on_object_created(
        sfn, s3, configured, bucket=upload.bucket, key=upload.key, etag=upload.etag,
        version_id=upload.version_id,
    )
    for started in result.started:
        logger.info("execution started" if not started.already_existed else
                    "execution already existed for this object version",
                    extra={"workflow": started.workflow, "execution": started.execution_name,
                           "samples": started.samples})
        metrics.add_metric("DuplicateUploads" if started.already_existed else
                           "ExecutionsStarted", MetricUnit.Count, 1)
    for note in result.ignored:
        logger.info("upload ignored", extra={"reason": note})
    for error in result.errors:
        logger.error("sample sheet rejected; no execution started", extra={"reason": error})
        metrics.add_metric("InvalidSampleSheets", MetricUnit.Count, 1)
    return {"started": [s.execution_name for s in result.started], "ignored": result.ignored,
            "errors": result.errors}
