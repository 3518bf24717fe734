"""S3 requests the output check makes, against one HEAD per expected object.

check_outputs groups expected keys by bucket and common prefix and lists when many share
one (size and ETag come with the listing). Counted on moto, so the numbers are requests,
not latency: on S3 each request is ~10-30 ms and costs money.

The second table (:func:`stage_checks`) counts the requests of each stage check of a
finished stage over N samples: a per-sample stage's ``pre`` for one sample, its ``plan`` over
all N (array strategy), and the ``pre`` of a gathering once-stage whose input is every
sample's output, for outputs under one prefix (``out/S1.bam``) and in per-sample folders
(``S1/out.bam``), under the workflow's prefix and at the bucket's root. Counted on the
in-memory S3 of benchmarks/plan_requests.py (``--moto`` counts on moto too).

Run: python -m benchmarks.check_requests [--sizes 100,1000,10000] [--moto]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
from moto import mock_aws

from benchmarks import plan_requests
from orchestrator_runtime import actions, arrays, contracts, s3util

# Where each sample's output goes, under the workflow's folder.
OUTPUTS = {"one prefix": "out/{sample_id}.bam", "per-sample folders": "{sample_id}/out.bam"}
# The workflow's folder: under a prefix of its bucket, or the bucket itself.
FOLDERS = {"under wf/": plan_requests.PREFIX, "bucket root": f"s3://{plan_requests.BUCKET}"}
CHECKS = ("pre (1 sample)", "plan (N samples)", "gathering pre (N inputs)")


@contextlib.contextmanager
def _s3(moto: bool) -> Iterator[tuple[Any, Any, Counter[str]]]:
    """(client, store(uri, body) -> ETag, counter of the client's calls by operation)."""
    if not moto:
        stub = plan_requests.StubS3()
        yield stub, lambda uri, body: stub.put(*contracts.split_uri(uri), body), stub.calls
        return
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    with mock_aws():
        client: Any = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=plan_requests.BUCKET)
        calls: Counter[str] = Counter()
        client.meta.events.register("before-call.s3.*",
                                    lambda model, **_: calls.update([model.name]))
        yield client, plan_requests.put, calls


def stage_checks(n: int, layout: str, folder: str, *, moto: bool = False
                 ) -> dict[str, Counter[str]]:
    """S3 requests by operation of each check in :data:`CHECKS` on a finished stage of
    ``n`` samples whose outputs follow ``OUTPUTS[layout]`` in ``FOLDERS[folder]``."""
    bucket = FOLDERS[folder]
    rows = [{"sample_id": f"S{i:06d}"} for i in range(n)]
    per_sample = plan_requests.base_request(OUTPUTS[layout], bucket=bucket)
    gather = plan_requests.base_request("merged/all.tsv", "merge", {"reads": OUTPUTS[layout]},
                                        bucket=bucket)
    out: dict[str, Counter[str]] = {}
    with _s3(moto) as (s3, store, calls):
        for row in rows:
            plan_requests.finish({**per_sample, "sample": row}, store, f"{row}".encode())
        plan_requests.finish({**gather, "samples": rows}, store, b"stats")
        sheet = arrays.sheet(s3, {"action": "sheet", **per_sample,  # type: ignore[typeddict-item]
                                  "samples": rows})["sheet"]
        requests: dict[str, Any] = {
            CHECKS[0]: lambda: actions.handle(
                {"action": "pre", **per_sample, "sample": rows[0]}, s3=s3),  # type: ignore[typeddict-item]
            CHECKS[1]: lambda: arrays.plan(
                s3, {"action": "plan", **per_sample, "sheet": sheet}),  # type: ignore[typeddict-item]
            CHECKS[2]: lambda: actions.handle(
                {"action": "pre", **gather, "sheet": sheet}, s3=s3)}  # type: ignore[typeddict-item]
        for name, check in requests.items():
            calls.clear()
            answer = check()
            done = answer["complete"] if name != CHECKS[1] else answer["complete"] == n
            if not done:
                raise SystemExit(f"{name} of a finished stage found work: {answer}")
            out[name] = Counter(calls)
    return out


def objects_table() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    print(f"{'objects':>8} {'layout':<18} {'requests':>9} {'HEAD each':>10} {'ratio':>7} "
          f"{'seconds':>8}")
    for n in (10, 100, 1000, 5000):
        for layout in ("one prefix", "per-sample dirs"):
            with mock_aws():
                s3: Any = boto3.client("s3")
                s3.create_bucket(Bucket="bench")
                uris = []
                for i in range(n):
                    key = f"out/{i:05d}.txt" if layout == "one prefix" else f"s{i:05d}/out.txt"
                    s3.put_object(Bucket="bench", Key=key, Body=b"x")
                    uris.append(f"s3://bench/{key}")
                calls = [0]

                def count(calls: list[int] = calls, **_: Any) -> None:
                    calls[0] += 1

                s3.meta.events.register("before-call.s3.*", count)
                start = time.perf_counter()
                found = s3util.inspect(s3, uris)
                took = time.perf_counter() - start
                assert all(found[u] is not None for u in uris)
                print(f"{n:>8} {layout:<18} {calls[0]:>9} {n:>10} {n / calls[0]:>6.0f}x "
                      f"{took:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--moto", action="store_true", help="count on moto as well")
    args = parser.parse_args()
    objects_table()
    print()
    print(f"{'samples':>8} {'outputs':<19} {'folder':<12} {'S3':<5} {'check':<24} "
          f"{'requests':>8}  by kind")
    for n in (int(x) for x in args.sizes.split(",")):
        for layout in OUTPUTS:
            for folder in FOLDERS:
                for where in ("stub", "moto") if args.moto else ("stub",):
                    counts = stage_checks(n, layout, folder, moto=where == "moto")
                    for check, calls in counts.items():
                        kinds = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
                        print(f"{n:>8,} {layout:<19} {folder:<12} {where:<5} {check:<24} "
                              f"{sum(calls.values()):>8,}  {kinds}", flush=True)


if __name__ == "__main__":
    main()
