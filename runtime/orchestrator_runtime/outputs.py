"""Is a stage done? The make-like check behind the "pre" and "post" actions.

A stage is complete when every output exists (non-empty unless ``allow_empty``), the marker
exists and parses, its fingerprint equals the one computed now from the task and the current
input ETags, and every output's ETag equals the one in the marker. Anything less is
"missing" (an output is absent or empty) or "stale" (outputs exist but nothing vouches for
them), and the stage runs. A missing input is an error: no job can succeed without it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator_runtime import contracts, jobstate, s3util
from orchestrator_runtime.resolve import Stage, resolve

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

SHOWN = 5  # how many URIs a message or response lists
log = logging.getLogger(__name__)


class StageOutputsMissing(Exception):
    """contracts.ERR_OUTPUTS_MISSING: the job finished but its outputs or marker are not there."""


class StageInputsMissing(Exception):
    """contracts.ERR_INPUTS_MISSING: an input object does not exist, so the job cannot run."""


@dataclass(frozen=True)
class Evaluation:
    stage: Stage
    status: Literal["complete", "missing", "stale"]
    counts: contracts.Counts
    missing: list[str]
    reason: str

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def response(self, task_uri: str = "") -> contracts.CheckResponse:
        return contracts.CheckResponse(
            complete=self.complete, status=self.status, reason=self.reason, counts=self.counts,
            missing=self.missing[:SHOWN], sample=self.stage.sample,
            job_name=self.stage.job_name, task_uri=task_uri,
            execution_tag=contracts.execution_tag(self.stage.execution),
        )


def _show(uris: list[str]) -> str:
    more = f" and {len(uris) - SHOWN} more" if len(uris) > SHOWN else ""
    return ", ".join(uris[:SHOWN]) + more


def _marker_problem(
    markers: list[str], fingerprint: str, seen: Mapping[str, s3util.ObjectInfo | None],
    stage: Stage,
) -> tuple[str, list[str]]:
    """("", []) when a marker vouches for the outputs, else why not and the outputs affected.

    A marker's name is (fingerprint, digest of the outputs' ETags), so the marker folder's
    listing answers without reading any marker.
    """
    present = [n for n, uri in stage.outputs.items() if seen[uri] is not None]
    parsed = [p for p in map(contracts.parse_marker_name, markers) if p is not None]
    if not parsed:
        return "marker absent", present
    if not any(fp == fingerprint for fp, _ in parsed):
        return ("marker fingerprint differs (image, command, environment, values or input "
                "contents changed since the outputs were made)"), present
    if len(present) == len(stage.outputs):
        digest = contracts.outputs_digest({n: _etag(seen, u) for n, u in stage.outputs.items()})
        if (fingerprint, digest) in parsed:
            return "", []
    return "an output changed since the marker was written (its ETag differs)", present


def judge(stage: Stage, seen: Mapping[str, s3util.ObjectInfo | None],
          markers: list[str]) -> Evaluation:
    """The verdict on one stage from what was seen: the objects of its inputs and outputs
    (None when absent) and the names in its marker folder. Raises StageInputsMissing."""
    all_inputs = [uri for uris in stage.inputs.values() for uri in uris]
    absent_inputs = [uri for uri in all_inputs if seen[uri] is None]
    if absent_inputs:
        raise StageInputsMissing(
            f"{stage.label}: {len(absent_inputs)} input object(s) missing: "
            f"{_show(absent_inputs)}; upload them or fix the input path"
        )
    etags = {n: [_etag(seen, u) for u in uris] for n, uris in stage.inputs.items()}
    fingerprint = contracts.fingerprint(stage.fingerprint_basis(), etags)
    absent = [u for u in stage.outputs.values() if seen[u] is None]
    empty = [u for u in stage.outputs.values()
             if (info := seen[u]) is not None and info.size == 0 and not stage.job["allow_empty"]]
    problem, unvouched = _marker_problem(markers, fingerprint, seen, stage)
    total = len(stage.outputs)
    parts = []
    if absent:
        parts.append(f"{len(absent)} of {total} outputs missing: {_show(absent)}")
    if empty:
        parts.append(f"{len(empty)} of {total} outputs empty: {_show(empty)} (0 bytes; declare "
                     "allow_empty=True if an empty output is valid)")
    if problem:
        parts.append(problem)
    status: Literal["complete", "missing", "stale"] = (
        "missing" if absent or empty else "stale" if problem else "complete")
    if status == "complete":
        parts.append(f"all {total} outputs present and vouched for by the marker")
    counts = contracts.Counts(expected=total, present=total - len(absent) - len(empty),
                              missing=len(absent) + len(empty), stale=len(unvouched))
    return Evaluation(stage, status, counts, absent + empty, "; ".join(parts))


def selected(request: contracts.CheckRequest, sample_id: str | None) -> bool:
    """Whether a run started with ``--only`` runs this sample's stages (once-stages always)."""
    only = request.get("only") or ()
    return sample_id is None or not only or sample_id in only


def forced(request: contracts.CheckRequest, result: Evaluation) -> Evaluation:
    """A complete stage the run was told to run again (``--force STAGE``) counts as stale."""
    if not result.complete or result.stage.stage not in (request.get("force") or ()):
        return result
    return dataclasses.replace(result, status="stale",
                               reason=f"forced: the run was started with --force "
                                      f"{result.stage.stage} ({result.reason})")


def stage_uris(stage: Stage) -> list[str]:
    """Every object a verdict on ``stage`` looks at (inputs, then outputs)."""
    return [*(u for uris in stage.inputs.values() for u in uris), *stage.outputs.values()]


def evaluate(
    s3: S3Client, stage: Stage, *, sleep: Callable[[float], None] = time.sleep
) -> Evaluation:
    """Look at inputs, outputs and marker; raises StageInputsMissing when an input is absent."""
    seen = s3util.inspect(s3, stage_uris(stage), sleep=sleep)
    markers = s3util.folders(s3, [stage.marker_folder], sleep=sleep)[stage.marker_folder]
    return judge(stage, seen, markers)


def _etag(seen: Mapping[str, s3util.ObjectInfo | None], uri: str) -> str:
    info = seen[uri]
    if info is None:
        raise AssertionError(f"{uri} vanished between checks")  # absent inputs raised earlier
    return info.etag


def pre_check(
    s3: S3Client, request: contracts.CheckRequest, *, table: Table | None = None,
    now: datetime | None = None, sleep: Callable[[float], None] = time.sleep,
) -> contracts.CheckResponse:
    """Skip when complete (recording SKIPPED in ``table``), else write the RunnerTask document."""
    stage = resolve(request)
    if not selected(request, stage.sample_id):
        return contracts.CheckResponse(
            complete=True, status="complete", reason="not selected: the run was started with "
            "--only and other samples", counts=contracts.Counts(expected=0, present=0,
                                                                 missing=0, stale=0),
            missing=[], sample=stage.sample, job_name=stage.job_name, task_uri="",
            execution_tag=contracts.execution_tag(stage.execution))
    result = forced(request, evaluate(s3, stage, sleep=sleep))
    if result.complete:
        if table is not None:
            try:
                jobstate.record_skipped(table, stage.execution, stage.workflow, stage.stage,
                                        stage.sample, now=now)
            except (BotoCoreError, ClientError) as exc:  # progress display only: never fail a run
                log.warning("could not record %s as SKIPPED: %s", stage.label, exc)
        return result.response()
    s3util.put_json(s3, stage.task_uri, stage.task(), sleep=sleep)
    return result.response(task_uri=stage.task_uri)


def post_check(
    s3: S3Client, request: contracts.CheckRequest, *, sleep: Callable[[float], None] = time.sleep
) -> contracts.CheckResponse:
    """Verify after the job: exit code 0 is not proof, the outputs and marker are."""
    stage = resolve(request)
    result = evaluate(s3, stage, sleep=sleep)
    if not result.complete:
        raise StageOutputsMissing(f"{stage.label}: {result.reason}")
    return result.response()
