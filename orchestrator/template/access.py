"""Which S3 keys each principal needs, derived from the workflows' declared paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator import model
from orchestrator.template.cfn import NO_VALUE, escape_sub, if_, ref, s3_arn, statement
from orchestrator.template.yamltext import Commented
from orchestrator_runtime import contracts as c


@dataclass(frozen=True, order=True)
class Location:
    """Keys of ``bucket`` starting with ``prefix``; ``bucket`` may be a ``${Param}``."""

    bucket: str
    prefix: str

    def arn(self) -> Any:
        return s3_arn(self.bucket, escape_sub(self.prefix) + "*")

    def bucket_arn(self) -> Any:
        return s3_arn(self.bucket)


def _prefix(prefix: str) -> str:
    return f"{prefix.strip('/')}/" if prefix.strip("/") else ""


def workflow_location(wf: model.Workflow, bucket_param: str) -> Location:
    return Location(f"${{{bucket_param}}}", _prefix(wf.bucket_prefix))


def meta_location(wf: model.Workflow, bucket_param: str, *parts: str) -> Location:
    base = workflow_location(wf, bucket_param)
    return Location(base.bucket, base.prefix + "/".join((c.META_PREFIX, *parts)) + "/")


def _absolute(paths: Iterable[str]) -> set[Location]:
    """Locations of ``s3://`` paths: the key up to its first placeholder."""
    out = set()
    for path in paths:
        if path.startswith("s3://"):
            bucket, key = c.split_uri(path)
            out.add(Location(bucket, key.split("{", 1)[0]))
    return out


def job_locations(wf: model.Workflow, bucket_param: str) -> tuple[set[Location], set[Location]]:
    """(reads, writes) of the jobs: the workflow's prefix plus any absolute paths."""
    base = workflow_location(wf, bucket_param)
    reads = {base} | _absolute(p for j in wf.jobs for p in j.inputs.values())
    writes = {base} | _absolute(p for j in wf.jobs for p in j.outputs.values())
    return reads, writes


def check_locations(wf: model.Workflow, bucket_param: str) -> tuple[set[Location], Location]:
    """(reads, task documents) of the check function: it looks at inputs and outputs."""
    reads, writes = job_locations(wf, bucket_param)
    return reads | writes, meta_location(wf, bucket_param, c.TASKS)


def plan_locations(wf: model.Workflow, bucket_param: str) -> Location:
    """Array stages' plans (stage document and manifest) of every execution: what the
    job-events function reads to know which sample an array child ran."""
    tasks = meta_location(wf, bucket_param, c.TASKS)
    return Location(tasks.bucket, f"{tasks.prefix}*/{c.ARRAY_PLAN}/")


def sheet_locations(wf: model.Workflow, bucket_param: str) -> set[Location]:
    base = workflow_location(wf, bucket_param)
    return {Location(base.bucket, base.prefix + t.prefix.lstrip("/"))
            for t in wf.triggers if t.kind == "sheet"}


def list_buckets(locations: Iterable[Location]) -> list[dict[str, Any]]:
    """One s3:ListBucket statement per bucket, listing only under the given prefixes.

    ``IfExists``: a listing request carries ``s3:prefix`` and is held to the prefixes; the
    existence check S3 makes for a GET or HEAD of a missing key is allowed either way."""
    by_bucket: dict[str, set[str]] = {}
    arns: dict[str, Any] = {}
    for loc in locations:
        by_bucket.setdefault(loc.bucket, set()).add(escape_sub(loc.prefix) + "*")
        arns[loc.bucket] = loc.bucket_arn()
    return [Commented(
        "s3:ListBucket makes a GET or HEAD of a missing key answer 404 instead of 403, so a\n"
        "missing object reads as missing, not as an access error. It reveals key names only,\n"
        "and only under these prefixes.",
        statement(["s3:ListBucket"], arns[b], condition={
            "StringLikeIfExists": {"s3:prefix": sorted(by_bucket[b])}}))
        for b in sorted(by_bucket)]


KMS_KEY_PARAM = "DataKmsKeyArn"
USE_KMS_KEY = "UseDataKmsKey"  # condition: the parameter is set
KMS_KEY_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$"


def kms_key(*, write: bool) -> dict[str, Any]:
    """Use of the data bucket's customer-managed KMS key, when the stack is given one: reading
    SSE-KMS objects needs kms:Decrypt, writing them kms:GenerateDataKey (and Decrypt, for
    multipart uploads)."""
    actions = ["kms:Decrypt", *(["kms:GenerateDataKey"] if write else [])]
    return if_(USE_KMS_KEY, statement(actions, ref(KMS_KEY_PARAM)), NO_VALUE)
