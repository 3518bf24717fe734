"""The garbage collector during a local run: paused while it starts, then collecting only
what the execution makes, and as it was afterwards (tests and the warm engine run many)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from orchestrator.local import gcphases


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_paused_collects_nothing_and_restores_the_collector() -> None:
    gc.enable()
    with gcphases.paused():
        assert not gc.isenabled()
        with gcphases.paused():  # the CLI's pause around the engine's own
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_restores_the_collector_when_the_block_raises() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gcphases.paused():
        raise RuntimeError("a bad workflow")
    assert gc.isenabled()


def test_frozen_leaves_what_existed_and_collects_what_the_block_made() -> None:
    gc.collect()
    with gcphases.paused():
        before = Cycle()
        old = weakref.ref(before)
        with gcphases.frozen():
            assert gc.isenabled() and gc.get_freeze_count() > 0
            del before
            gc.collect()
            assert old() is not None  # frozen: left alone
            made = Cycle()
            new = weakref.ref(made)
            del made
            gc.collect()
            assert new() is None
        assert gc.get_freeze_count() == 0 and not gc.isenabled()  # back as the pause left it
    assert gc.isenabled()
    gc.collect()
    assert old() is None  # unfrozen, then freed
