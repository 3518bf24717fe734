"""The DynamoDB table the emulator-gap tests write and read: table "t", partition "run",
``rows`` items ``job#0000``... (with ``status`` when given)."""

from __future__ import annotations

from typing import Any


def make_table(ddb: Any, rows: int, status: str | None = None) -> None:
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    for i in range(rows):
        item = {"pk": {"S": "run"}, "sk": {"S": f"job#{i:04d}"}}
        if status is not None:
            item["status"] = {"S": status}
        ddb.put_item(TableName="t", Item=item)
