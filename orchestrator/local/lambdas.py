"""Lambda functions of the local engine: Python callables invoked in-process.

:class:`LambdaRegistry` maps function names (or ARNs: the name is what counts) to handlers.
:meth:`LambdaRegistry.invoke` answers like the Lambda Invoke API does for the Step Functions
integration: ``{"StatusCode": 200, "Payload": <result>, "ExecutedVersion": "$LATEST"}``; when
the handler raises, ``FunctionError`` is ``"Unhandled"`` and the payload is the Python
runtime's error document ``{"errorMessage", "errorType", "requestId", "stackTrace"}``, which
the interpreter turns into a task failure with Error = the exception's class name and Cause
= that document, so ASL ``Retry``/``Catch`` on error names behave as on AWS.

What a function prints goes where Lambda sends it, to the function's log, not to the user's
terminal: while :class:`OutputRouter` is installed, ``sys.stdout``/``sys.stderr`` writes made
inside :func:`function_output` (per thread) go to ``<log_dir>/<function>.log``. That keeps
powertools' EMF lines (which it prints even with metrics disabled once 100 values pile up)
and any handler's prints out of the progress display.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

Handler = Callable[[Any, Any], Any]

ACCOUNT = "123456789012"  # moto's default account


def function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:r:a:function:check[:alias]`` or ``check[:alias]`` -> ``check``."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else name_or_arn
    return name_or_arn.split(":", 1)[0]


@dataclass
class FakeContext:
    """The attributes and method of the Lambda context object handlers commonly use."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: float = 900.0
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_CURRENT = threading.local()  # .sink: the log the running function's output goes to


class _Sink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def write(self, text: str) -> None:
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class OutputRouter:
    """Stands in for ``sys.stdout`` and ``sys.stderr``: writes made while a function runs
    (in that thread) go to the function's log; everything else passes through."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._sinks: dict[str, _Sink] = {}
        self._lock = threading.Lock()
        self._saved: tuple[TextIO, TextIO] | None = None

    def install(self) -> None:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Routed(sys.stdout)
        sys.stderr = _Routed(sys.stderr)

    def uninstall(self) -> None:
        if self._saved is None:
            return
        for name, original in zip(("stdout", "stderr"), self._saved, strict=True):
            current = getattr(sys, name)
            if isinstance(current, _Routed) and current.original is original:
                setattr(sys, name, original)
        self._saved = None
        with self._lock:
            for sink in self._sinks.values():
                sink.close()

    def sink(self, function: str) -> _Sink:
        with self._lock:
            if function not in self._sinks:
                self._sinks[function] = _Sink(self.log_dir / f"{function}.log")
            return self._sinks[function]

    def log_path(self, function: str) -> Path:
        return self.log_dir / f"{function}.log"


class _Routed:
    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        sink: _Sink | None = getattr(_CURRENT, "sink", None)
        if sink is None:
            return self.original.write(text)
        sink.write(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_CURRENT, "sink", None) is None:
            self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


@contextlib.contextmanager
def function_output(router: OutputRouter | None, function: str) -> Iterator[None]:
    """Route this thread's prints to ``function``'s log while the block runs."""
    if router is None:
        yield
        return
    previous = getattr(_CURRENT, "sink", None)
    _CURRENT.sink = router.sink(function)
    try:
        yield
    finally:
        _CURRENT.sink = previous


class LambdaRegistry:
    """Function name -> handler; thread-safe, as Map iterations invoke concurrently."""

    def __init__(self, region: str = "us-east-1", router: OutputRouter | None = None) -> None:
        self.region = region
        self.router = router
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self.calls = 0  # invocations that have returned (what may have changed a table)

    def register(self, name_or_arn: str, handler: Handler) -> str:
        """Returns the function ARN to put in a state machine definition."""
        name = function_name(name_or_arn)
        with self._lock:
            self._handlers[name] = handler
        return self.arn(name)

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"

    def handler(self, name_or_arn: str) -> Handler | None:
        with self._lock:
            return self._handlers.get(function_name(name_or_arn))

    def invoke(self, name_or_arn: str, payload: bytes | str | None) -> dict[str, Any]:
        """Call the handler as the Lambda service would; raises KeyError if unregistered."""
        name = function_name(name_or_arn)
        handler = self.handler(name)
        if handler is None:
            raise KeyError(name)
        context = FakeContext(name, self.arn(name))
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            event = json.loads(payload) if payload else {}
            with function_output(self.router, name):
                result = handler(event, context)
        except Exception as exc:
            response["FunctionError"] = "Unhandled"
            response["Payload"] = error_document(exc, context.aws_request_id)
            return response
        finally:
            with self._lock:
                self.calls += 1
        try:
            response["Payload"] = json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            response["FunctionError"] = "Unhandled"
            response["Payload"] = {"errorMessage": f"Unable to marshal response: {exc}",
                                   "errorType": "Runtime.MarshalError",
                                   "requestId": context.aws_request_id, "stackTrace": []}
        return response


def error_document(exc: BaseException, request_id: str) -> Mapping[str, Any]:
    """What the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
