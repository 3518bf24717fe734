"""Requests from the engine's own process to the emulator, answered without HTTP.

The engine's clients (the Lambda handlers it hosts, the job-event feed, its own polling)
live in the same process as the emulator's server, yet each request went out as HTTP on a
new connection (moto's werkzeug server closes every connection), through a thread of its
own, and back: about 40% of a request's CPU, and requests are most of the engine's work.

:func:`install` adds a botocore ``before-send`` hook that hands a request addressed to the
emulator's endpoint straight to the server's WSGI application, the same one the HTTP server
calls, with the environment werkzeug's test client builds for the same method, URL, headers
and body. So routing, parsing and responses are moto's own either way; only the socket is
skipped. Job processes (other processes) still talk HTTP. Any other request is left alone.
The Step Functions interpreter's own clients address the same server as
``http://localhost:<port>``: that name is an alias (its Batch calls, two per stage, went out
as HTTP).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from werkzeug.test import EnvironBuilder

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HOOK_ID = "orchestrator-local-inprocess"


class Dispatch:
    """The ``before-send`` hook: a response for requests to ``base_url`` (or to one of
    ``aliases``, other names of the same server), else None."""

    def __init__(self, base_url: str, app: WsgiApp, aliases: Iterable[str] = ()) -> None:
        self.base_url = base_url.rstrip("/")
        self._prefixes = (self.base_url, *(a.rstrip("/") for a in aliases))
        self.app = app
        self.active = True
        self.count = 0  # requests answered in process (for tests and benchmarks)
        self._lock = threading.Lock()

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not self.active or not request.url or not request.url.startswith(self._prefixes):
            return None
        url = urlsplit(request.url)
        body = request.body
        if body is not None and hasattr(body, "read"):
            body = body.read()
        data = body.encode() if isinstance(body, str) else bytes(body or b"")
        headers = [(k, v.decode("latin-1") if isinstance(v, bytes) else str(v))
                   for k, v in request.headers.items()]
        environ = EnvironBuilder(method=request.method, base_url=self.base_url,
                                 path=url.path, query_string=url.query, headers=headers,
                                 data=data).get_environ()
        started: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]],
                           exc_info: Any = None) -> None:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = response_headers

        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        with self._lock:
            self.count += 1
        answer: Any = dict(started["headers"])  # botocore reads it as a mapping
        return AWSResponse(request.url, started["status"], answer, MockRawResponse(content))


def install(base_url: str, app: WsgiApp, aliases: Iterable[str] = ()) -> Dispatch:
    """Answer this process's requests to ``base_url`` (and ``aliases``) in process, for
    clients created from now on (new sessions and boto3's default one); :func:`uninstall`
    undoes it."""
    hook = Dispatch(base_url, app, aliases)
    handler: Any = hook
    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", handler))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION._session.register("before-send", handler, unique_id=HOOK_ID)
    return hook


def uninstall(hook: Dispatch) -> None:
    """Stop answering; clients still holding the hook fall back to HTTP."""
    hook.active = False
    handler: Any = hook
    handlers = botocore.handlers.BUILTIN_HANDLERS
    handlers[:] = [h for h in handlers if h[1] is not hook]
    if boto3.DEFAULT_SESSION is not None:
        session = boto3.DEFAULT_SESSION._session
        session.unregister("before-send", handler, unique_id=HOOK_ID)
        session.unregister("before-send", handler)  # when the session was made after install
