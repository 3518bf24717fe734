"""Turning a RunnerTask's command templates into an argv and an environment for the local files.

Placeholders are filled from three sources: ``inputs.NAME`` (local paths of the downloaded
objects, possibly several), ``outputs.NAME`` and ``outputs.NAME.parent`` (local paths the
command writes to), and the task's ``values`` (sample columns and params).

In shell mode every substituted value is passed through :func:`shlex.quote`, so no value
(a sample id such as ``a; rm -rf x``) can add shell syntax; write placeholders outside of
quotes in shell commands (``grep {pattern} {inputs.x}``, not ``grep '{pattern}' ...``).
``{{`` and ``}}`` are literal braces (``awk '{{print $1}}'``, ``${{HOME}}``).
Without a shell no quoting is needed: every argument is one argv entry, except that an
argument that is exactly ``{inputs.x}`` becomes one entry per file of that input.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from orchestrator_runtime.contracts import PLACEHOLDER_RE, fill_with

Values = Mapping[str, Sequence[str]]  # placeholder name -> one value, or several (inputs)


class TemplateError(ValueError):
    """A template uses a placeholder that has no value in this task."""


_WHOLE = re.compile(rf"^{PLACEHOLDER_RE.pattern}$")


def values_for(
    values: Mapping[str, str],
    inputs: Mapping[str, Sequence[str]],
    outputs: Mapping[str, str],
    output_dirs: Mapping[str, str],
) -> dict[str, list[str]]:
    """Every placeholder a template of this task may use, each with its list of values."""
    table: dict[str, list[str]] = {name: [value] for name, value in values.items()}
    table.update({f"inputs.{name}": list(paths) for name, paths in inputs.items()})
    table.update({f"outputs.{name}": [path] for name, path in outputs.items()})
    table.update({f"outputs.{name}.parent": [d] for name, d in output_dirs.items()})
    return table


def fill_field(template: str, table: Values, *, quote: bool, field: str) -> str:
    """Fill every placeholder; several values are joined by spaces (each quoted if asked)."""

    def sub(name: str) -> str:
        if name not in table:
            raise TemplateError(_unknown(name, field, table))
        parts = table[name]
        return " ".join(shlex.quote(p) for p in parts) if quote else " ".join(parts)

    return fill_with(template, sub)


def argv(command: Sequence[str], table: Values, *, shell: bool) -> list[str]:
    """The argv to execute: ``/bin/sh -c SCRIPT`` in shell mode, the arguments otherwise.

    ``command`` comes from a checked :class:`~orchestrator_runtime.contracts.RunnerTask`.
    """
    if shell:  # the task document holds exactly one string then (runner_task checks it)
        return ["/bin/sh", "-c", fill_field(command[0], table, quote=True, field="command[0]")]
    out: list[str] = []
    for i, arg in enumerate(command):
        whole = _WHOLE.match(arg)
        if whole and whole.group(1).startswith("inputs.") and whole.group(1) in table:
            out.extend(table[whole.group(1)])
        else:
            out.append(fill_field(arg, table, quote=False, field=f"command[{i}]"))
    return out


def environment(env: Mapping[str, str], table: Values) -> dict[str, str]:
    """Environment values with placeholders filled (never quoted: no shell reads them)."""
    return {
        key: fill_field(value, table, quote=False, field=f"environment[{key!r}]")
        for key, value in env.items()
    }


def _unknown(name: str, field: str, table: Values) -> str:
    known = ", ".join(sorted(table)) or "none"
    return (
        f"task field {field} uses {{{name}}}, which is not an input, output or value of "
        f"this task (known: {known}); declare it, or write the braces differently if they "
        "are not a placeholder: {{ and }} are literal braces"
    )
