"""The engine answers its own process's requests without HTTP (orchestrator.local.inprocess),
and they get the answers HTTP gives: the same objects, keys, items and errors."""

from __future__ import annotations

import string
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.local.adapter import CREDENTIALS, LocalAws

BUCKET = "inprocess-tests"
KEY_CHARS = string.ascii_letters + string.digits + "!-_.*'()/ &$@=;:+,?é€漢"


def named(aws: LocalAws, host: str, service: str) -> Any:
    """A client of the emulator's server, reached as ``host``."""
    url = aws.endpoint_url.replace("127.0.0.1", host)
    assert url != aws.endpoint_url
    return boto3.client(service, endpoint_url=url, region_name=aws.region,  # type: ignore[call-overload]
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def over_http(aws: LocalAws, service: str) -> Any:
    """A client of the same server that the hook does not answer: its session goes without."""
    session = boto3.Session()
    hook: Any = aws._inprocess
    session._session.unregister("before-send", hook)
    return session.client(service, endpoint_url=aws.endpoint_url,  # type: ignore[call-overload]
                          region_name=aws.region,
                          aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def test_the_engines_own_requests_are_answered_in_process(local: LocalAws) -> None:
    hook = local._inprocess
    assert hook is not None
    before = hook.count
    local.client("s3").create_bucket(Bucket=BUCKET)
    local.client("sqs").list_queues()
    assert hook.count == before + 2
    named(local, "localhost", "batch").describe_jobs(jobs=[])  # the interpreter's name
    assert hook.count == before + 3
    over_http(local, "s3").list_buckets()  # a client without the hook: over HTTP
    assert hook.count == before + 3


@pytest.fixture
def clients(local: LocalAws) -> tuple[Any, Any]:
    local.client("s3").create_bucket(Bucket=BUCKET)
    return local.client("s3"), over_http(local, "s3")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(KEY_CHARS, min_size=1, max_size=60).filter(
           lambda k: not k.startswith("/") and "//" not in k and k not in (".", "..")),
       body=st.binary(max_size=300))
def test_objects_written_in_process_read_the_same_over_http_and_back(
        clients: tuple[Any, Any], key: str, body: bytes) -> None:
    inproc, http = clients
    inproc.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert http.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    http.put_object(Bucket=BUCKET, Key=key + ".2", Body=body[::-1])
    assert inproc.get_object(Bucket=BUCKET, Key=key + ".2")["Body"].read() == body[::-1]
    listed = {o["Key"] for o in inproc.list_objects_v2(Bucket=BUCKET, Prefix=key)["Contents"]}
    assert {key, key + ".2"} <= listed
    assert inproc.head_object(Bucket=BUCKET, Key=key)["ETag"] == \
        http.head_object(Bucket=BUCKET, Key=key)["ETag"]


def test_errors_and_dynamodb_items_are_the_same_in_process(local: LocalAws) -> None:
    s3, dynamo = local.client("s3"), local.client("dynamodb")
    s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=BUCKET, Key="nope")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    dynamo.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    item = {"k": {"S": "é/1"}, "n": {"N": "3"}, "b": {"B": b"\x00\xff"},
            "l": {"L": [{"S": "x"}, {"M": {"y": {"BOOL": True}}}]}}
    dynamo.put_item(TableName="t", Item=item)
    got = over_http(local, "dynamodb").get_item(TableName="t", Key={"k": {"S": "é/1"}})
    assert got["Item"] == item
    with pytest.raises(ClientError) as failed:
        dynamo.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(k)")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
