"""A job process starts fast: the runner imports the standard library and boto3, nothing of the
emulator, powertools or the orchestrator package (each Batch job pays for its imports)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from orchestrator_runtime import contracts

FORBIDDEN = ("moto", "aws_lambda_powertools", "orchestrator", "pydantic", "werkzeug", "flask")
BUCKET = "imports-test"


def imported(importtime_log: str) -> set[str]:
    """Top-level packages in a ``-X importtime`` log."""
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", importtime_log, re.M)
    return {name.split(".")[0] for name in names}


def test_importing_the_runner_loads_no_sdk_at_all() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import orchestrator_runtime.runner"],
                          capture_output=True, text=True, check=True, cwd="/")
    loaded = imported(proc.stderr)
    assert "orchestrator_runtime" in loaded  # the log is read correctly
    # botocore's exception classes are imported up front: the runner catches storage errors
    # by type (a bug is a bug), and they cost a few milliseconds; boto3 waits for first use.
    assert not loaded & {*FORBIDDEN, "boto3"}


def test_a_job_process_imports_boto3_and_nothing_heavier(tmp_path: Path) -> None:
    script = shutil.which("orchestrator-runner", path=str(Path(sys.executable).parent))
    assert script, "orchestrator-runner is not installed in this environment"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="in/x.txt", Body=b"x\n")
        task: dict[str, Any] = {
            "version": contracts.CONTRACT_VERSION, "workflow": "wf", "stage": "st",
            "sample": "S1", "execution": "exec-1", "image": "img",
            "command": ["cp", "{inputs.x}", "{outputs.y}"], "environment": {}, "shell": False,
            "stdout": None, "values": {}, "inputs": {"x": [f"s3://{BUCKET}/in/x.txt"]},
            "outputs": {"y": f"s3://{BUCKET}/out/y.txt"}, "allow_empty": False,
            "marker": f"s3://{BUCKET}/_orchestrator/markers/wf/st/S1/",
        }
        task["fingerprint_basis"] = contracts.fingerprint_basis(
            task["image"], task["command"], task["environment"], task["values"],
            task["inputs"], task["outputs"])
        s3.put_object(Bucket=BUCKET, Key="tasks/t.json", Body=json.dumps(task).encode())
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "ORCH_SCRATCH": str(tmp_path), contracts.TASK_ENV: f"s3://{BUCKET}/tasks/t.json",
               "PYTHONPROFILEIMPORTTIME": "1"}
        proc = subprocess.run([script], env=env, capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert s3.get_object(Bucket=BUCKET, Key="out/y.txt")["Body"].read() == b"x\n"
    finally:
        server.stop()
    loaded = imported(proc.stderr)
    assert {"boto3", "orchestrator_runtime"} <= loaded
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
