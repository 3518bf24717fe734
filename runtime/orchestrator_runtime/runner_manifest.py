"""Manifest mode of the job runner: one line of an array stage's manifest, as a RunnerTask.

An array stage's jobs carry no task document of their own. The plan wrote the stage document
(the stage's "pre" CheckRequest without a row) and the manifest (one ManifestLine per sample,
every line padded to the same width) side by side; a job runs line ``ORCH_MANIFEST_OFFSET +
AWS_BATCH_JOB_ARRAY_INDEX`` (index 0 outside an array job) and reads only that line, with one
ranged GET. The line's row completes the stage document into the CheckRequest of one sample,
which resolves (:func:`orchestrator_runtime.resolve.resolve`) into the same RunnerTask a
"pre" check would have written: from there the job is an ordinary one.

By hand: ``orchestrator-runner --manifest URI --line N`` (the width is read from the
manifest's first line when ``--width``/``ORCH_MANIFEST_WIDTH`` is not given).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, cast

from orchestrator_runtime import contracts, limits
from orchestrator_runtime.resolve import BadCheckRequest, resolve
from orchestrator_runtime.runner_errors import task_error
from orchestrator_runtime.runner_io import STORAGE_ERRORS, PastTheEnd, Store, describe
from orchestrator_runtime.runner_task import check_stage_doc, check_task

FIRST_READ: Final = 64 * 1024  # bytes read to find the first line's end (width unknown)


@dataclass(frozen=True)
class LineSource:
    """Which manifest line a job runs, and how that was decided (for its first log line)."""

    manifest: str
    line: int
    width: int | None  # None: read from the manifest's first line
    how: str  # "offset 4 + array index 3", "--line 7"


def _number(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise task_error(f"{name} is {text!r}; it must be a whole number from {low} to {high}")
    return value


def line_source(env: Mapping[str, str], *, manifest: str | None = None,
                line: int | None = None, width: int | None = None) -> LineSource | None:
    """The line to run: flags first, then the environment Batch gives the job; None when
    neither names a manifest."""
    uri = manifest or env.get(contracts.MANIFEST_ENV, "")
    if not uri:
        return None
    if width is None and not manifest and env.get(contracts.MANIFEST_WIDTH_ENV) is not None:
        width = _number(env[contracts.MANIFEST_WIDTH_ENV], contracts.MANIFEST_WIDTH_ENV, 2,
                        contracts.MANIFEST_WIDTH_MAX)
    elif width is not None and width < 2:
        raise task_error(f"--width is {width}; a manifest line is at least 2 bytes wide")
    if line is not None:
        if line < 0:
            raise task_error(f"--line is {line}; manifest lines are numbered from 0")
        return LineSource(uri, line, width, f"--line {line}")
    if width is None and not manifest:
        raise task_error(f"{contracts.MANIFEST_ENV} is set but {contracts.MANIFEST_WIDTH_ENV} "
                         "is not: the job definition or the state machine must set both")
    offset = _number(env.get(contracts.MANIFEST_OFFSET_ENV, "0"),
                     contracts.MANIFEST_OFFSET_ENV, 0, contracts.MANIFEST_LINES_MAX)
    index_text = env.get(contracts.ARRAY_INDEX_ENV)
    index = 0 if index_text is None else _number(index_text, contracts.ARRAY_INDEX_ENV, 0,
                                                 limits.BATCH_ARRAY_MAX - 1)
    how = (f"offset {offset} + array index {index}" if index_text is not None
           else f"offset {offset}, not an array job")
    return LineSource(uri, offset + index, width, how)


def _width(store: Store, manifest: str) -> int:
    """The manifest's line width, from where its first line ends."""
    size = FIRST_READ
    while True:
        try:
            head = store.read_range(manifest, f"bytes=0-{size - 1}")
        except PastTheEnd:
            raise task_error(f"manifest {manifest} is empty") from None
        end = head.find(b"\n")
        if end >= 0:
            return end + 1
        if len(head) < size or size >= contracts.MANIFEST_WIDTH_MAX:
            raise task_error(f"manifest {manifest} has no line end in its first {len(head)} "
                             "bytes: it is not a manifest")
        size *= 4


def _read_line(store: Store, source: LineSource) -> contracts.ManifestLine:
    where = f"manifest {source.manifest}"
    width = source.width if source.width is not None else _width(store, source.manifest)
    named = (f"{contracts.MANIFEST_WIDTH_ENV}={width}" if source.width is not None
             else f"width {width}")
    try:
        raw = store.read_range(source.manifest, contracts.manifest_range(source.line, width))
    except PastTheEnd as exc:
        lines = f"it holds {exc.size // width} line(s)" if exc.size is not None else "it is shorter"
        raise task_error(f"{where}: line {source.line} ({source.how}) is past the end ({lines} "
                         f"of {width} bytes)") from None
    if len(raw) != width or not raw.endswith(b"\n"):
        raise task_error(f"{where}: line {source.line} is not {width} bytes ending with a line "
                         f"break: the manifest's lines are not {named} wide")
    try:
        return contracts.decode_manifest_line(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise task_error(f"{where}: line {source.line} is not a manifest line ({reason}); "
                         f"is {named} right?") from None


def _stage_doc(store: Store, manifest: str) -> contracts.CheckRequest:
    location = contracts.sibling(manifest, contracts.STAGE_DOC)
    try:
        raw = store.read(location)
    except STORAGE_ERRORS as exc:
        raise task_error(f"cannot read stage document {location}: {describe(exc)}") from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise task_error(f"stage document {location} is not valid JSON: {exc}") from None
    return check_stage_doc(doc, location)


def load(source: LineSource, store: Store) -> tuple[contracts.RunnerTask, str]:
    """The task of one manifest line, and the sentence that says which line and sample."""
    try:
        line = _read_line(store, source)
    except STORAGE_ERRORS as exc:
        raise task_error(f"cannot read manifest {source.manifest}: {describe(exc)}") from None
    request = _stage_doc(store, source.manifest)
    where = f"manifest {source.manifest} line {source.line}"
    try:
        stage = resolve(cast(contracts.CheckRequest, {**request, "sample": line["row"]}))
    except BadCheckRequest as exc:
        raise task_error(f"{where}: {exc}") from None
    if stage.sample != line["sample"]:
        raise task_error(f"{where} names sample {line['sample']!r} but its row is sample "
                         f"{stage.sample!r}: the manifest and the stage document disagree")
    task = check_task(dict(stage.task()), where)
    return task, (f"{where} ({source.how}): stage {stage.stage}, sample {stage.sample_id} "
                  f"(sheet row {line['index']})")
