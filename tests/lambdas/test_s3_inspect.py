"""Inspecting many objects: few requests, retries on throttling, loud permission errors."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from stagekit import PREFIX, finish, job, put, request

from orchestrator_runtime import outputs, s3util

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def count_requests(s3: S3Client) -> Counter[str]:
    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    s3.meta.events.register("before-call.s3.*", hook)
    return calls


def fail_with(s3: S3Client, operation: str, code: str, status: int, times: int) -> list[str]:
    """Make the next ``times`` calls of ``operation`` fail as S3 would; returns a call log."""
    log: list[str] = []

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        log.append(operation)
        if len(log) > times:
            return None
        body = {"Error": {"Code": code, "Message": f"simulated {code}"},
                "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse("https://s3.amazonaws.com", status, HTTPHeaders(), None), body

    s3.meta.events.register(f"before-call.s3.{operation}", hook)  # type: ignore[arg-type]
    return log


def no_sleep(_: float) -> None:
    pass


def test_a_thousand_outputs_under_one_prefix_take_a_handful_of_requests(
    s3: S3Client, bucket: str
) -> None:
    many = {f"part{i:04d}": f"parts/{{sample_id}}/{i:04d}.txt" for i in range(1000)}
    spec = job(inputs={}, outputs=many, command=["split", "{outputs.part0000.parent}"])
    finish(s3, outputs.pre_check(s3, request(spec=spec))["task_uri"])
    calls = count_requests(s3)

    resp = outputs.pre_check(s3, request(spec=spec))

    assert resp["complete"] is True
    assert resp["counts"]["present"] == 1000
    assert sum(calls.values()) <= 5, calls
    assert calls["HeadObject"] == 0


def test_few_objects_are_headed_not_listed(s3: S3Client, bucket: str) -> None:
    uris = [f"s3://{bucket}/a/{i}.txt" for i in range(3)]
    put(s3, uris[0], b"x")
    calls = count_requests(s3)

    seen = s3util.inspect(s3, uris)

    assert [u for u, info in seen.items() if info] == [uris[0]]
    assert calls == Counter({"HeadObject": 3})


def test_listing_stops_at_its_page_budget_and_heads_the_rest(s3: S3Client, bucket: str) -> None:
    wanted = [f"s3://{bucket}/d/k{i:02d}" for i in range(20)]
    for uri in wanted[:10]:
        put(s3, uri, b"x")
    for i in range(30):  # unrelated objects that sort between the wanted ones
        put(s3, f"s3://{bucket}/d/k00-extra{i:02d}", b"y")
    calls = count_requests(s3)

    seen = s3util.inspect(s3, wanted, page_size=5)

    assert [u for u in wanted if seen[u]] == wanted[:10]
    first = seen[wanted[0]]
    assert first is not None and (first.uri, first.size) == (wanted[0], 1)
    assert calls["ListObjectsV2"] == 6  # 20 keys / 5 per page + 2, then HEAD what is left
    assert calls["HeadObject"] > 0


def test_throttling_is_retried_until_the_answer_is_real(s3: S3Client, bucket: str) -> None:
    uri = f"s3://{bucket}/a.txt"
    put(s3, uri, b"abc")
    log = fail_with(s3, "HeadObject", "SlowDown", 503, times=2)
    pauses: list[float] = []

    info = s3util.head(s3, uri, sleep=pauses.append)

    assert info is not None and info.size == 3
    assert len(log) == 3
    assert len(pauses) == 2


def test_persistent_throttling_is_an_error_not_a_missing_object(
    s3: S3Client, bucket: str
) -> None:
    fail_with(s3, "HeadObject", "SlowDown", 503, times=100)

    with pytest.raises(Exception, match="SlowDown"):
        s3util.head(s3, f"s3://{bucket}/a.txt", sleep=no_sleep)


def test_access_denied_names_bucket_and_key(s3: S3Client, bucket: str) -> None:
    put(s3, f"{PREFIX}/raw/S1.fq", b"reads")
    fail_with(s3, "HeadObject", "403", 403, times=100)

    with pytest.raises(s3util.OutputCheckAccessError) as caught:
        outputs.pre_check(s3, request(), sleep=no_sleep)

    assert f"s3://{bucket}/wf/" in str(caught.value)
    assert "s3:GetObject" in str(caught.value)


def test_missing_bucket_while_listing_is_an_access_error(s3: S3Client) -> None:
    uris = [f"s3://no-such-bucket-here/x/{i}" for i in range(20)]

    with pytest.raises(s3util.OutputCheckAccessError, match="no-such-bucket-here"):
        s3util.inspect(s3, uris, sleep=no_sleep)


@pytest.mark.parametrize("prefix", ["", "wf/"])
def test_one_object_per_sample_folder_is_listed_under_a_prefix_or_at_the_root(
        s3: S3Client, bucket: str, prefix: str) -> None:
    """s1/out.bam, s2/out.bam, ...: LIST pages, not a HEAD per object, also when the folders
    sit at the bucket's root (a workflow bucket without a prefix)."""
    keys = [f"{prefix}S{i:04d}/out.bam" for i in range(1000)]
    for key in keys[:-1]:  # one missing
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=bucket, Key="unrelated/elsewhere.txt", Body=b"y")
    calls = count_requests(s3)

    found = s3util.inspect(s3, [f"s3://{bucket}/{k}" for k in keys])

    assert sum(v is not None for v in found.values()) == 999
    assert found[f"s3://{bucket}/{keys[-1]}"] is None
    assert calls["HeadObject"] == 0
    assert calls["ListObjectsV2"] <= 3, calls
