"""Shared fixtures: moto-backed AWS with fake credentials, and real event payloads."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

# Each `orchestrator run --local` of a test runs in its own process and starts no warm engine in
# the background: set for the whole session (module-scoped fixtures and the subprocesses of
# every test inherit it); tests/e2e/test_warm_engine.py turns it on where it is tested.
os.environ["ORCHESTRATOR_WARM_ENGINE"] = "0"

EVENTS = Path(__file__).parent / "fixtures" / "events"
REGION = "us-east-1"
BUCKET = "orchestrator-test"
TABLE = "orchestrator-jobs"


def read_event(name: str) -> dict[str, Any]:
    """A JSON payload from tests/fixtures/events, by file name with or without ``.json``."""
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """``load_event("batch_job_running")``: a fresh copy of a recorded event payload."""
    return read_event


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account, whatever the developer's environment holds."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def boto_session() -> boto3.Session:
    """One session for all tests: it caches service models, so clients come cheap."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name=REGION)


@pytest.fixture
def s3(aws: None, boto_session: boto3.Session) -> S3Client:
    return boto_session.client("s3")


@pytest.fixture
def bucket(s3: S3Client) -> str:
    """An empty bucket; returns its name."""
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def table(aws: None, boto_session: boto3.Session) -> Table:
    """The job-state table, created the way the local engine creates it."""
    from orchestrator_runtime import jobstate

    created: Table = jobstate.create_table(boto_session.resource("dynamodb"), TABLE)
    return created


@pytest.fixture
def sfn(aws: None, boto_session: boto3.Session) -> SFNClient:
    return boto_session.client("stepfunctions")


@pytest.fixture
def sqs(aws: None, boto_session: boto3.Session) -> SQSClient:
    return boto_session.client("sqs")


@dataclass
class FakeLambdaContext:
    function_name: str = "orchestrator-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orchestrator-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/orchestrator-test"
    log_stream_name: str = "2026/01/01/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context(monkeypatch: pytest.MonkeyPatch) -> FakeLambdaContext:
    """A Lambda context, with the environment powertools reads on AWS."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orchestrator-test")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Orchestrator")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orchestrator-test")
    return FakeLambdaContext()


@pytest.fixture
def triggered(sfn: SFNClient, s3: S3Client, bucket: str,
              monkeypatch: pytest.MonkeyPatch) -> str:
    """A state machine and the upload triggers (a key pattern and a sheet prefix) that start it."""
    machine = sfn.create_state_machine(
        name="rnaseq", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    monkeypatch.setenv("TRIGGERS", json.dumps([
        {"workflow": "rnaseq", "state_machine_arn": machine, "kind": "key",
         "bucket": f"s3://{bucket}/rnaseq", "pattern": "raw/{sample_id}.fastq.gz",
         "sample_column": "sample_id"},
        {"workflow": "rnaseq", "state_machine_arn": machine, "kind": "sheet",
         "bucket": f"s3://{bucket}/rnaseq", "prefix": "sheets/", "suffix": ".csv",
         "sample_column": "sample_id"}]))
    return machine


@pytest.fixture
def warm_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Warm engines on, with their sockets in a folder of this test (short: a socket's path
    has at most 107 bytes, and pytest's folders under xdist are longer)."""
    monkeypatch.setenv("ORCHESTRATOR_WARM_ENGINE", "1")
    folder = Path(tempfile.mkdtemp(prefix="orch-rt-", dir="/tmp"))
    monkeypatch.setenv("ORCHESTRATOR_RUNTIME_DIR", str(folder / "rt"))
    yield folder / "rt"
    shutil.rmtree(folder, ignore_errors=True)
