"""Look at many S3 objects cheaply and never mistake an error for an answer.

:func:`inspect` is what the output check uses: it groups URIs by bucket and folder, lists a
folder when many of its objects are wanted (size and ETag come with the listing, 1,000 keys
per request) and HEADs the rest a few at a time. Transient errors are retried; permission
problems raise :class:`OutputCheckAccessError` naming the bucket and key, because "cannot see"
must never be read as "missing" (which would rerun work) or "present" (which would skip it).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from orchestrator_runtime import contracts

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
Sleep = Callable[[float], None]

# LIST costs about 12x a HEAD per request, so a folder is listed only when enough of its
# objects are wanted for the listing to save requests as well as time.
LIST_MIN_KEYS = 16
HEAD_WORKERS = 8
PAGE_SIZE = 1000  # the most ListObjectsV2 returns per request
RETRY_ATTEMPTS = 4

TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeoutException",
    "InternalError", "ServiceUnavailable", "503", "500", "502", "504", "RequestLimitExceeded",
})
ACCESS_CODES = frozenset({
    "AccessDenied", "403", "AllAccessDisabled", "NoSuchBucket", "InvalidAccessKeyId",
    "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AccountProblem",
    "InvalidObjectState", "KMS.AccessDeniedException", "KMS.DisabledException",
})
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class OutputCheckAccessError(Exception):
    """contracts.ERR_S3_ACCESS: the function may not read a bucket or key it must inspect."""


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    size: int
    etag: str  # normalised (no quotes)


def client_config() -> Config:
    """Botocore's adaptive retries absorb throttling before our own bounded retry sees it."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": 6},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=HEAD_WORKERS * 2,
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_transient(exc: ClientError | ConnectionError | HTTPClientError) -> bool:
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return True  # the connection broke or the HTTP layer failed: worth another try


def retrying(
    call: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS,
    sleep: Sleep = time.sleep,
) -> T:
    """Run ``call`` again after transient S3 errors (full jitter backoff); re-raise the last."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (ClientError, ConnectionError, HTTPClientError) as exc:
            if attempt == attempts or not _is_transient(exc):
                raise
            sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))
    raise AssertionError("unreachable")


def access_error(exc: ClientError, bucket: str, key: str) -> OutputCheckAccessError:
    return OutputCheckAccessError(
        f"cannot read s3://{bucket}/{key}: {error_code(exc)} "
        f"({exc.response.get('Error', {}).get('Message', '') or 'no message'}); "
        f"check that bucket {bucket!r} exists and that the function's role may "
        "s3:GetObject and s3:ListBucket on it"
    )


def _or_none(call: Callable[[], T], bucket: str, key: str, sleep: Sleep) -> T | None:
    """``call()`` retried on transient errors; None when the object does not exist; access
    errors become OutputCheckAccessError naming the object."""
    try:
        return retrying(call, sleep=sleep)
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND_CODES:
            return None
        if error_code(exc) in ACCESS_CODES:
            raise access_error(exc, bucket, key) from exc
        raise


def head(s3: S3Client, uri: str, *, sleep: Sleep = time.sleep) -> ObjectInfo | None:
    """Size and ETag of one object, or None when it does not exist."""
    bucket, key = contracts.split_uri(uri)
    resp = _or_none(lambda: s3.head_object(Bucket=bucket, Key=key), bucket, key, sleep)
    if resp is None:
        return None
    return ObjectInfo(uri, int(resp.get("ContentLength", 0)),
                      contracts.normalize_etag(resp.get("ETag", "")))


def get_bytes(s3: S3Client, uri: str, *, sleep: Sleep = time.sleep) -> bytes | None:
    """The object at ``uri``; None when absent."""
    bucket, key = contracts.split_uri(uri)
    return _or_none(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), bucket, key,
                    sleep)


def get_json(s3: S3Client, uri: str, *, sleep: Sleep = time.sleep) -> Any:
    """The parsed JSON document at ``uri``; None when absent; ValueError when not JSON."""
    body = get_bytes(s3, uri, sleep=sleep)
    return None if body is None else json.loads(body)


def put_bytes(s3: S3Client, uri: str, body: bytes, *, sleep: Sleep = time.sleep,
              content_type: str = "application/octet-stream") -> None:
    bucket, key = contracts.split_uri(uri)
    try:
        retrying(lambda: s3.put_object(Bucket=bucket, Key=key, Body=body,
                                       ContentType=content_type), sleep=sleep)
    except ClientError as exc:
        if error_code(exc) in ACCESS_CODES:
            raise access_error(exc, bucket, key) from exc
        raise


def put_json(s3: S3Client, uri: str, doc: Any, *, sleep: Sleep = time.sleep) -> None:
    body = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False).encode()
    put_bytes(s3, uri, body, sleep=sleep, content_type="application/json")


def _common_prefix(keys: list[str]) -> str:
    lo, hi = min(keys), max(keys)
    n = 0
    while n < min(len(lo), len(hi)) and lo[n] == hi[n]:
        n += 1
    return lo[:n]


def _page(s3: S3Client, kwargs: dict[str, Any], sleep: Sleep) -> Any:
    """One ListObjectsV2 page, transient errors retried; an access error names the prefix."""
    try:
        return retrying(lambda: s3.list_objects_v2(**kwargs), sleep=sleep)
    except ClientError as exc:
        if error_code(exc) in ACCESS_CODES:
            raise access_error(exc, kwargs["Bucket"], kwargs["Prefix"]) from exc
        raise


def _list_folder(
    s3: S3Client, bucket: str, keys: list[str], sleep: Sleep, page_size: int
) -> tuple[dict[str, ObjectInfo], list[str]]:
    """Objects found by listing, and the wanted keys the page budget did not reach.

    The listing is bounded: it starts at the keys' common prefix, stops past the last wanted
    key and reads at most a few pages more than the wanted keys need, so a folder holding a
    million unrelated objects costs no more than HEADing what was asked for.
    """
    wanted = set(keys)
    last = max(keys)
    budget = math.ceil(len(keys) / page_size) + 2
    found: dict[str, ObjectInfo] = {}
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": _common_prefix(keys),
                              "MaxKeys": page_size}
    listed_up_to = ""
    for _ in range(budget):
        page = _page(s3, kwargs, sleep)
        for obj in page.get("Contents", []):
            key = obj["Key"]
            listed_up_to = key
            if key in wanted:
                found[key] = ObjectInfo(f"s3://{bucket}/{key}", int(obj.get("Size", 0)),
                                        contracts.normalize_etag(obj.get("ETag", "")))
        if not page.get("IsTruncated") or listed_up_to >= last:
            return found, []
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    return found, sorted(k for k in wanted if k > listed_up_to)


def _groups(uris: list[str], list_min: int) -> dict[tuple[str, str], list[str]]:
    """Keys by (bucket, folder), a folder with fewer than ``list_min`` wanted keys merged
    into its parent, up to the bucket's root: one object per sample folder (``s1/out.bam``,
    ``s2/out.bam``, under a prefix or not) is listed as one folder, not HEADed N times. The
    listing of a merged group is bounded by its keys (see :func:`_list_folder`), so merging
    into the root does not list the whole bucket."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for uri in uris:
        bucket, key = contracts.split_uri(uri)
        groups[(bucket, key.rpartition("/")[0])].append(key)
    for depth in range(max((f.count("/") for _, f in groups), default=0), -1, -1):
        for (bucket, folder), keys in list(groups.items()):
            if folder and folder.count("/") == depth and len(keys) < list_min:
                del groups[(bucket, folder)]
                groups[(bucket, folder.rpartition("/")[0])].extend(keys)
    return groups


def folders(
    s3: S3Client, uris: Iterable[str], *, page_size: int = PAGE_SIZE, sleep: Sleep = time.sleep,
) -> dict[str, list[str]]:
    """The names of the objects directly in each folder (``s3://b/p/`` URIs ending in "/").

    Many folders of one bucket are listed together from their common prefix (a bounded
    listing, as :func:`inspect` does); folders it did not reach are listed one by one.
    """
    wanted = list(dict.fromkeys(uris))
    out: dict[str, list[str]] = {u: [] for u in wanted}
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for uri in wanted:
        bucket, prefix = contracts.split_uri(uri)
        by_bucket[bucket].append(prefix)
    for bucket, prefixes in by_bucket.items():
        remaining = set(prefixes)
        if len(prefixes) > 1:
            keys, rest = _list_range(s3, bucket, prefixes, len(prefixes), sleep, page_size)
            remaining = set(rest)
            _file(keys, [p for p in prefixes if p not in remaining], bucket, out)
        for prefix in sorted(remaining):
            keys, _ = _list_range(s3, bucket, [prefix], None, sleep, page_size)
            _file(keys, [prefix], bucket, out)
    return out


def _file(keys: list[str], prefixes: list[str], bucket: str, out: dict[str, list[str]]) -> None:
    wanted = set(prefixes)
    for key in keys:
        folder, _, name = key.rpartition("/")
        if folder + "/" in wanted:
            out[f"s3://{bucket}/{folder}/"].append(name)


def _list_range(
    s3: S3Client, bucket: str, prefixes: list[str], expected: int | None, sleep: Sleep,
    page_size: int,
) -> tuple[list[str], list[str]]:
    """Keys under the common prefix of ``prefixes`` up to the last of them, and the
    prefixes a budget of pages (for ``expected`` keys; None: no budget) did not reach."""
    last = max(prefixes)
    budget = None if expected is None else math.ceil(expected / page_size) + 2
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": _common_prefix(prefixes),
                              "MaxKeys": page_size}
    keys: list[str] = []
    pages = 0
    while True:
        page = _page(s3, kwargs, sleep)
        pages += 1
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
        done = not page.get("IsTruncated") or (keys and keys[-1] > last
                                               and not keys[-1].startswith(last))
        if done:
            return keys, []
        if budget is not None and pages >= budget:
            reached = keys[-1] if keys else ""
            return keys, [p for p in prefixes if p >= reached or reached.startswith(p)]
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def inspect(
    s3: S3Client, uris: Iterable[str], *, list_min: int = LIST_MIN_KEYS,
    workers: int = HEAD_WORKERS, page_size: int = PAGE_SIZE, sleep: Sleep = time.sleep,
) -> dict[str, ObjectInfo | None]:
    """What exists among ``uris``: each maps to its ObjectInfo, or None when absent."""
    unique = list(dict.fromkeys(uris))
    result: dict[str, ObjectInfo | None] = dict.fromkeys(unique)
    to_head: list[str] = []
    for (bucket, _folder), keys in _groups(unique, list_min).items():
        if len(keys) < list_min:
            to_head.extend(f"s3://{bucket}/{k}" for k in keys)
            continue
        found, rest = _list_folder(s3, bucket, keys, sleep, page_size)
        for uri_info in found.values():
            result[uri_info.uri] = uri_info
        to_head.extend(f"s3://{bucket}/{k}" for k in rest)
    if len(to_head) == 1:
        result[to_head[0]] = head(s3, to_head[0], sleep=sleep)
    elif to_head:
        with ThreadPoolExecutor(max_workers=min(workers, len(to_head))) as pool:
            for uri, info in zip(to_head, pool.map(lambda u: head(s3, u, sleep=sleep), to_head),
                                 strict=True):
                result[uri] = info
    return result
