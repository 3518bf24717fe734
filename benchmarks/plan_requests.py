"""S3 requests of one array-strategy plan, against checking each sample on its own.

A plan decides for every sample of a stage at once whether it must run (outputs missing or
stale): it reads the run's sheet, lists the inputs, outputs and marker folders (1,000 keys per
LIST page) and writes the manifest. The per-sample check (the inline strategy's "pre") costs
a HEAD per input and output and a LIST of the sample's marker folder. Objects are stored in
moto's S3; the plan runs through boto3 exactly as the check function does; no job runs. The
goal (issue 11): at most 3 + 3 x ceil(N/1000) requests for one input and one output per sample.

moto's LIST reads every key of the bucket for each page (a 10,000-sample plan takes minutes
there), so sizes above ``--moto-max`` are counted on a small in-memory S3 that answers the same
five calls the plan makes (ListObjectsV2 with Prefix/MaxKeys/ContinuationToken, Get/Put/Head);
at the sizes both run, the counts are printed side by side and must agree.

Run: python benchmarks/plan_requests.py [--sizes 1000,10000,100000] [--moto-max 10000]
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import io
import math
import os
import time
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from orchestrator_runtime import arrays, contracts
from orchestrator_runtime.resolve import resolve

BUCKET = "bench"
PREFIX = f"s3://{BUCKET}/wf"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:wf:run-1"
LAYOUTS = {"one prefix": "qc/{sample_id}.tsv", "per-sample dirs": "qc/{sample_id}/stats.tsv"}


def job(output: str, inputs: dict[str, str] | None = None, bucket: str = PREFIX
        ) -> dict[str, Any]:
    return {"image": "img", "command": ["qc", "{inputs.reads}", "{outputs.stats}"],
            "environment": {}, "inputs": inputs or {"reads": "raw/{sample_id}.fq"},
            "outputs": {"stats": output}, "bucket": bucket, "allow_empty": False,
            "shell": False, "stdout": None}


def put(uri: str, body: bytes) -> str:
    bucket, key = contracts.split_uri(uri)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    return contracts.normalize_etag(backend.put_object(bucket, key, body).etag)


class StubS3:
    """Just enough of S3 for a plan, with every call counted (keys kept sorted)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.keys: list[tuple[str, str]] = []
        self.calls: Counter[str] = Counter()

    def put(self, bucket: str, key: str, body: bytes) -> str:
        if (bucket, key) not in self.objects:
            bisect.insort(self.keys, (bucket, key))
        self.objects[(bucket, key)] = body
        return hashlib.md5(body, usedforsecurity=False).hexdigest()

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.calls["PutObject"] += 1
        return {"ETag": f'"{self.put(Bucket, Key, Body)}"'}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.calls["GetObject"] += 1
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls["HeadObject"] += 1
        body = self.objects[(Bucket, Key)]
        return {"ContentLength": len(body),
                "ETag": f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'}

    def list_objects_v2(self, Bucket: str, Prefix: str = "", MaxKeys: int = 1000,
                        ContinuationToken: str = "", **_: Any) -> dict[str, Any]:
        self.calls["ListObjectsV2"] += 1
        start = bisect.bisect_right(self.keys, (Bucket, ContinuationToken or Prefix))
        if not ContinuationToken:
            start = bisect.bisect_left(self.keys, (Bucket, Prefix))
        page: list[dict[str, Any]] = []
        i = start
        while i < len(self.keys) and len(page) < MaxKeys:
            b, k = self.keys[i]
            if b != Bucket or not k.startswith(Prefix):
                break
            body = self.objects[(b, k)]
            page.append({"Key": k, "Size": len(body),
                         "ETag": f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'})
            i += 1
        more = (i < len(self.keys) and self.keys[i][0] == Bucket
                and self.keys[i][1].startswith(Prefix))
        out: dict[str, Any] = {"Contents": page, "IsTruncated": more}
        if more:
            out["NextContinuationToken"] = page[-1]["Key"]
        return out


def measure_stub(n: int, layout: str) -> tuple[Counter[str], float, int]:
    s3 = StubS3()
    rows, base = _finished(n, layout, lambda uri, body: s3.put(*contracts.split_uri(uri), body))
    sheet = arrays.sheet(s3, {"action": "sheet", **base,  # type: ignore[arg-type, typeddict-item]
                              "samples": rows})["sheet"]
    s3.calls.clear()
    started = time.perf_counter()
    plan = arrays.plan(s3, {"action": "plan", **base, "sheet": sheet})  # type: ignore[arg-type, typeddict-item]
    seconds = time.perf_counter() - started
    assert plan["complete"] == n, plan
    return s3.calls, seconds, plan["count"]


def finish(request: dict[str, Any], store: Any, body: bytes) -> None:
    """Store the inputs (``body``), outputs and marker of the stage ``request`` names (a
    per-sample stage with its ``sample``, or a once-stage with its ``samples``), as a finished
    run leaves them; ``store(uri, body)`` puts one object and answers its ETag."""
    stage = resolve({"action": "pre", **request})  # type: ignore[typeddict-item]
    etags = {k: [store(u, body) for u in uris] for k, uris in stage.inputs.items()}
    made = {k: store(u, b"stats") for k, u in stage.outputs.items()}
    store(stage.marker_folder + contracts.marker_name(
        contracts.fingerprint(stage.fingerprint_basis(), etags),
        contracts.outputs_digest(made)), b"{}")


def base_request(output: str, stage: str = "qc", inputs: dict[str, str] | None = None,
                 bucket: str = PREFIX) -> dict[str, Any]:
    """The check function's request for ``stage`` (without action, sample or sheet)."""
    return {"workflow": "wf", "stage": stage, "execution": EXECUTION,
            "sample_column": "sample_id", "params": {}, "job": job(output, inputs, bucket)}


def _finished(n: int, layout: str, store: Any) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The rows and stage of a finished stage: inputs, outputs and markers stored."""
    rows = [{"sample_id": f"S{i:06d}"} for i in range(n)]
    base = base_request(LAYOUTS[layout])
    for row in rows:
        finish({**base, "sample": row}, store, f"reads of {row}".encode())
    return rows, base


def measure(n: int, layout: str) -> tuple[Counter[str], float, int]:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        rows, base = _finished(n, layout, put)
        sheet = arrays.sheet(s3, {"action": "sheet", **base,  # type: ignore[typeddict-item]
                                  "samples": rows})["sheet"]
        calls: Counter[str] = Counter()
        s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
        started = time.perf_counter()
        plan = arrays.plan(s3, {"action": "plan", **base, "sheet": sheet})  # type: ignore[typeddict-item]
        seconds = time.perf_counter() - started
        assert plan["complete"] == n, plan
        return calls, seconds, plan["count"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--moto-max", type=int, default=10000,
                        help="largest size also measured on moto (slow listing)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    print("One plan of a finished stage (every sample complete), one input and one output "
          "per sample.")
    print(f"{'samples':>8} {'layout':<16} {'S3':<5} {'plan requests':>13} {'goal':>6} "
          f"{'per-sample':>11} {'ratio':>7} {'plan s':>7}  requests by kind")
    for n in (int(x) for x in args.sizes.split(",")):
        for layout in LAYOUTS:
            runs = [("stub", measure_stub)] + ([("moto", measure)] if n <= args.moto_max else [])
            for where, how in runs:
                calls, seconds, _ = how(n, layout)
                total = sum(calls.values())
                goal = 3 + 3 * math.ceil(n / 1000)
                per_sample = 3 * n  # HEAD input, HEAD output, LIST marker folder
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
                print(f"{n:>8,} {layout:<16} {where:<5} {total:>13,} {goal:>6,} "
                      f"{per_sample:>11,} {per_sample / total:>6.0f}x {seconds:>7.2f}  {kinds}",
                      flush=True)


if __name__ == "__main__":
    main()
