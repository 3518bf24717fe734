"""Two costs of moto that grow with the size of the emulator's state, bounded.

* ``TransactWriteItems`` snapshots every table it touches with ``copy.deepcopy`` so it can undo
  a failed transaction: its cost grows with the table. The job-state table has a row per job,
  and every Batch state change is one transaction, so a run of N jobs spent O(N²) deep copies
  (a quarter of the engine's CPU at 100 samples by 2 stages). :func:`transact_write_items`
  snapshots only the items the transaction changes in place (its ``Update`` keys); ``Put`` and
  ``Delete`` replace or remove items, so the snapshot can share every other item.
* moto serialises every DynamoDB response through a generic, shape-walking serialiser: about
  a quarter of the engine's CPU once transactions were cheap, mostly on the engine's own reads
  of the job-state table. A response is already DynamoDB's wire JSON (``DynamoResult`` holds
  plain dicts of type-tagged values), so :func:`fast_result` writes it with ``json.dumps`` and
  keeps the serialiser for anything that is not plain JSON (bytes, dates) and for errors.
* moto parses an ``UpdateExpression`` from its text for every update, twice in a transaction
  (once to check the names and values it uses, once to apply it): about 2 ms each for the
  job-state table's updates, a fifth of a transaction. :func:`cached_update_parser` keeps
  each text's tree; moto's validator works on a deep copy of it, so the kept tree is never
  changed.
* moto's server lists its own package folder on every request to tell a service's host name
  from a bucket's (``list_of_moto_modules``); the folder does not change while it runs.

Every DynamoDB request runs under the adapter's lock (see adapter.DYNAMODB_LOCK), so nothing
else reads a table while a transaction swaps the snapshot in.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Final

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionContext
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

_UPDATES: Final = threading.local()  # table name -> keys the running transaction updates


def snapshot(table: Table, updated: list[dict[str, Any]]) -> Table:
    """A copy of ``table`` that a rollback can put back: its own item index, sharing every
    item except those the transaction updates in place, which are deep-copied."""
    snap = copy.copy(table)
    if table.range_key_attr is not None:
        snap.items = defaultdict(dict, {h: dict(r) for h, r in table.items.items()})
    else:
        snap.items = defaultdict(dict, table.items)
    for key in updated:
        try:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = None if range_attr is None else DynamoType(key[range_attr])
        except (KeyError, TypeError, ValueError):
            continue  # moto rejects this update before it changes anything
        if range_value is not None:
            item = table.items.get(hash_value, {}).get(range_value)
            if item is not None:
                snap.items[hash_value][range_value] = copy.deepcopy(item)
        elif hash_value in table.items:
            snap.items[hash_value] = copy.deepcopy(table.items[hash_value])
    return snap


def transact_write_items(original: Callable[[DynamoDBBackend, list[dict[str, Any]]], None]
                         ) -> Callable[[DynamoDBBackend, list[dict[str, Any]]], None]:
    """moto's ``transact_write_items`` with a snapshot as cheap as the transaction."""

    @functools.wraps(original)
    def transact(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        updates: dict[str, list[dict[str, Any]]] = {}
        for item in transact_items:
            op = item.get("Update")
            if isinstance(op, dict) and isinstance(op.get("Key"), dict):
                updates.setdefault(str(op.get("TableName")), []).append(op["Key"])
        _UPDATES.tables = updates
        had = "__deepcopy__" in vars(Table)
        Table.__deepcopy__ = _table_snapshot  # type: ignore[attr-defined]
        try:
            original(self, transact_items)
        finally:
            if not had:
                del Table.__deepcopy__  # type: ignore[attr-defined]
            _UPDATES.tables = None

    return transact


def _table_snapshot(table: Table, _memo: dict[int, Any]) -> Table:
    updates: dict[str, list[dict[str, Any]]] = getattr(_UPDATES, "tables", None) or {}
    return snapshot(table, updates.get(table.name, []))


def cached_update_parser(make: Callable[[str], Any]) -> Callable[[str], Any]:
    """``UpdateExpressionParser.make``, parsing each expression text once."""
    parsed = functools.lru_cache(maxsize=512)(make)

    @functools.wraps(make)
    def cached(expression: str) -> Any:
        return parsed(expression) if isinstance(expression, str) else make(expression)

    return cached


def cached_modules(original: Callable[[], Iterable[str]]) -> Callable[[], Iterable[str]]:
    """``list_of_moto_modules``, listed once."""
    modules: list[tuple[str, ...]] = []

    def listed() -> Iterable[str]:
        if not modules:
            modules.append(tuple(original()))
        return modules[0]

    return listed


def plain(value: object) -> bool:
    """Whether ``json.dumps`` writes ``value`` exactly as DynamoDB's JSON protocol does."""
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


def fast_result(original: Callable[[DynamoResult, ActionContext], TYPE_RESPONSE]
                ) -> Callable[[DynamoResult, ActionContext], TYPE_RESPONSE]:
    """``DynamoResult.execute_result``, writing plain results with ``json.dumps``: the status
    and headers are the serialiser's for an empty result of the same operation."""

    @functools.wraps(original)
    def execute_result(self: DynamoResult, context: ActionContext) -> TYPE_RESPONSE:
        result = self.result
        if not isinstance(result, dict) or not plain(result):
            return original(self, context)
        status, headers, _ = original(DynamoResult({}), context)
        return status, headers, json.dumps(result, separators=(",", ":"))

    return execute_result
