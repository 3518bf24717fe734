"""Reading and checking the RunnerTask document before anything is downloaded or run.

A task that fails a check is reported with the field's name and what to put there, so a
hand-written task (``orchestrator-runner --task task.json``) can be fixed from the message.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, cast

from orchestrator_runtime.contracts import (
    CONTRACT_VERSION,
    RUNNER_COMMAND,
    CheckRequest,
    RunnerTask,
)
from orchestrator_runtime.runner_errors import task_error

_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_STRINGS: Final = ("workflow", "stage", "sample", "execution", "marker")


def parse_task(raw: bytes, source: str) -> RunnerTask:
    """Decode and check a task document; raises RunnerError (exit 4) naming the problem."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise task_error(f"task {source} is not valid JSON: {exc}") from None
    return check_task(doc, source)


def check_task(doc: Any, source: str) -> RunnerTask:
    if not isinstance(doc, dict):
        raise task_error(f"task {source} must be a JSON object, got {type(doc).__name__}")
    version = doc.get("version")
    if version != CONTRACT_VERSION:
        raise task_error(
            f"task {source} has version {version!r}; this {RUNNER_COMMAND} reads version "
            f"{CONTRACT_VERSION}: install the runner from the same orchestrator release"
        )
    for key in _STRINGS:
        _require(isinstance(doc.get(key), str) and doc[key] != "", source, key,
                 "a non-empty string")
    command: Any = doc.get("command")
    _require(_is_str_list(command) and bool(command), source, "command",
             "a non-empty list of strings (the program and its arguments)")
    _require(_is_str_map(doc.get("environment")), source, "environment",
             "an object of string values")
    _require(_is_str_map(doc.get("values")), source, "values", "an object of string values")
    _require(isinstance(doc.get("shell"), bool), source, "shell", "true or false")
    _require(not doc["shell"] or len(command) == 1, source, "command",
             f"one string when 'shell' is true (a shell command is a single string), "
             f"not {len(command)} entries")
    _require(isinstance(doc.get("allow_empty"), bool), source, "allow_empty", "true or false")
    inputs: dict[str, Any] = doc.get("inputs") or {}
    _require(isinstance(doc.get("inputs"), dict) and all(map(_is_str_list, inputs.values())),
             source, "inputs", "an object mapping each input name to a list of URIs")
    outputs: dict[str, Any] = doc.get("outputs") or {}
    _require(_is_str_map(doc.get("outputs")), source, "outputs",
             "an object mapping each output name to a URI")
    for field, names in (("inputs", inputs), ("outputs", outputs)):
        for name in names:
            _require(bool(_NAME.match(name)), source, f"{field}[{name!r}]",
                     "a name of letters, digits and _ (not starting with a digit)")
    locations = [(f"inputs[{n!r}][{i}]", u) for n, us in inputs.items() for i, u in enumerate(us)]
    locations += [(f"outputs[{n!r}]", u) for n, u in outputs.items()]
    for field, location in locations:
        _require(_is_location(location), source, field,
                 "an s3://bucket/key URI, a file:// URI or a local path")
    marker = doc["marker"]
    _require(marker.endswith("/") and _is_location(marker + "m"), source, "marker",
             "a folder: an s3://bucket/prefix/ URI, a file:// URI or a local path, ending "
             "with /")
    stdout = doc.get("stdout")
    _require(stdout is None or stdout in outputs, source, "stdout",
             f"null or the name of an output ({', '.join(sorted(outputs)) or 'none declared'})")
    _require(isinstance(doc.get("fingerprint_basis"), dict), source, "fingerprint_basis",
             "an object")
    return cast(RunnerTask, doc)


_JOB_STRINGS: Final = ("image", "bucket")


def check_stage_doc(doc: Any, source: str) -> CheckRequest:
    """An array stage's document (the stage's "pre" CheckRequest without a sample row), as
    the plan wrote it: checked field by field, so resolving it can trust the types."""
    what = f"stage document {source}"
    if not isinstance(doc, dict):
        raise task_error(f"{what} must be a JSON object, got {type(doc).__name__}")
    for key in ("workflow", "stage", "execution"):
        _require(isinstance(doc.get(key), str) and doc[key] != "", source, key,
                 "a non-empty string", what)
    _require(doc.get("sample") is None, source, "sample",
             "absent (each manifest line brings its sample row)", what)
    _require(doc.get("sample_column") is None or isinstance(doc["sample_column"], str),
             source, "sample_column", "the foreach column's name", what)
    for key in ("params", "param_defaults"):
        _require(doc.get(key) is None or isinstance(doc[key], dict), source, key,
                 "an object", what)
    job: Any = doc.get("job")
    _require(isinstance(job, dict), source, "job", "an object (the stage's job spec)", what)
    for key in _JOB_STRINGS:
        _require(isinstance(job.get(key), str) and job[key] != "", source, f"job.{key}",
                 "a non-empty string", what)
    command = job.get("command")
    _require(_is_str_list(command) and bool(command), source, "job.command",
             "a non-empty list of strings", what)
    for key in ("environment", "inputs", "outputs"):
        _require(_is_str_map(job.get(key)), source, f"job.{key}", "an object of strings", what)
    for key in ("allow_empty", "shell"):
        _require(isinstance(job.get(key), bool), source, f"job.{key}", "true or false", what)
    _require(not job["shell"] or len(command) == 1, source, "job.command",
             "one string when 'shell' is true", what)
    stdout = job.get("stdout")
    _require(stdout is None or stdout in job["outputs"], source, "job.stdout",
             "null or the name of an output", what)
    return cast(CheckRequest, doc)


def _require(ok: bool, source: str, field: str, expected: str, what: str = "") -> None:
    if not ok:
        raise task_error(f"{what or f'task {source}'}: field '{field}' must be {expected}")


def _is_location(value: str) -> bool:
    if value.startswith("s3://"):
        bucket, _, key = value[5:].partition("/")
        return bool(bucket) and bool(key) and not key.endswith("/")
    return bool(value) and ("://" not in value or value.startswith("file://"))


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
