"""S3 requests the output check makes, against one HEAD per expected object.

check_outputs groups expected keys by bucket and common prefix and lists when many share
one (size and ETag come with the listing). Counted on moto, so the numbers are requests,
not latency: on S3 each request is ~10-30 ms and costs money.

Run: python benchmarks/check_requests.py
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from moto import mock_aws

from orchestrator_runtime import s3util


def main() -> None:
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


if __name__ == "__main__":
    main()
