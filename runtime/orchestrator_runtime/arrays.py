"""The check function's actions for the ``array`` strategy: a stage over every sample at once.

``sheet``  reads the run's rows (inline ``samples`` or a sheet in S3), checks them once and
           writes them as the run's sheet (JSON lines); payloads carry its URI and count.
``plan``   evaluates a per-sample stage for every sample with LIST pages (inputs, outputs,
           markers; see :func:`orchestrator_runtime.s3util.inspect`), leaves out samples an
           earlier stage failed for, and writes the stage document and the manifest of the
           samples to run (contracts, "Array stages").
``collect`` after the stage's job(s): which of the planned samples now have complete
           outputs, and why the others failed (DescribeJobs on their array children).
``summarize`` (with ``stages``): the block's failed samples in one line.

S3 requests of a plan: one GET of the sheet, one LIST of the run's failure records, the
LIST pages of inputs, outputs and markers (1,000 keys each), and the PUTs of the stage
document and manifest: O(N/1000), never one request per sample.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator_runtime import contracts, explain, jobstate, limits, s3util, samplesheet
from orchestrator_runtime.outputs import (
    StageInputsMissing,
    forced,
    judge,
    selected,
    stage_uris,
)
from orchestrator_runtime.resolve import BadCheckRequest, Stage, resolve

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
Sleep = Callable[[float], None]
SHOWN = 10  # failed samples (or groups failing the same way) a cause names
SAME_SHOWN = 5  # samples named per group
DESCRIBED = 1000  # failed children described per collect (DescribeJobs pages of 100)
SKIP_WRITERS = 8  # threads recording SKIPPED rows

# Fields of a "plan" request that are not part of the stage document.
_NOT_STAGE = ("action", "sample", "samples", "sheet", "plan", "batch", "stages", "results",
              "error", "block")


class NoSamples(Exception):
    """contracts.ERR_NO_SAMPLES: a run over samples was started without any."""


class BadSampleSheet(Exception):
    """contracts.ERR_BAD_SHEET: the run's sample sheet cannot start a run; names each row."""


# --- sheet ----------------------------------------------------------------------------------

def read_rows(s3: S3Client, request: contracts.CheckRequest, *,
              sleep: Sleep = time.sleep) -> list[Any]:
    """The run's rows, checked: the request's ``sheet`` (CSV or JSON lines in S3) or its
    inline ``samples``; raises BadSampleSheet naming the line."""
    source = request.get("sheet") or ""
    column = request.get("sample_column")
    if not source:
        rows = request.get("samples")
        where = samplesheet.Locator("the execution input")
        try:
            return samplesheet.check_rows(rows if rows is not None else [], column, where=where)
        except samplesheet.SampleSheetError as exc:
            raise BadSampleSheet(str(exc)) from None
    try:
        raw = s3util.get_bytes(s3, source, sleep=sleep)
    except ValueError as exc:
        raise BadSampleSheet(f"{source}: {exc}") from None
    if raw is None:
        raise BadSampleSheet(f"{source}: no such object; upload the sample sheet there or fix "
                             "the URI in the execution input")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSampleSheet(f"{source}: not UTF-8 text (byte {exc.start}); save the sheet "
                             "as UTF-8 CSV or JSON lines") from None
    try:
        if source.endswith((".jsonl", ".ndjson")):
            return _json_lines(text, source, column)
        return list(samplesheet.parse(text, source, column))
    except samplesheet.SampleSheetError as exc:
        raise BadSampleSheet(str(exc)) from None


def _json_lines(text: str, source: str, column: str | None) -> list[Any]:
    rows: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise samplesheet.SampleSheetError(f"{source}:{number}: not JSON ({exc})") from None
        lines.append(number)
    return samplesheet.check_rows(rows, column, where=samplesheet.Locator(source, lines))


def sheet(s3: S3Client, request: contracts.CheckRequest, *,
          sleep: Sleep = time.sleep) -> contracts.SheetResponse:
    """Check the run's rows once and write them where every later step reads them."""
    rows = read_rows(s3, request, sleep=sleep)
    if not rows:
        raise NoSamples(f"workflow {request.get('workflow')!r} runs once per sample, but the "
                        "run has no samples: start it with a sample sheet or "
                        f"{{\"{contracts.SAMPLES_KEY}\": [...]}}")
    folder = contracts.run_prefix(_bucket(request), _execution_name(request))
    if request.get("items"):
        _check_items(request, rows)
    uri, items = write_rows(s3, folder, rows, items=bool(request.get("items")), sleep=sleep)
    out = contracts.SheetResponse(sheet=uri, count=len(rows))
    if items:
        out["bucket"], out["items"] = contracts.split_uri(items)
        out["results"] = contracts.split_uri(folder + contracts.MAP_RESULTS + "/")[1]
    return out


def write_rows(s3: S3Client, folder: str, rows: list[Any], *, items: bool,
               sleep: Sleep = time.sleep) -> tuple[str, str]:
    """Write ``rows`` in ``folder`` as a run's sheet (JSON lines: SHEET) and, for the map
    strategy (``items``), as the Distributed Map's items: one JSON array (SHEET_ITEMS; moto's
    interpreter reads CSV and JSON only, not JSON lines). Their URIs ("" if no items)."""
    uri = folder + contracts.SHEET
    body = "".join(contracts.canonical_json(r) + "\n" for r in rows).encode()
    s3util.put_bytes(s3, uri, body, sleep=sleep)
    if not items:
        return uri, ""
    items_uri = folder + contracts.SHEET_ITEMS
    body = ("[" + ",".join(contracts.canonical_json(r) for r in rows) + "]").encode()
    s3util.put_bytes(s3, items_uri, body, sleep=sleep)
    return uri, items_uri


def _check_items(request: contracts.CheckRequest, rows: list[Any]) -> None:
    """Each child execution's input (its row, the run's params and selections) must fit Step
    Functions' payload limit: a row that does not fails the run here, named."""
    shared = len(contracts.canonical_json({
        "index": len(rows), "params": request.get("params") or {},
        "force": request.get("force") or [], "only": request.get("only") or [],
        "execution": request.get("execution", ""), "sample": None}).encode())
    column = request.get("sample_column") or ""
    for row in rows:
        size = shared + len(contracts.canonical_json(row).encode())
        if size > limits.PAYLOAD_BYTES:
            raise BadSampleSheet(
                f"sample {samplesheet.sample_id(row, column)!r}: its row and the run's params "
                f"make a {size:,}-byte child execution input; Step Functions allows "
                f"{limits.PAYLOAD_BYTES:,}: shorten the row's values or the params")


def load_sheet(s3: S3Client, uri: str, *, sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """The rows the ``sheet`` action wrote."""
    raw = s3util.get_bytes(s3, uri, sleep=sleep)
    if raw is None:
        raise BadCheckRequest(f"the run's sample sheet {uri} is gone; start the run again")
    return [json.loads(line) for line in raw.decode().splitlines() if line]


def _bucket(request: contracts.CheckRequest) -> str:
    job = request.get("job")
    bucket = job["bucket"] if job else request.get("bucket")
    if not bucket:
        raise BadCheckRequest("the request names no bucket (job.bucket or bucket)")
    return bucket


def _execution_name(request: contracts.CheckRequest) -> str:
    return str(request.get("execution", "")).rsplit(":", 1)[-1] or "run"


# --- failure records -------------------------------------------------------------------------

def _failures_uri(request: contracts.CheckRequest, stage: str) -> str:
    return contracts.failures_uri(_bucket(request), _execution_name(request), stage)


def _earlier_failures(s3: S3Client, request: contracts.CheckRequest,
                      sleep: Sleep) -> tuple[dict[str, str], bool]:
    """Samples that failed (or were blocked) at another stage of this run -> that stage; and
    whether this stage has a failure record already (from an earlier plan of it)."""
    folder = contracts.failures_folder(_bucket(request), _execution_name(request))
    names = s3util.folders(s3, [folder], sleep=sleep)[folder]
    out: dict[str, str] = {}
    own = False
    for name in sorted(names):
        stage = name.removesuffix(".json")
        if stage == request.get("stage"):
            own = True
            continue
        doc = s3util.get_json(s3, folder + name, sleep=sleep)
        if isinstance(doc, dict):
            for sample in (*doc.get("failed", {}), *doc.get("blocked", {})):
                out.setdefault(sample, stage)
    return out, own


def _write_failures(s3: S3Client, request: contracts.CheckRequest, failed: Mapping[str, str],
                    blocked: Mapping[str, str], sleep: Sleep) -> None:
    stage = request["stage"]
    doc = contracts.Failures(stage=stage, failed=dict(failed), blocked=dict(blocked))
    s3util.put_json(s3, _failures_uri(request, stage), doc, sleep=sleep)


# --- plan -------------------------------------------------------------------------------------

def stage_document(request: contracts.CheckRequest) -> dict[str, Any]:
    """The stage's "pre" request without a row: with one manifest line, a whole request."""
    return {**{k: v for k, v in request.items() if k not in _NOT_STAGE}, "action": "pre"}


def _for_row(doc: dict[str, Any], row: dict[str, Any]) -> Stage:
    """The stage for one sample: the stage document with the sample's row."""
    return resolve(cast(contracts.CheckRequest, {**doc, "sample": row}))


def _resolve_all(doc: dict[str, Any], rows: Iterable[tuple[int, dict[str, Any], str]],
                 failed: dict[str, str]) -> list[tuple[int, dict[str, Any], Stage]]:
    """Each (index, row, sample label) resolved; a row that cannot be fails alone."""
    out = []
    for index, row, label in rows:
        try:
            out.append((index, row, _for_row(doc, row)))
        except BadCheckRequest as exc:
            failed[label] = str(exc)
    return out


def plan(s3: S3Client, request: contracts.CheckRequest, *, table: Table | None = None,
         sleep: Sleep = time.sleep) -> contracts.PlanResponse:
    """Which samples this stage must run; writes their manifest (see the module docstring)."""
    rows = load_sheet(s3, request["sheet"], sleep=sleep)
    earlier, recorded = _earlier_failures(s3, request, sleep)
    column = request.get("sample_column") or ""
    blocked: dict[str, str] = {}
    chosen: list[tuple[int, dict[str, Any], str]] = []
    for index, row in enumerate(rows):
        sample_id = samplesheet.sample_id(row, column)
        label = contracts.sample_label(sample_id)
        if label in earlier:
            blocked[label] = f"not run: stage {earlier[label]} failed for it"
        elif selected(request, sample_id):
            chosen.append((index, row, label))
    failed: dict[str, str] = {}
    doc = stage_document(request)
    stages = _resolve_all(doc, chosen, failed)
    seen = s3util.inspect(s3, [u for _, _, st in stages for u in stage_uris(st)], sleep=sleep)
    markers = s3util.folders(s3, [st.marker_folder for _, _, st in stages], sleep=sleep)
    to_run: list[contracts.ManifestLine] = []
    complete: list[Stage] = []
    for index, row, st in stages:
        try:
            verdict = forced(request, judge(st, seen, markers[st.marker_folder]))
        except StageInputsMissing as exc:
            failed[st.sample] = str(exc)
            continue
        if verdict.complete:
            complete.append(st)
        else:
            to_run.append(contracts.ManifestLine(index=index, sample=st.sample, row=row))
    if failed or blocked or recorded:  # a record from an earlier plan is replaced
        _write_failures(s3, request, failed, blocked, sleep)
    if table is not None and complete:
        _record_skipped(table, complete)
    manifest, width = "", 0
    if to_run:
        prefix = contracts.plan_prefix(_bucket(request), _execution_name(request),
                                       request["stage"])
        body, width = contracts.encode_manifest(to_run)
        manifest = prefix + contracts.MANIFEST
        s3util.put_json(s3, prefix + contracts.STAGE_DOC, doc, sleep=sleep)
        s3util.put_bytes(s3, manifest, body, sleep=sleep)
    return contracts.PlanResponse(
        count=len(to_run), total=len(rows), complete=len(complete), blocked=len(blocked),
        failed=len(failed), manifest=manifest, width=str(width),
        job_name=contracts.job_name(request["workflow"], request["stage"], None),
        execution_tag=contracts.execution_tag(request["execution"]),
        chunks=contracts.chunks(len(to_run)))


def _record_skipped(table: Table, stages: list[Stage]) -> None:
    def one(st: Stage) -> None:
        try:
            jobstate.record_skipped(table, st.execution, st.workflow, st.stage, st.sample)
        except (BotoCoreError, ClientError) as exc:  # progress display only: never fail a run
            log.warning("could not record %s as SKIPPED: %s", st.label, exc)

    with ThreadPoolExecutor(max_workers=min(SKIP_WRITERS, len(stages))) as pool:
        list(pool.map(one, stages))


# --- collect ----------------------------------------------------------------------------------

def _manifest_lines(s3: S3Client, uri: str, sleep: Sleep) -> list[contracts.ManifestLine]:
    raw = s3util.get_bytes(s3, uri, sleep=sleep)
    if raw is None:
        raise BadCheckRequest(f"the stage's manifest {uri} is gone")
    return [contracts.decode_manifest_line(line) for line in raw.splitlines() if line.strip()]


def _parent_ids(batch: Any) -> list[str | None]:
    """The array parent (or single job) of each chunk, from the Task's result or the caught
    error (whose Cause is the job's description); None where none was submitted."""
    items = batch if isinstance(batch, list) else [batch]
    out: list[str | None] = []
    for item in items:
        job_id = explain.get(item, "jobId")
        if not job_id and isinstance(item, Mapping):
            cause = explain.get(item, "cause")
            try:
                doc = json.loads(cause) if isinstance(cause, str) else None
            except ValueError:
                doc = None
            job_id = explain.get(doc, "jobId")
        out.append(job_id if isinstance(job_id, str) and job_id else None)
    return out


def _batch_error(batch: Any) -> str:
    items = batch if isinstance(batch, list) else [batch]
    for item in items:
        if isinstance(item, Mapping) and explain.get(item, "error"):
            return explain.explain_error(item)
    return ""


def _child_ids(plan_: contracts.PlanResponse, parents: list[str | None],
               lines: list[int]) -> dict[int, str]:
    """Manifest line -> the Batch job that ran it (``parent:index`` for array children)."""
    out: dict[int, str] = {}
    for chunk, parent in zip(plan_["chunks"], parents, strict=False):
        if parent is None:
            continue
        start = int(chunk["offset"])
        for line in lines:
            if start <= line < start + chunk["size"]:
                out[line] = parent if plan_["count"] == 1 else f"{parent}:{line - start}"
    return out


def _describe(batch_client: BatchClient | None, ids: list[str]) -> dict[str, dict[str, Any]]:
    if batch_client is None or not ids:
        return {}
    out: dict[str, dict[str, Any]] = {}
    step = limits.DESCRIBE_JOBS_IDS
    try:
        for i in range(0, len(ids), step):
            for job in batch_client.describe_jobs(jobs=ids[i:i + step])["jobs"]:
                out[job["jobId"]] = dict(job)
    except (BotoCoreError, ClientError) as exc:  # the causes get poorer, the verdict stands
        log.warning("could not describe failed jobs: %s", exc)
    return out


def collect(s3: S3Client, request: contracts.CheckRequest, *,
            batch_client: BatchClient | None = None,
            sleep: Sleep = time.sleep) -> contracts.CollectResponse:
    """After the stage's jobs: the planned samples without complete outputs are failed; the
    cause of each comes from its array child (exit code, reason, log stream)."""
    plan_ = request["plan"]
    if not plan_["count"]:
        return contracts.CollectResponse(ran=0, succeeded=0, failed=0, cause="")
    lines = _manifest_lines(s3, plan_["manifest"], sleep)
    doc = stage_document(request)
    stages = [_for_row(doc, ln["row"]) for ln in lines]
    seen = s3util.inspect(s3, [u for st in stages for u in stage_uris(st)], sleep=sleep)
    markers = s3util.folders(s3, [st.marker_folder for st in stages], sleep=sleep)
    bad: list[tuple[int, Stage, str]] = []
    for i, st in enumerate(stages):
        try:
            verdict = judge(st, seen, markers[st.marker_folder])
        except StageInputsMissing as exc:
            bad.append((i, st, str(exc)))
            continue
        if not verdict.complete:
            bad.append((i, st, verdict.reason))
    failed = dict(_causes(request, bad, batch_client))
    if failed:
        earlier = _stage_failures(s3, request, sleep) if (
            plan_["failed"] or plan_["blocked"]) else None
        merged = {**(earlier["failed"] if earlier else {}), **failed}
        _write_failures(s3, request, merged, earlier["blocked"] if earlier else {}, sleep)
    shown = "; ".join(f"{s} ({c})" for s, c in list(failed.items())[:SHOWN])
    more = f"; and {len(failed) - SHOWN} more" if len(failed) > SHOWN else ""
    cause = (f"stage {request['stage']}: {len(failed)} of {len(stages)} samples failed: "
             f"{shown}{more}") if failed else ""
    return contracts.CollectResponse(ran=len(stages), succeeded=len(stages) - len(failed),
                                     failed=len(failed), cause=cause)


def _causes(request: contracts.CheckRequest, bad: list[tuple[int, Stage, str]],
            batch_client: BatchClient | None) -> Iterable[tuple[str, str]]:
    if not bad:
        return
    plan_ = request["plan"]
    parents = _parent_ids(request.get("batch"))
    children = _child_ids(plan_, parents, [i for i, _, _ in bad])
    described = _describe(batch_client, [children[i] for i, _, _ in bad[:DESCRIBED]
                                         if i in children])
    error = _batch_error(request.get("batch"))
    for i, st, reason in bad:
        job = described.get(children.get(i, ""))
        if job is not None and job.get("status") == "FAILED":
            yield st.sample, explain.batch_line(st.label, job)
        elif job is not None:
            yield st.sample, f"{st.label}: the job ended {job.get('status')} but {reason}"
        elif i not in children and error:
            yield st.sample, f"{st.label}: {error}"
        else:
            where = f" (job {children[i]})" if i in children else ""
            yield st.sample, f"{st.label}: {reason}{where}"


def _stage_failures(s3: S3Client, request: contracts.CheckRequest,
                    sleep: Sleep) -> contracts.Failures:
    doc = s3util.get_json(s3, _failures_uri(request, request["stage"]), sleep=sleep)
    if not isinstance(doc, dict):
        return contracts.Failures(stage=request["stage"], failed={}, blocked={})
    return contracts.Failures(stage=request["stage"], failed=dict(doc.get("failed", {})),
                              blocked=dict(doc.get("blocked", {})))


# --- summarize --------------------------------------------------------------------------------

def summarize(s3: S3Client, request: contracts.CheckRequest, *,
              sleep: Sleep = time.sleep) -> contracts.SummaryResponse:
    """The block's samples that failed at one of its stages, the first few with their cause;
    samples a failure kept from later stages are counted once, at the stage that failed."""
    total = len(load_sheet(s3, request["sheet"], sleep=sleep))
    failed: dict[str, tuple[str, str]] = {}
    blocked: set[str] = set()
    for stage in request.get("stages") or []:
        doc = s3util.get_json(s3, _failures_uri(request, stage), sleep=sleep)
        if not isinstance(doc, dict):
            continue
        for sample, cause in dict(doc.get("failed", {})).items():
            failed.setdefault(sample, (stage, str(cause)))
        blocked.update(dict(doc.get("blocked", {})))
    # Samples that failed the same way (a job that could not be submitted fails them all)
    # are named together, so the cause stays one readable line.
    same: dict[tuple[str, str], list[str]] = {}
    for sample, (stage, cause) in failed.items():
        same.setdefault((stage, explain.without_label(cause, stage, sample)), []).append(sample)
    parts = []
    for (stage, cause), samples in list(same.items())[:SHOWN]:
        names = ", ".join(samples[:SAME_SHOWN]) + (
            f" and {len(samples) - SAME_SHOWN} more" if len(samples) > SAME_SHOWN else "")
        parts.append(f"{names} ({stage}: {cause})")
    if len(same) > SHOWN:
        parts.append(f"and {sum(len(v) for v in list(same.values())[SHOWN:])} more")
    noun = "sample" if total == 1 else "samples"
    cause = f"{len(failed)} of {total} {noun} failed: {'; '.join(parts)}" if failed else ""
    if failed and blocked:
        cause += f"; {len(blocked)} of them blocked from later stages"
    return contracts.SummaryResponse(total=total, failed=len(failed), cause=cause)
