"""Step Functions in moto, made cheaper: an execution's history written as plain JSON, one
boto3 client per service for the interpreter's tasks, and an execution's end signalled.

moto serialises a ``GetExecutionHistory`` response by walking the botocore shape of every
event: about 25 ms per stage of history, so half a second at the end of a 20-stage run, read
twice (which jobs the run submitted, and how many events and transitions it used). The events
are already plain dicts of strings, numbers, lists and datetimes: :func:`fast_history` writes
them with ``json.dumps``, timestamps as the serialiser writes them (epoch seconds, to the
millisecond), and keeps the serialiser for anything else and for errors.

The interpreter makes a new boto3 client for every service task it runs and for every
``.sync`` answer it reads (``boto_client_for``): about 3 ms each, two for every Batch stage.
:func:`cached_clients` keeps one per region, service and endpoint; boto3 clients are safe to
share between threads, and the original gives every client the same fixed credentials.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.core.models import botocore_stubber
from moto.core.responses import ActionContext, ActionResult
from moto.core.serialize import TimestampSerializer
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client


def plain(value: Any) -> Any:
    """``value`` as the JSON protocol writes it: datetimes as epoch seconds, ``None``
    members left out; raises TypeError for anything else that is not JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"not plain JSON: {type(value).__name__}")


class PlainResult(ActionResult):
    """An ActionResult whose body is ``json.dumps`` of the plain result; the status and
    headers are the serialiser's for an empty result of the same operation."""

    def execute_result(self, context: ActionContext) -> TYPE_RESPONSE:
        try:
            body = json.dumps(plain(self.result), separators=(",", ":"))
        except TypeError:
            return super().execute_result(context)
        status, headers, _ = ActionResult({}).execute_result(context)
        return status, headers, body


def fast_history(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``StepFunctionResponse.get_execution_history``, answered with a :class:`PlainResult`."""

    @functools.wraps(original)
    def get_execution_history(self: Any) -> Any:
        result = original(self)
        if type(result) is ActionResult:
            return PlainResult(result.result)
        return result

    return get_execution_history


def cached_clients(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``boto_client_for(region, service, state_credentials)``, making each client
    once: the key is what the original's client depends on (region, service, and whether
    moto intercepts boto3 or it goes to the server's port)."""
    clients: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, bool(botocore_stubber.enabled), str(moto_server_port()))
        with lock:
            if key not in clients:
                clients[key] = original(region=region, service=service,
                                        state_credentials=state_credentials)
            return clients[key]

    return boto_client_for


def client_factory_patches() -> list[tuple[Any, str, Any]]:
    """(module, "boto_client_for", cached) for the module defining moto's factory (for
    modules imported later) and for every loaded module that imported it by name."""
    original = sfn_boto_client.boto_client_for
    cached = cached_clients(original)
    patches: list[tuple[Any, str, Any]] = [(sfn_boto_client, "boto_client_for", cached)]
    for name, module in list(sys.modules.items()):
        if (module is not None and name.startswith(("moto.stepfunctions.", "orchestrator.local."))
                and vars(module).get("boto_client_for") is original):
            patches.append((module, "boto_client_for", cached))
    return patches


def signalled(terminated: Callable[[Any], None],
              ended: Callable[[str], None]) -> Callable[[Any], None]:
    """An execution worker's ``terminated`` (the execution's status is set there) that also
    calls ``ended(execution ARN)``: whoever waits for an execution needs not poll for its
    end."""

    @functools.wraps(terminated)
    def signalled(self: Any) -> None:
        try:
            terminated(self)
        finally:
            ended(str(self.execution.exec_arn))

    return signalled
