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


def _list(state: dict[str, Any], key: str) -> list[Any]:
    value = state.get(key, [])
    return value if isinstance(value, list) else []


def _targets(state: dict[str, Any]) -> list[str]:
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in _list(state, "Choices") if isinstance(c, dict)]
    out += [c.get("Next") for c in _list(state, "Catch") if isinstance(c, dict)]
    return [t for t in out if isinstance(t, str)]


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _field_types(name: str, s: dict[str, Any], where: str) -> list[str]:
    """Fields of the wrong JSON type: Step Functions rejects these when the definition is
    created; here they would otherwise be skipped or misread."""
    out: list[str] = []
    at = f"{where}: state {name!r}"
    for key in ("Next", "Default", "Comment", "Resource", "InputPath", "OutputPath",
                "ResultPath"):
        if key in s and not isinstance(s[key], str) and not (
                key in ("InputPath", "OutputPath", "ResultPath") and s[key] is None):
            out.append(f"{at}: {key} must be a string, not {type(s[key]).__name__}")
    if "End" in s and not isinstance(s["End"], bool):
        out.append(f"{at}: End must be true or false, not {s['End']!r:.40}")
    for key in ("Retry", "Catch"):
        if key not in s:
            continue
        items = s[key]
        if not isinstance(items, list):
            out.append(f"{at}: {key} must be a list of objects, not {type(items).__name__}")
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                out.append(f"{at}: {key}[{i}] must be an object, not {type(item).__name__}")
            elif not _strings(item.get("ErrorEquals")):
                out.append(f"{at}: {key}[{i}].ErrorEquals must be a non-empty list of error "
                           "names")
            elif key == "Catch" and not isinstance(item.get("Next"), str):
                out.append(f"{at}: Catch[{i}].Next must name a state")
            elif key == "Retry":
                out += [f"{at}: Retry[{i}].{f} must be a number"
                        for f in ("IntervalSeconds", "MaxAttempts", "BackoffRate")
                        if f in item and (isinstance(item[f], bool)
                                          or not isinstance(item[f], int | float))]
    kind = s.get("Type")
    if kind == "Choice":
        choices = s.get("Choices")
        if not isinstance(choices, list) or not choices:
            out.append(f"{at}: Choices must be a non-empty list of rules")
        else:
            out += [f"{at}: Choices[{i}] must be an object with a Next state"
                    for i, c in enumerate(choices)
                    if not isinstance(c, dict) or not isinstance(c.get("Next"), str)]
    if kind == "Parallel":
        branches = s.get("Branches")
        if not isinstance(branches, list) or not branches \
                or not all(isinstance(b, dict) for b in branches):
            out.append(f"{at}: Branches must be a non-empty list of state machines (objects)")
    if kind == "Map":
        present = [k for k in ("ItemProcessor", "Iterator") if k in s]
        if len(present) != 1:
            out.append(f"{at}: a Map needs exactly one of ItemProcessor or Iterator")
        elif not isinstance(s[present[0]], dict):
            out.append(f"{at}: {present[0]} must be an object (a state machine), not "
                       f"{type(s[present[0]]).__name__}")
    if kind in ("Wait",) and not any(k in s for k in ("Seconds", "Timestamp", "SecondsPath",
                                                       "TimestampPath")):
        out.append(f"{at}: a Wait needs Seconds, Timestamp, SecondsPath or TimestampPath")
    return out


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
        if not isinstance(s, dict) or not isinstance(s.get("Type"), str) \
                or s["Type"] not in TYPES:
            out.append(f"{where}: state {name!r} has no valid Type (one of {sorted(TYPES)})")
            continue
        out += _field_types(name, s, where)
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
    if not any(states[n].get("End") is True or states[n].get("Type") in ("Succeed", "Fail")
               for n in reach):
        out.append(f"{where}: no path ends")
    for name, s in states.items():
        if not isinstance(s, dict):
            continue
        for i, b in enumerate(_list(s, "Branches")):
            if isinstance(b, dict):
                _scope(b, f"{name!r} branch {i + 1}", seen, out)
        proc = s.get("ItemProcessor") or s.get("Iterator")
        if isinstance(proc, dict):
            _scope(proc, f"{name!r} iteration", seen, out)
