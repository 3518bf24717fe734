"""One readable line for a failure, and one for a Map block's failed samples.

A Catch hands over ``{"Error", "Cause"}`` where Cause is whatever the failing service wrote:
the Batch job description for a failed ``submitJob.sync`` (its keys in PascalCase as Step
Functions returns them, or camelCase as DescribeJobs does; both are read), a Lambda error
object, or plain text. Nothing here raises on odd input: the worst answer is the raw text,
shortened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from orchestrator_runtime import contracts, samplesheet
from orchestrator_runtime.resolve import BadCheckRequest, sample_id_of

RAW_LIMIT = 500
SUMMARY_SHOWN = 10
SUMMARY_CAUSE_LIMIT = 200
_STAGE_IN_CAUSE = re.compile(r"^stage (\S+?)(?=,|:| failed)")


def _short(text: str, limit: int = RAW_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` whether the service spelled the key camelCase or PascalCase."""
    if not isinstance(obj, Mapping):
        return None
    if key in obj:
        return obj[key]
    return obj.get(key[:1].upper() + key[1:])


def label(request: contracts.CheckRequest) -> str:
    stage = request.get("stage")
    if not stage and request.get("workflow"):  # a step of the run, not of a stage
        return f"the run of {request.get('workflow')}"
    text = f"stage {stage}" if isinstance(stage, str) and stage else "a stage"
    try:
        sample = sample_id_of(request)
    except BadCheckRequest:
        sample = None
    return text if sample is None else f"{text}, sample {sample}"


def batch_line(where: str, job: Mapping[str, Any]) -> str:
    attempts = get(job, "attempts")
    attempts = attempts if isinstance(attempts, list) else []
    last = attempts[-1] if attempts and isinstance(attempts[-1], Mapping) else {}
    container = get(last, "container") or get(job, "container") or {}
    reasons: list[str] = []
    for reason in (get(container, "reason"), get(last, "statusReason"),
                   get(job, "statusReason")):
        if isinstance(reason, str) and reason and reason not in reasons:
            reasons.append(reason)
    n = len(attempts)
    head = (f"{where} failed after {n} attempt{'s' if n != 1 else ''}" if n
            else f"{where} failed before any attempt ran")
    line = f"{head}: {'; '.join(reasons) or 'no reason given'}"
    exit_code = get(container, "exitCode")
    if exit_code is not None:
        line += f" (exit code {exit_code})"
    if exit_code == 137 or any("OutOfMemory" in r for r in reasons):
        line += "; the container was killed, most likely out of memory: raise the job's memory"
    log_stream = get(container, "logStreamName")
    if log_stream:
        line += f"; log stream {log_stream}"
    job_id = get(job, "jobId")
    if job_id:
        line += f"; job {job_id}"
    return line


def _line(where: str, error: str, cause: str) -> str:
    try:
        doc = json.loads(cause)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        doc = None
    if isinstance(doc, Mapping) and get(doc, "status") and (
        get(doc, "jobId") or get(doc, "attempts") is not None
    ):
        return batch_line(where, doc)
    if isinstance(doc, Mapping) and isinstance(doc.get("errorMessage"), str):
        message = _short(doc["errorMessage"])
        if message.startswith(where):
            return message
        kind = doc.get("errorType") or error
        return f"{where}: {kind}: {message}"
    text = _short(cause)
    return f"{where}: {error}" + (f": {text}" if text else "")


def explain(request: contracts.CheckRequest) -> contracts.ExplainResponse:
    """The caught error as one line: stage, sample, reason, exit code, log stream, job id."""
    request = _from_check(request)
    name, cause = _caught(request.get("error"))
    return contracts.ExplainResponse(error=name, cause=_line(label(request), name, cause))


def _from_check(request: contracts.CheckRequest) -> contracts.CheckRequest:
    """A stage's shared explain state sends what the stage's own state left at ``check``:
    its answer, naming the stage, with the error caught later at ``error``; or, when that
    state itself failed, the caught error in its place. The check function begins its
    errors with "stage <name>", so the stage is then read from the cause (a bare
    "stage <name>: " is taken off, and the line reads as when the stage was known)."""
    check = request.get(contracts.CHECK_KEY)
    if not isinstance(check, Mapping):
        return request
    out = dict(request)
    if isinstance(check.get("error"), Mapping):
        out["error"] = check["error"]
        out["stage"] = check.get("stage")
    else:
        out["error"], out["stage"] = _stage_from_cause(check)
    if not isinstance(out["stage"], str) or not out["stage"]:
        out.pop("stage", None)
        out.pop("workflow", None)  # a stage's failure, not the run's: "a stage"
    return cast(contracts.CheckRequest, out)


def _stage_from_cause(error: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The caught error, and the stage its Lambda error message begins with."""
    _, cause = _caught(error)
    try:
        doc = json.loads(cause)
    except (ValueError, RecursionError):
        doc = None
    message = doc.get("errorMessage") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(message, str):
        return dict(error), None
    found = _STAGE_IN_CAUSE.match(message)
    if found is None:
        return dict(error), None
    bare = f"stage {found.group(1)}: "
    if message.startswith(bare):
        doc = doc | {"errorMessage": message.removeprefix(bare)}
    name = str(get(error, "error") or "Unknown")
    return {"Error": name, "Cause": json.dumps(doc)}, found.group(1)


def _caught(error: Any) -> tuple[str, str]:
    name = str(get(error, "error") or "Unknown") if isinstance(error, Mapping) else "Unknown"
    raw = get(error, "cause") if isinstance(error, Mapping) else error
    return name, raw if isinstance(raw, str) else json.dumps(raw, default=str)


def explain_error(error: Any) -> str:
    """A caught ``{"Error", "Cause"}`` as one line without a stage label."""
    name, cause = _caught(error)
    return _line("the job", name, cause)


def without_label(cause: str, stage: str, sample: str) -> str:
    pattern = rf"^stage {re.escape(stage)}(, sample {re.escape(sample)})?[:,]?\s*"
    return re.sub(pattern, "", cause)


def _iteration_sample(request: contracts.CheckRequest, item: Mapping[str, Any]) -> str:
    """The sample id of an iteration's row, or ``samples[i]`` when the row has no usable id."""
    if "sample" in item:
        return str(item["sample"])
    index = item.get("index")
    rows = request.get("samples") or []
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(rows):
        return "?"
    column = request.get("sample_column") or ""
    return samplesheet.sample_id(rows[index], column) or f"{contracts.SAMPLES_KEY}[{index}]"


def _iteration_cause(item: Mapping[str, Any]) -> str:
    """The explained cause an iteration carries, from the caught error or a cause field."""
    error = item.get("error")
    if isinstance(error, Mapping):
        cause = get(error, "cause")
        name = get(error, "error")
        return str(cause) if cause else str(name or "")
    return str(item.get("cause", ""))


def summarize(request: contracts.CheckRequest) -> contracts.SummaryResponse:
    """Count a Map block's failed iterations; the cause names the first few and why."""
    results: list[Any] = request["results"]  # present: the request model requires it
    failed = [r for r in results if isinstance(r, Mapping) and r.get("status") == "FAILED"]
    return summary(request, failed, len(results))


def summary(request: contracts.CheckRequest, failed: Sequence[Mapping[str, Any]],
            total: int) -> contracts.SummaryResponse:
    """``failed`` iterations (IterationResult-like) of ``total`` in one line: the first few
    samples, each with its stage and cause."""
    parts = []
    for item in failed[:SUMMARY_SHOWN]:
        sample, raw = _iteration_sample(request, item), _iteration_cause(item)
        # A Map iteration only knows that its sample failed; the explained cause names the stage.
        named = _STAGE_IN_CAUSE.match(raw)
        stage = str(item.get("stage") or (named.group(1) if named else "?"))
        cause = _short(without_label(raw, stage, sample), SUMMARY_CAUSE_LIMIT)
        parts.append(f"{sample} ({stage}: {cause or 'no cause recorded'})")
    if len(failed) > SUMMARY_SHOWN:
        parts.append(f"and {len(failed) - SUMMARY_SHOWN} more")
    noun = "sample" if total == 1 else "samples"
    cause = f"{len(failed)} of {total} {noun} failed: {'; '.join(parts)}" if failed else ""
    return contracts.SummaryResponse(total=total, failed=len(failed), cause=cause)
