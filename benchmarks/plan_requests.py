"""S3 requests of one array-strategy plan, against checking each sample on its own.

A plan decides for every sample of a stage at once whether it must run (outputs missing or
stale): it reads the run's sheet, lists the inputs, outputs and marker folders (1,000 keys per
LIST page) and writes the manifest. The per-sample check (the inline strategy's "pre") costs
a HEAD per input and output and a LIST of the sample's marker folder. Objects are stored in
moto's S3; the plan runs through boto3 exactly as the check function does; no job runs. The
goal (issue 11): at most 3 + 3 x ceil(N/1000) requests for one input and one output per sample.

Run: python benchmarks/plan_requests.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
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


def job(output: str) -> dict[str, Any]:
    return {"image": "img", "command": ["qc", "{inputs.reads}", "{outputs.stats}"],
            "environment": {}, "inputs": {"reads": "raw/{sample_id}.fq"},
            "outputs": {"stats": output}, "bucket": PREFIX, "allow_empty": False,
            "shell": False, "stdout": None}


def put(uri: str, body: bytes) -> str:
    bucket, key = contracts.split_uri(uri)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    return contracts.normalize_etag(backend.put_object(bucket, key, body).etag)


def measure(n: int, layout: str) -> tuple[Counter[str], float, int]:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        rows = [{"sample_id": f"S{i:06d}"} for i in range(n)]
        base: dict[str, Any] = {"workflow": "wf", "stage": "qc", "execution": EXECUTION,
                "sample_column": "sample_id", "params": {}, "job": job(LAYOUTS[layout])}
        sheet = arrays.sheet(s3, {"action": "sheet", **base,  # type: ignore[typeddict-item]
                                  "samples": rows})["sheet"]
        for row in rows:  # a finished stage: inputs, outputs, markers
            stage = resolve({**base, "action": "pre", "sample": row})  # type: ignore[typeddict-item]
            etags = {k: [put(u, f"reads of {row}".encode()) for u in uris]
                     for k, uris in stage.inputs.items()}
            made = {k: put(u, b"stats") for k, u in stage.outputs.items()}
            put(stage.marker_folder + contracts.marker_name(
                contracts.fingerprint(stage.fingerprint_basis(), etags),
                contracts.outputs_digest(made)), b"{}")
        calls: Counter[str] = Counter()
        s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
        started = time.perf_counter()
        plan = arrays.plan(s3, {"action": "plan", **base, "sheet": sheet})  # type: ignore[typeddict-item]
        seconds = time.perf_counter() - started
        assert plan["complete"] == n, plan
        return calls, seconds, plan["count"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    print("One plan of a finished stage (every sample complete), one input and one output "
          "per sample.")
    print(f"{'samples':>8} {'layout':<16} {'plan requests':>13} {'goal':>6} "
          f"{'per-sample':>11} {'ratio':>7} {'plan s':>7}  requests by kind")
    for n in (int(x) for x in args.sizes.split(",")):
        for layout in LAYOUTS:
            calls, seconds, _ = measure(n, layout)
            total = sum(calls.values())
            goal = 3 + 3 * math.ceil(n / 1000)
            per_sample = 3 * n  # HEAD input, HEAD output, LIST marker folder
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
            print(f"{n:>8,} {layout:<16} {total:>13,} {goal:>6,} {per_sample:>11,} "
                  f"{per_sample / total:>6.0f}x {seconds:>7.2f}  {kinds}")


if __name__ == "__main__":
    main()
