"""Builders for check requests, and a stand-in for the job runner's side of the contract."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from orchestrator_runtime import contracts

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rnaseq:run-1"
PREFIX = "s3://orchestrator-test/wf"


def job(**changes: Any) -> contracts.JobSpec:
    spec: dict[str, Any] = {
        "image": "python:3.12-slim",
        "command": ["count", "{inputs.reads}", "--name", "{sample_id}", "-o", "{outputs.stats}"],
        "environment": {},
        "inputs": {"reads": "raw/{sample_id}.fq"},
        "outputs": {"stats": "qc/{sample_id}.tsv"},
        "bucket": PREFIX,
        "allow_empty": False,
        "shell": False,
        "stdout": None,
    }
    spec.update(changes)
    return cast(contracts.JobSpec, spec)


def request(action: str = "pre", *, spec: Mapping[str, Any] | None = None,
            sample: dict[str, Any] | None = None, once: bool = False,
            **changes: Any) -> Any:
    """A check request as the state machine sends it: a plain dict that tests may break on
    purpose, so it is typed Any and goes both to the handler and to the typed functions."""
    req: dict[str, Any] = {
        "action": action, "workflow": "rnaseq", "stage": "qc", "execution": EXECUTION,
        "sample": None if once else (sample or {"sample_id": "S1", "condition": "treated"}),
        "sample_column": "sample_id", "samples": [], "params": {},
        "job": spec or job(),
    }
    req.update(changes)
    return req


def put(s3: S3Client, uri: str, body: bytes) -> str:
    bucket, key = contracts.split_uri(uri)
    etag: str = contracts.normalize_etag(s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"])
    return etag


def read_json(s3: S3Client, uri: str) -> Any:
    bucket, key = contracts.split_uri(uri)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def finish(s3: S3Client, task_uri: str, outputs: dict[str, bytes] | None = None) -> None:
    """Do what the runner promises: upload every output, then write the marker last."""
    task: contracts.RunnerTask = read_json(s3, task_uri)
    etags = {}
    for name, uris in task["inputs"].items():
        etags[name] = [contracts.normalize_etag(
            s3.head_object(Bucket=contracts.split_uri(u)[0], Key=contracts.split_uri(u)[1])["ETag"])
            for u in uris]
    recorded: dict[str, dict[str, Any]] = {}
    for name, uri in task["outputs"].items():
        body = (outputs or {}).get(name, f"{name} of {task['sample']}\n".encode())
        recorded[name] = {"uri": uri, "etag": put(s3, uri, body), "size": len(body)}
    fingerprint = contracts.fingerprint(task["fingerprint_basis"], etags)
    marker = {"version": contracts.CONTRACT_VERSION, "fingerprint": fingerprint,
              "stage": task["stage"], "sample": task["sample"], "execution": task["execution"],
              "finished_at": "2026-01-01T00:00:00Z", "outputs": recorded}
    name = contracts.marker_name(fingerprint, contracts.outputs_digest(
        {n: r["etag"] for n, r in recorded.items()}))
    put(s3, task["marker"] + name, json.dumps(marker).encode())
