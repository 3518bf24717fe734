"""Start one execution per uploaded object version that matches a workflow's trigger.

Keys come from EventBridge "Object Created" events, where S3 does not URL-encode them (unlike
S3 notifications to SQS/SNS/Lambda), so they are used as they are. A key's values only ever
travel inside the execution's JSON input, never through a shell; keys with ``.`` or ``..``
segments, or outside the workflow's prefix, are ignored, so no value can leave the prefix
later when it is put into a path.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from orchestrator_runtime import contracts, limits, samplesheet

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

MAX_SHEET_BYTES = 10 * 1024 * 1024
MAX_KEY_BYTES = 1024  # S3 object keys
TRIGGER_KEY = "trigger"  # in the execution input: the object and the start request's id
BUCKET_NAME_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
TOKEN_RE = re.compile(r"[\x21\x23-\x7e]{1,1024}")  # printable ASCII, no quote: ETag, version


class TriggerConfigError(ValueError):
    """The TRIGGERS setting is wrong; the message names the trigger and field."""


class MalformedUpload(ValueError):
    """The event is not an S3 "Object Created" event we can act on; the message names the
    field."""


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    etag: str
    version_id: str | None


def _member(obj: Any, name: str, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise MalformedUpload(f"{where} must be an object")
    return obj.get(name)


def parse_object_created(event: Any) -> Upload:
    """The bucket, key, ETag and version of an EventBridge "Object Created" event.

    Total: anything that is not a plausible S3 name raises MalformedUpload (never another
    exception), so no value that S3 could not have sent reaches a request or an input.
    """
    detail = _member(event, "detail", "the event")
    bucket, obj = _member(detail, "bucket", "detail"), _member(detail, "object", "detail")
    name = _member(bucket, "name", "detail.bucket")
    if not isinstance(name, str) or not BUCKET_NAME_RE.fullmatch(name):
        raise MalformedUpload(f"detail.bucket.name must be an S3 bucket name, got {name!r:.60}")
    key = _member(obj, "key", "detail.object")
    if not isinstance(key, str) or not key:
        raise MalformedUpload(f"detail.object.key must be a non-empty string, got {key!r:.60}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise MalformedUpload("detail.object.key is not Unicode text (lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise MalformedUpload(f"detail.object.key is {size} bytes; S3 keys have at most "
                              f"{MAX_KEY_BYTES}")
    tokens: dict[str, str | None] = {}
    for field_name in ("etag", "version-id"):
        value = obj.get(field_name)
        if value is not None and (not isinstance(value, str) or not TOKEN_RE.fullmatch(value)):
            raise MalformedUpload(f"detail.object.{field_name} must be printable ASCII without "
                                  f"quotes, got {value!r:.60}")
        tokens[field_name] = value
    if not tokens["etag"] and not tokens["version-id"]:
        raise MalformedUpload("detail.object has neither an etag nor a version-id")
    return Upload(name, key, tokens["etag"] or "", tokens["version-id"])


class SheetError(ValueError):
    """An uploaded sample sheet cannot start a run; the message says what to fix."""


@dataclass(frozen=True)
class Started:
    workflow: str
    execution_name: str
    already_existed: bool
    samples: int


def _split_bucket(uri: str, where: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        uri = f"s3://{uri}"
    try:
        bucket, prefix = contracts.split_uri(uri)
    except ValueError as exc:
        raise TriggerConfigError(f"{where}.bucket: {exc}") from exc
    return bucket, prefix.strip("/")


def parse_triggers(raw: str) -> list[contracts.TriggerConfig]:
    """The TRIGGERS variable, checked field by field."""
    try:
        items = json.loads(raw or "[]")
    except ValueError as exc:
        raise TriggerConfigError(f"TRIGGERS is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise TriggerConfigError("TRIGGERS must be a JSON list of triggers")
    for i, item in enumerate(items):
        where = f"TRIGGERS[{i}]"
        if not isinstance(item, dict):
            raise TriggerConfigError(f"{where} must be an object")
        for name in ("workflow", "state_machine_arn", "kind", "bucket"):
            if not isinstance(item.get(name), str) or not item[name]:
                raise TriggerConfigError(f"{where}.{name} must be a non-empty string")
        if item["kind"] not in ("key", "sheet"):
            raise TriggerConfigError(f"{where}.kind must be 'key' or 'sheet', not {item['kind']!r}")
        _split_bucket(item["bucket"], where)
        if item["kind"] == "key":
            if not isinstance(item.get("pattern"), str) or not item["pattern"]:
                raise TriggerConfigError(f"{where}.pattern must be a key template")
            column = item.get("sample_column")
            if column and column not in contracts.placeholders(item["pattern"]):
                raise TriggerConfigError(
                    f"{where}.pattern {item['pattern']!r} has no {{{column}}} placeholder, so "
                    "an upload could not name its sample"
                )
        elif item["kind"] == "sheet" and not item.get("sample_column"):
            raise TriggerConfigError(f"{where}.sample_column must name the foreach column")
        if not isinstance(item.get("sheet_by_uri", False), bool):
            raise TriggerConfigError(f"{where}.sheet_by_uri must be true or false")
    return cast(list[contracts.TriggerConfig], items)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``raw/{sample_id}.fq`` -> a regex whose named groups each match one path segment."""
    parts: list[str] = []
    seen: set[str] = set()
    pos = 0
    for m in contracts.TEMPLATE_TOKEN_RE.finditer(pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        name = m.group(1)
        if not name:  # an escaped brace
            parts.append(re.escape(m.group(0)[0]))
            pos = m.end()
            continue
        group = name.replace(".", "__")
        parts.append(f"(?P={group})" if group in seen else f"(?P<{group}>[^/]+)")
        seen.add(group)
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts), re.DOTALL)


def relative_key(trigger: contracts.TriggerConfig, bucket: str, key: str) -> str | None:
    """The key relative to the workflow's prefix, or None when it is not under it or unsafe."""
    t_bucket, prefix = _split_bucket(trigger["bucket"], "trigger")
    if bucket != t_bucket:
        return None
    if prefix:
        if not key.startswith(prefix + "/"):
            return None
        key = key[len(prefix) + 1:]
    segments = key.split("/")
    if any(s in (".", "..") for s in segments) or key.startswith(contracts.META_PREFIX + "/"):
        return None
    return key


def match_key(trigger: contracts.TriggerConfig, rel: str) -> dict[str, str] | None:
    """The sample row an uploaded key names, or None when it does not match the pattern."""
    m = pattern_regex(trigger.get("pattern", "")).fullmatch(rel)
    if m is None:
        return None
    return {name.replace("__", "."): value for name, value in m.groupdict().items()}


def parse_sheet(body: bytes, sample_column: str, where: str) -> list[dict[str, str]]:
    """The rows of a CSV sample sheet, read exactly as ``orchestrator start`` and the local
    engine read it (so one sheet gives the same values, hence the same fingerprints, however
    the run was started); SheetError naming the problem and the fix."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SheetError(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return samplesheet.parse(text, where, sample_column)
    except samplesheet.SampleSheetError as exc:
        raise SheetError(str(exc)) from exc


def start(sfn: SFNClient, trigger: contracts.TriggerConfig, name: str,
          rows: Sequence[Mapping[str, str]], source: str = "") -> Started:
    """StartExecution by a deterministic name; ``already_existed`` when the name is taken.

    StartExecution answers a repeated call with the same name and input as a *running*
    execution with that execution, as if it had just started it. Each call's input carries
    a fresh request id, so a repeated call can never be the same input: a duplicate upload
    event while the first run is still going gets ExecutionAlreadyExists, like one after it.
    """
    given: dict[str, Any] = (
        {contracts.SHEET_KEY: source} if trigger.get("sheet_by_uri") and trigger["kind"] == "sheet"
        else {contracts.SAMPLES_KEY: list(rows)})
    doc = json.dumps({**given, contracts.PARAMS_KEY: {},
                      TRIGGER_KEY: {"object": source, "request": uuid.uuid4().hex}},
                     ensure_ascii=False, separators=(",", ":"))
    if len(doc.encode()) > limits.PAYLOAD_BYTES:
        raise SheetError(f"{len(rows)} samples make an execution input of {len(doc.encode())} "
                         f"bytes, over Step Functions' {limits.PAYLOAD_BYTES}; split the sheet")
    try:
        sfn.start_execution(stateMachineArn=trigger["state_machine_arn"], name=name, input=doc)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return Started(trigger["workflow"], name, True, len(rows))
    return Started(trigger["workflow"], name, False, len(rows))


@dataclass
class Result:
    started: list[Started] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # why a trigger did not apply
    errors: list[str] = field(default_factory=list)  # bad sample sheets: the user must act


def on_object_created(
    sfn: SFNClient, s3: S3Client, triggers: Sequence[contracts.TriggerConfig], *, bucket: str,
    key: str, etag: str, version_id: str | None = None,
) -> Result:
    """Start what this object version triggers, at most once per workflow.

    The execution name hashes (workflow, bucket, key, version id or else ETag), so a repeated
    event, or the same bytes uploaded again to an unversioned bucket, starts nothing new.
    """
    result = Result()
    version = version_id if version_id and version_id != "null" else etag
    source = f"s3://{bucket}/{key}"
    for trigger in triggers:
        workflow = trigger["workflow"]
        rel = relative_key(trigger, bucket, key)
        if rel is None:
            result.ignored.append(f"{workflow}: key is outside the workflow's prefix or unsafe")
            continue
        name = contracts.execution_name(workflow, bucket, key, version)
        if trigger["kind"] == "key":
            row = match_key(trigger, rel)
            if row is None:
                result.ignored.append(f"{workflow}: key does not match {trigger.get('pattern')!r}")
                continue
            column = trigger.get("sample_column", "")
            problem = samplesheet.id_problem(row[column]) if column in row else ""
            if problem:
                result.errors.append(f"{workflow}: {source}: the key's {column} {problem}")
                continue
            result.started.append(start(sfn, trigger, name, [row] if row else [], source))
            continue
        prefix = trigger.get("prefix", "").strip("/")
        suffix = trigger.get("suffix") or ".csv"
        if (prefix and not rel.startswith(prefix + "/")) or not rel.endswith(suffix):
            result.ignored.append(f"{workflow}: not a {suffix} sheet under {prefix or '.'}/")
            continue
        where = f"sample sheet s3://{bucket}/{key}"
        try:
            body = _read_sheet(s3, bucket, key, version_id, etag, where)
            if body is None:
                result.ignored.append(f"{workflow}: {where} was replaced before it was read")
                continue
            rows = parse_sheet(body, trigger.get("sample_column", ""), where)
            result.started.append(start(sfn, trigger, name, rows, source))
        except SheetError as exc:
            result.errors.append(f"{workflow}: {exc}")
    return result


def _read_sheet(s3: S3Client, bucket: str, key: str, version_id: str | None, etag: str,
                where: str) -> bytes | None:
    """The uploaded bytes, or None when the key was overwritten since (its own event follows).

    ``IfMatch`` on the event's ETag pins the content with plain s3:GetObject; VersionId would
    also need s3:GetObjectVersion, so it is used only when the event carries no ETag.
    """
    extra: dict[str, Any] = {"IfMatch": etag} if etag else (
        {"VersionId": version_id} if version_id else {})
    try:
        resp = s3.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "NoSuchKey", "412"):
            return None
        raise
    if int(resp.get("ContentLength", 0)) > MAX_SHEET_BYTES:
        raise SheetError(f"{where} is larger than {MAX_SHEET_BYTES} bytes; split it")
    return resp["Body"].read()
