"""The upload-trigger function: an S3 "Object Created" event starts the workflows it matches.

The event is parsed with powertools' S3 EventBridge model, which keeps the key as S3 sent it:
EventBridge keys are not URL-encoded (powertools' event *data class* unquotes them, which
would turn a literal ``+`` into a space, so it is not used here).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
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
def _triggers() -> list[contracts.Trigger]:
    return triggers.parse_triggers(os.environ.get("TRIGGERS", "[]"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        if not isinstance(event, dict):
            raise TypeError(f"expected a JSON object, got {type(event).__name__}")
        parsed = parse(event=event, model=S3EventNotificationEventBridgeModel)
    except (TypeError, ValidationError) as exc:
        logger.error("not an S3 Object Created event", extra={"reason": str(exc)[:500]})
        metrics.add_metric("MalformedEvents", MetricUnit.Count, 1)
        return {"started": [], "ignored": ["malformed event"], "errors": []}
    detail = parsed.detail
    logger.append_keys(bucket=detail.bucket.name, key=detail.object.key)
    try:
        configured = _triggers()
    except triggers.TriggerConfigError as exc:  # the template is wrong: fail loudly
        logger.error("TRIGGERS is invalid", extra={"reason": str(exc)})
        metrics.add_metric("TriggerConfigErrors", MetricUnit.Count, 1)
        raise
    sfn, s3 = _clients()
    result = triggers.on_object_created(
        sfn, s3, configured, bucket=detail.bucket.name, key=detail.object.key,
        etag=detail.object.etag, version_id=detail.object.version_id,
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
