"""An execution's history, written as JSON without moto's generic serialiser.

moto serialises a ``GetExecutionHistory`` response by walking the botocore shape of every
event: about 25 ms per stage of history, so half a second at the end of a 20-stage run, read
twice (which jobs the run submitted, and how many events and transitions it used). The events
are already plain dicts of strings, numbers, lists and datetimes: :func:`fast_history` writes
them with ``json.dumps``, timestamps as the serialiser writes them (epoch seconds, to the
millisecond), and keeps the serialiser for anything else and for errors.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionContext, ActionResult
from moto.core.serialize import TimestampSerializer


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
