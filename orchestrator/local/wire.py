"""The one-JSON-object-per-line messages of the warm processes (the runners' zygote and the
warm engine) and the exit status they report. Standard library only."""

from __future__ import annotations

import json
import socket
from typing import Any


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def receive(conn: socket.socket, buffer: bytearray) -> dict[str, Any]:
    """The next message; {} when the connection closed. ``buffer`` keeps what arrived after
    it, for the next call."""
    while b"\n" not in buffer:
        chunk = conn.recv(4096)
        if not chunk:
            return {}
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    message = json.loads(line)
    return message if isinstance(message, dict) else {}


def exit_status(exc: SystemExit) -> int:
    """The status a process exits with for ``exc``, as the interpreter's own exit does."""
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
