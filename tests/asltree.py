"""Reading a compiled definition in tests: every state at every depth, by name."""

from __future__ import annotations

from typing import Any


def states(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of ``doc`` at every depth (Parallel branches, Map processors), by name."""
    out: dict[str, dict[str, Any]] = {}
    for name, s in doc["States"].items():
        out[name] = s
        for b in s.get("Branches", []):
            out |= states(b)
        if "ItemProcessor" in s:
            out |= states(s["ItemProcessor"])
    return out
