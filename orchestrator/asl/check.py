"""Structural checks of an ASL document: unique names, every Next exists in its scope, every
state reachable, some path ends, names within Step Functions' limits, known state types.

Used on every compiled definition (a problem there is a compiler bug) and by
``orchestrator validate`` on ASL files written by hand.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator_runtime import limits

MAX_NAME = limits.STATE_NAME_CHARS
TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
TERMINAL_TYPES = {"Succeed", "Fail"}


class DefinitionError(OrchestratorError):
    """A definition Step Functions would reject."""


def problems(doc: Any) -> list[str]:
    """Every problem found, each naming the state and scope."""
    out: list[str] = []
    if not isinstance(doc, dict):
        return ["the definition is not a JSON object"]
    _scope(doc, "top level", set(), out)
    return out


def check(doc: dict[str, Any]) -> None:
    found = problems(doc)
    if found:
        raise DefinitionError("invalid state machine:\n  " + "\n  ".join(found))


def _targets(state: dict[str, Any]) -> list[str]:
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in state.get("Choices", []) if isinstance(c, dict)]
    out += [c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)]
    return [t for t in out if isinstance(t, str)]


def _scope(m: dict[str, Any], where: str, seen: set[str], out: list[str]) -> None:
    states = m.get("States")
    start = m.get("StartAt")
    if not isinstance(states, dict) or not states:
        out.append(f"{where}: 'States' must be a non-empty object")
        return
    for name, s in states.items():
        if name in seen:
            out.append(f"state name {name!r} is used twice")
        seen.add(name)
        if len(name) > MAX_NAME:
            out.append(f"state name {name!r} is longer than {MAX_NAME} characters")
        if not isinstance(s, dict) or s.get("Type") not in TYPES:
            out.append(f"{where}: state {name!r} has no valid Type (one of {sorted(TYPES)})")
            continue
        for t in _targets(s):
            if t not in states:
                out.append(f"{where}: {name!r} goes to {t!r}, which is not a state of this scope")
        ends = s.get("End") is True or s["Type"] in TERMINAL_TYPES | {"Choice"}
        if not ends and "Next" not in s:
            out.append(f"{where}: {name!r} has neither Next nor End")
    if not isinstance(start, str) or start not in states:
        out.append(f"{where}: StartAt {start!r} is not a state of this scope")
        return
    reach: set[str] = set()
    todo: list[str] = [start]
    while todo:
        n = todo.pop()
        if n in reach or not isinstance(states.get(n), dict):
            continue
        reach.add(n)
        todo.extend(t for t in _targets(states[n]) if t in states)
    out.extend(f"{where}: {n!r} is unreachable" for n in states if n not in reach)
    if not any(states[n].get("End") is True or states[n].get("Type") in TERMINAL_TYPES
               for n in reach):
        out.append(f"{where}: no path ends")
    for name, s in states.items():
        if not isinstance(s, dict):
            continue
        for i, b in enumerate(s.get("Branches", [])):
            _scope(b, f"{name!r} branch {i + 1}", seen, out)
        proc = s.get("ItemProcessor") or s.get("Iterator")
        if isinstance(proc, dict):
            _scope(proc, f"{name!r} iteration", seen, out)
