"""The command loader: every listed command module is loaded, and a missing one is a bug."""

from __future__ import annotations

import argparse

import pytest

from orchestrator import cli


def test_every_command_module_registers_its_commands() -> None:
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"compile", "template", "deploy", "start", "run", "doctor", "batch"} <= set(sub.choices)


def test_a_missing_command_module_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "no_such_module"))
    with pytest.raises(ModuleNotFoundError, match=r"orchestrator\.cli\.no_such_module"):
        cli.parser()
