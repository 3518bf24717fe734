"""Client factories cached per environment.

A Lambda container builds its AWS clients once; ``functools.cache`` does that, but a client
also depends on environment variables (the endpoint, the table name) that the local engine
and tests change between emulators. :func:`env_cached` keeps one value per combination of
those variables: on Lambda, where the environment is fixed, that is one client per container.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
ALWAYS = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION")
_ALL: list[dict[tuple[str | None, ...], object]] = []  # every cache, for clear_all


def env_cached(*names: str) -> Callable[[Callable[[], T]], Callable[[], T]]:
    """Cache a no-argument factory per value of ``names`` (and the endpoint and region)."""
    watched = (*ALWAYS, *names)

    def wrap(factory: Callable[[], T]) -> Callable[[], T]:
        built: dict[tuple[str | None, ...], T] = {}
        lock = threading.Lock()
        _ALL.append(built)  # type: ignore[arg-type]

        @functools.wraps(factory)
        def get() -> T:
            key = tuple(os.environ.get(n) for n in watched)
            with lock:
                if key not in built:
                    built[key] = factory()
                return built[key]

        get.cache_clear = built.clear  # type: ignore[attr-defined]
        return get

    return wrap


def clear_all() -> None:
    """Forget every cached value: a process forked from one that ran an emulator (the warm
    engine) must not reuse clients bound to it."""
    for built in _ALL:
        built.clear()
