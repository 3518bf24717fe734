"""A stage's spec, read once from its job definition, and the SubmitJob it leads to.

The compiled definition does not carry a job's command, image and paths: each check request
names the job definition (the ARN of one revision, filled in by DefinitionSubstitutions) and
the digest of the spec it was compiled with. The spec is the job definition's
contracts.SPEC_PARAMETER; a revision never changes, so a check function reads each one once
per container. A revision whose spec is not the one the definition expects (a state machine
and job definitions from different deployments) fails the stage with a sentence saying so.

The check function also prepares the stage's SubmitJob parameters (:func:`submission`): the
compiled Batch task points at them instead of repeating the job's name, queue and tags.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from orchestrator_runtime import contracts
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient


class StageSpecMismatch(BadCheckRequest):
    """The job definition does not hold the spec the compiled definition expects."""


_CACHE: dict[str, contracts.StageSpec] = {}  # job-definition ARN (one revision) -> its spec
_LOCK = threading.Lock()


def _where(request: contracts.CheckRequest) -> str:
    return f"stage {request.get('stage') or '?'}"


def read_spec(batch: BatchClient, arn: str, where: str, digest: str = "") -> contracts.StageSpec:
    """The spec stored in job definition ``arn``; BadCheckRequest when it has none. A spec
    read before is used again when its digest is ``digest`` (a revision never changes on
    AWS; an emulator that starts afresh numbers its revisions from 1 again)."""
    with _LOCK:
        cached = _CACHE.get(arn)
    if cached is not None and contracts.spec_digest(cached) == digest:
        return cached
    found = batch.describe_job_definitions(jobDefinitions=[arn]).get("jobDefinitions", [])
    if not found:
        raise BadCheckRequest(f"{where}: job definition {arn} does not exist; deploy the "
                              "stack again (orchestrator deploy)")
    text = (found[0].get("parameters") or {}).get(contracts.SPEC_PARAMETER)
    try:
        spec = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        spec = None
    if not isinstance(spec, dict) or not isinstance(spec.get("job"), dict):
        raise BadCheckRequest(
            f"{where}: job definition {arn} has no {contracts.SPEC_PARAMETER} parameter "
            "holding the stage's spec; it was not made by this version of orchestrator: "
            "deploy the stack again")
    stage_spec: contracts.StageSpec = {"job": spec["job"],
                                       "param_defaults": dict(spec.get("param_defaults") or {})}
    with _LOCK:
        _CACHE[arn] = stage_spec
    return stage_spec


def with_spec(request: contracts.CheckRequest,
              batch: BatchClient | None) -> contracts.CheckRequest:
    """``request`` with its stage's ``job`` and ``param_defaults``: as given when the request
    carries the job inline, else read from its job definition and checked against ``spec``."""
    if "job" in request or not request.get("job_definition"):
        return request
    arn = request["job_definition"]
    if batch is None:
        raise BadCheckRequest(f"{_where(request)}: the spec is in job definition {arn}, but "
                              "no Batch client was given to read it")
    expected = request.get("spec") or ""
    spec = read_spec(batch, arn, _where(request), expected)
    got = contracts.spec_digest(spec)
    if expected != got:
        raise StageSpecMismatch(
            f"{_where(request)}: the state machine was compiled for spec {expected}, but job "
            f"definition {arn} holds spec {got}: the state machine and the job definitions "
            "come from different deployments. Deploy the workflow again (orchestrator "
            "deploy), then start the run again")
    return {**request, "job": spec["job"], "param_defaults": spec["param_defaults"]}


def submission(request: contracts.CheckRequest, job_queue: str, job_name: str, sample: str,
               environment: dict[str, str]) -> contracts.Submission:
    """The SubmitJob parameters of ``request``'s stage: ``sample`` is the TAG_SAMPLE value,
    ``environment`` what the runner is told (its task or manifest)."""
    return contracts.Submission(
        JobName=job_name, JobQueue=job_queue, JobDefinition=request.get("job_definition") or "",
        ContainerOverrides=overrides(environment),
        Tags={contracts.TAG_WORKFLOW: request.get("workflow") or "",
              contracts.TAG_STAGE: request.get("stage") or "",
              contracts.TAG_EXECUTION: contracts.execution_tag(request.get("execution") or ""),
              contracts.TAG_SAMPLE: sample})


def overrides(environment: dict[str, str]) -> dict[str, Any]:
    """ContainerOverrides telling the runner ``environment`` (the job definition has the
    rest: command, resources, retry settings)."""
    return {"Environment": [{"Name": k, "Value": v} for k, v in environment.items()]}
