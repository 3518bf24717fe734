"""The job-state table's writes cost what they change, not what the table holds (adapter
piece: orchestrator/local/dynamofix.py), and a failed transaction still undoes every write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoResult
from tablecase import make_table

from orchestrator.local.adapter import LocalAws

ROWS = 200


@pytest.fixture
def item_copies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many table items moto deep-copies (one count per call)."""
    original = Item.__deepcopy__
    copies: list[int] = []

    def counting(self: Item, memo: dict[int, Any]) -> Item:
        copies.append(1)
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    yield copies


def _table(ddb: Any) -> None:
    make_table(ddb, ROWS, status="RUNNING")


def _update(sk: str, status: str) -> dict[str, Any]:
    return {"Update": {"TableName": "t", "Key": {"pk": {"S": "run"}, "sk": {"S": sk}},
                       "UpdateExpression": "SET #s = :s",
                       "ExpressionAttributeNames": {"#s": "status"},
                       "ExpressionAttributeValues": {":s": {"S": status}}}}


def test_gap_a_transaction_deep_copies_the_whole_table(
        plain_moto: None, item_copies: list[int]) -> None:
    ddb: Any = boto3.client("dynamodb")
    _table(ddb)
    item_copies.clear()
    ddb.transact_write_items(TransactItems=[_update("job#0001", "SUCCEEDED")])
    assert len(item_copies) >= ROWS  # every row, for one row's change


def test_adapter_a_transaction_copies_only_the_items_it_updates(
        local: LocalAws, item_copies: list[int]) -> None:
    ddb = local.client("dynamodb")
    _table(ddb)
    item_copies.clear()
    ddb.transact_write_items(TransactItems=[
        _update("job#0001", "SUCCEEDED"),
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "run"}, "sk": {"S": "job#new"}}}}])
    assert len(item_copies) <= 5  # the updated row, and moto's own copies of it
    got = ddb.get_item(TableName="t", Key={"pk": {"S": "run"}, "sk": {"S": "job#0001"}})
    assert got["Item"]["status"] == {"S": "SUCCEEDED"}


@pytest.fixture
def update_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every update expression moto tokenizes (the start of each parse)."""
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    original = ExpressionTokenizer.make_list
    parsed: list[str] = []

    def make_list(expression: str) -> Any:
        parsed.append(expression)
        return original(expression)

    monkeypatch.setattr(ExpressionTokenizer, "make_list", staticmethod(make_list))
    return parsed


def _counter(sk: str, status: str, n: int) -> dict[str, Any]:
    update = _update(sk, status)["Update"]
    update["UpdateExpression"] = "SET #s = :s ADD #n :n"
    update["ExpressionAttributeNames"]["#n"] = "n"
    update["ExpressionAttributeValues"][":n"] = {"N": str(n)}
    return {"Update": update}


def test_gap_each_update_parses_its_expression_again(
        plain_moto: None, update_parses: list[str]) -> None:
    """Adapter piece: dynamofix.cached_update_parser."""
    ddb: Any = boto3.client("dynamodb")
    _table(ddb)
    for n in (1, 2):
        ddb.transact_write_items(TransactItems=[_counter("job#0001", "RUNNING", n)])
    assert update_parses.count("SET #s = :s ADD #n :n") == 4  # twice per transaction


def test_adapter_parses_each_update_expression_once(local: LocalAws,
                                                    update_parses: list[str]) -> None:
    ddb = local.client("dynamodb")
    _table(ddb)
    for status, n in (("RUNNING", 1), ("SUCCEEDED", 2), ("FAILED", 4)):
        ddb.transact_write_items(TransactItems=[_counter("job#0001", status, n)])
    ddb.update_item(**_counter("job#0002", "SUCCEEDED", 8)["Update"])
    assert update_parses.count("SET #s = :s ADD #n :n") == 1
    rows = {sk: ddb.get_item(TableName="t", Key={"pk": {"S": "run"}, "sk": {"S": sk}})["Item"]
            for sk in ("job#0001", "job#0002")}
    # each update applied its own values to the kept tree's copy
    assert rows["job#0001"]["status"] == {"S": "FAILED"} and rows["job#0001"]["n"] == {"N": "7"}
    assert rows["job#0002"]["status"] == {"S": "SUCCEEDED"} and rows["job#0002"]["n"] == {"N": "8"}
    with pytest.raises(ddb.exceptions.ClientError, match="Invalid UpdateExpression"):
        ddb.update_item(TableName="t", Key={"pk": {"S": "run"}, "sk": {"S": "job#0001"}},
                        UpdateExpression="SET = :s", ExpressionAttributeValues={":s": {"S": "x"}})


def test_adapter_a_failed_transaction_undoes_every_write(local: LocalAws) -> None:
    ddb = local.client("dynamodb")
    _table(ddb)
    key = {"pk": {"S": "run"}}
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            _update("job#0001", "SUCCEEDED"),
            {"Put": {"TableName": "t", "Item": key | {"sk": {"S": "job#new"}}}},
            {"Delete": {"TableName": "t", "Key": key | {"sk": {"S": "job#0002"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": key | {"sk": {"S": "job#0003"}},
                                "ConditionExpression": "attribute_not_exists(sk)"}}])
    rows = {i["sk"]["S"]: i["status"]["S"]
            for i in ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": "run"}})["Items"]}
    assert len(rows) == ROWS and "job#new" not in rows
    assert rows["job#0001"] == "RUNNING" and rows["job#0002"] == "RUNNING"
    # and the table still takes writes after the rollback
    ddb.transact_write_items(TransactItems=[_update("job#0001", "FAILED")])
    got = ddb.get_item(TableName="t", Key=key | {"sk": {"S": "job#0001"}})
    assert got["Item"]["status"] == {"S": "FAILED"}


def test_adapter_lists_the_emulator_services_once(
        local: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's server listed its package folder (about 150 entries) on every request."""
    import os

    import moto

    listed: list[str] = []
    real = os.listdir

    def listdir(path: Any) -> list[str]:
        if str(path) == os.path.dirname(str(moto.__file__)):
            listed.append(str(path))
        return real(path)

    s3 = local.client("s3")
    s3.list_buckets()  # the first request lists it
    monkeypatch.setattr(os, "listdir", listdir)
    for i in range(5):
        s3.create_bucket(Bucket=f"bucket-{i}")
        s3.list_buckets()
    assert listed == []


# --- responses written as JSON, not walked through moto's serialiser -------------------------

_scalar = st.one_of(
    st.text(max_size=8).map(lambda s: {"S": s}),
    st.integers(-10**6, 10**6).map(lambda n: {"N": str(n)}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.binary(min_size=1, max_size=6).map(lambda b: {"B": b}),
    st.sets(st.text(min_size=1, max_size=4), min_size=1, max_size=3).map(
        lambda s: {"SS": sorted(s)}),
)
_value = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda v: {"L": v}),
    st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3).map(
        lambda v: {"M": v})), max_leaves=8)
_attrs = st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k not in ("pk", "sk")),
                         _value, max_size=5)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attrs=_attrs)
def test_adapter_reads_answer_as_moto_serialiser_does(
        local: LocalAws, monkeypatch: pytest.MonkeyPatch, attrs: dict[str, Any]) -> None:
    ddb = local.client("dynamodb")
    if "t" not in ddb.list_tables()["TableNames"]:
        _table(ddb)
    key = {"pk": {"S": "run"}, "sk": {"S": "job#0000"}}
    ddb.put_item(TableName="t", Item=key | attrs)

    def reads() -> list[Any]:
        return [
            ddb.get_item(TableName="t", Key=key).get("Item"),
            ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "run"}}, Limit=3)["Items"],
        ]

    fast = reads()
    with monkeypatch.context() as m:
        fast_path: Any = DynamoResult.execute_result
        m.setattr(DynamoResult, "execute_result", fast_path.__wrapped__)
        assert reads() == fast
    assert fast[0] == key | attrs


@pytest.fixture
def maps_walked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many maps moto's JSON serialiser walks (each item is at least one)."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_map
    walked: list[int] = []

    def counting(self: Any, *args: Any) -> Any:
        walked.append(1)
        return original(self, *args)

    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_map", counting)
    return walked


def _query_all(ddb: Any) -> list[Any]:
    items: list[Any] = ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                                 ExpressionAttributeValues={":p": {"S": "run"}})["Items"]
    return items


def test_gap_reading_a_table_walks_every_item_through_the_serialiser(
        plain_moto: None, maps_walked: list[int]) -> None:
    ddb = boto3.client("dynamodb")
    _table(ddb)
    maps_walked.clear()
    assert len(_query_all(ddb)) == ROWS
    assert len(maps_walked) >= ROWS


def test_adapter_writes_a_read_as_json(local: LocalAws, maps_walked: list[int]) -> None:
    ddb = local.client("dynamodb")
    _table(ddb)
    maps_walked.clear()
    assert len(_query_all(ddb)) == ROWS
    assert maps_walked == []
