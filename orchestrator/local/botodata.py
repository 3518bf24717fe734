"""botocore's data files, loaded once per process by the local engine.

botocore caches a service model or the endpoint table per session, and moto makes a new
session for many things: at import, ``moto.ec2`` alone builds three just to list regions, each
reading the endpoint table and EC2's service model again; moto's backends and the adapter's
clients do the same per service. The files cannot change while a process runs, so every
session of the engine's process shares one loader (per data path). This halves the time to
import the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

import botocore.session

_LOCK: Final = threading.Lock()


def shared(create: Callable[..., Any]) -> Callable[..., Any]:
    """``botocore.loaders.create_loader``, returning one loader per search path."""
    loaders: dict[str | None, Any] = {}

    def create_loader(search_path_string: str | None = None) -> Any:
        with _LOCK:
            if search_path_string not in loaders:
                loaders[search_path_string] = create(search_path_string)
            return loaders[search_path_string]

    create_loader.shared = True  # type: ignore[attr-defined]
    return create_loader


def share_loader() -> None:
    """Make every botocore session in this process share its data loader (idempotent)."""
    if not getattr(botocore.session.create_loader, "shared", False):
        botocore.session.create_loader = shared(botocore.session.create_loader)
