"""moto keeps every model object it ever made; the engine does not (adapter piece:
orchestrator/local/modeltrack.py). Measured before the fix: 1.37 GB at 1,000 samples."""

from __future__ import annotations

from typing import Any

import boto3
from moto.dynamodb.models.dynamo_type import Item
from moto.s3.models import FakeKey
from tablecase import make_table

from orchestrator.local.adapter import LocalAws

ROWS = 50
READS = 20


def tracked(model: type) -> list[Any]:
    """The instances moto keeps of ``model`` (a list its metaclass adds)."""
    kept: list[Any] = getattr(model, "instances_tracked")  # noqa: B009  # not typed by moto
    return kept


def _work(ddb: Any, s3: Any) -> None:
    """A small table read over and over, as the engine's progress reads it, and objects."""
    make_table(ddb, ROWS)
    for _ in range(READS):
        rows = ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": "run"}})["Items"]
        assert len(rows) == ROWS
    s3.create_bucket(Bucket="models-tests")
    for i in range(READS):
        s3.put_object(Bucket="models-tests", Key="same-key", Body=str(i).encode())


def test_gap_moto_keeps_every_item_a_query_ever_copied(plain_moto: None) -> None:
    tracked(Item).clear()
    tracked(FakeKey).clear()
    _work(boto3.client("dynamodb"), boto3.client("s3"))
    assert len(tracked(Item)) >= ROWS * READS  # a table of 50 rows
    assert len(tracked(FakeKey)) >= READS  # one key, overwritten


def test_adapter_keeps_only_what_the_emulator_holds(local: LocalAws) -> None:
    _work(local.client("dynamodb"), local.client("s3"))
    assert tracked(Item) == []
    assert tracked(FakeKey) == []
    ddb = local.client("dynamodb")  # and the models still work as before
    ddb.update_item(TableName="t", Key={"pk": {"S": "run"}, "sk": {"S": "job#0001"}},
                    UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "3"}})
    got = ddb.get_item(TableName="t", Key={"pk": {"S": "run"}, "sk": {"S": "job#0001"}})
    assert got["Item"]["n"] == {"N": "3"}
    s3 = local.client("s3")
    assert s3.get_object(Bucket="models-tests", Key="same-key")["Body"].read() == b"19"
