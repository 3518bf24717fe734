"""Why a stage is stale: what differs between the stage now and the marker that vouched for
its outputs, in one line a person can read.

A marker's name says only *that* something changed (its fingerprint hashes image, command,
environment, values, input and output locations and input ETags together). Markers written by
the runner since contract fields ``basis`` and ``input_etags`` exist also record what went
into the fingerprint, so the parts can be compared one by one: "command changed",
"environment FOO changed", "value {genome} changed (GRCh37 -> GRCh38)", "input reads: bytes
of raw/S1.fastq.gz changed", "output stats changed after the marker". An older marker
without them gets a line that says it cannot tell.

Pure and standard library only (no S3 here): the caller reads the marker body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from orchestrator_runtime import contracts
from orchestrator_runtime.resolve import Stage

SHOWN: Final = 3  # objects named per difference
VALUE_CHARS: Final = 40  # longest old or new value shown


def stale_reason(stage: Stage, input_etags: Mapping[str, Sequence[str]],
                 output_etags: Mapping[str, str | None], marker: Mapping[str, Any]) -> str:
    """One line naming every difference between ``stage`` (with the ETags of its inputs and
    outputs as seen now, by name; None for an absent output) and ``marker`` (a marker body
    as the runner wrote it, or any JSON a folder may hold)."""
    found = differences(stage, input_etags, output_etags, marker)
    if found:
        return "; ".join(found)
    if not isinstance(marker.get("basis"), Mapping):
        return ("the marker's fingerprint differs, and the marker does not record what made "
                "it (written by an older runner): image, command, environment, values or "
                "input contents changed")
    version = marker.get("version")
    if version != contracts.CONTRACT_VERSION:
        return (f"the marker was written under contract version {version}, this orchestrator "
                f"uses {contracts.CONTRACT_VERSION}")
    return "the marker's fingerprint differs although what it records matches (edited marker?)"


def differences(stage: Stage, input_etags: Mapping[str, Sequence[str]],
                output_etags: Mapping[str, str | None], marker: Mapping[str, Any]) -> list[str]:
    """Each difference as a short phrase, in the order image, command, environment, values,
    inputs, outputs; [] when none can be named."""
    base = stage.job["bucket"].rstrip("/") + "/"
    out: list[str] = []
    basis = marker.get("basis")
    if isinstance(basis, Mapping):
        now = stage.fingerprint_basis()
        if basis.get("image") != now["image"]:
            out.append(f"image changed ({_value(basis.get('image'))} -> {_value(now['image'])})")
        if basis.get("command") != now["command"]:
            out.append("command changed")
        out.extend(_mapping_changes("environment {}", _dict(basis.get("environment")),
                                    now["environment"], show_values=False))
        out.extend(_mapping_changes("value {{{}}}", _dict(basis.get("values")), now["values"],
                                    show_values=True))
        etags = marker.get("input_etags")
        out.extend(_input_changes(_dict(basis.get("inputs")), now["inputs"],
                                  _dict(etags) if isinstance(etags, Mapping) else None,
                                  input_etags, base))
        out.extend(_output_moves(_dict(basis.get("outputs")), now["outputs"], base))
    out.extend(_output_changes(_dict(marker.get("outputs")), output_etags))
    return out


def _dict(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())  # one line, whatever the value holds
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def _rel(uri: str, base: str) -> str:
    return uri[len(base):] if uri.startswith(base) else uri


def _names(uris: Sequence[str], base: str) -> str:
    shown = ", ".join(_rel(u, base) for u in uris[:SHOWN])
    return shown + (f" and {len(uris) - SHOWN} more" if len(uris) > SHOWN else "")


def _mapping_changes(label: str, old: Mapping[str, Any], new: Mapping[str, str], *,
                     show_values: bool) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        name = label.format(key)
        if key not in old:
            out.append(f"{name} added")
        elif key not in new:
            out.append(f"{name} removed")
        elif old[key] != new[key]:
            detail = f" ({_value(old[key])} -> {_value(new[key])})" if show_values else ""
            out.append(f"{name} changed{detail}")
    return out


def _input_changes(old: Mapping[str, Any], new: Mapping[str, list[str]],
                   old_etags: Mapping[str, Any] | None, etags: Mapping[str, Sequence[str]],
                   base: str) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new), key=lambda n: (n not in new, n)):
        if name not in old:
            out.append(f"input {name} added")
            continue
        if name not in new:
            out.append(f"input {name} removed")
            continue
        before = [str(u) for u in old[name]] if isinstance(old[name], list) else []
        after = list(new[name])
        if before != after:
            out.append(_moved(name, before, after, base))
        if old_etags is None:
            continue
        recorded = old_etags.get(name)
        if not isinstance(recorded, list) or len(recorded) != len(before):
            continue
        was = {u: contracts.normalize_etag(str(e)) for u, e in zip(before, recorded, strict=True)}
        now = dict(zip(after, (contracts.normalize_etag(e) for e in etags.get(name, ())),
                       strict=False))
        changed = [u for u in after if u in was and u in now and was[u] != now[u]]
        if changed:
            out.append(f"input {name}: bytes of {_names(changed, base)} changed")
    return out


def _moved(name: str, before: list[str], after: list[str], base: str) -> str:
    if len(before) == 1 and len(after) == 1:
        return f"input {name} now reads {_rel(after[0], base)} (was {_rel(before[0], base)})"
    added = [u for u in after if u not in set(before)]
    removed = [u for u in before if u not in set(after)]
    parts = []
    if added:
        parts.append(f"{len(added)} object(s) added ({_names(added, base)})")
    if removed:
        parts.append(f"{len(removed)} object(s) removed ({_names(removed, base)})")
    return f"input {name}: " + (", ".join(parts) if parts else "objects in another order")


def _output_moves(old: Mapping[str, Any], new: Mapping[str, str], base: str) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(f"output {name} added")
        elif name not in new:
            out.append(f"output {name} removed")
        elif old[name] != new[name]:
            out.append(f"output {name} now written to {_rel(new[name], base)} "
                       f"(was {_rel(str(old[name]), base)})")
    return out


def _output_changes(recorded: Mapping[str, Any],
                    etags: Mapping[str, str | None]) -> list[str]:
    """Outputs whose bytes are not the ones the marker vouched for."""
    out = []
    for name, etag in etags.items():
        entry = recorded.get(name)
        if etag is None or not isinstance(entry, Mapping) or "etag" not in entry:
            continue
        if contracts.normalize_etag(str(entry["etag"])) != contracts.normalize_etag(etag):
            out.append(f"output {name} changed after the marker")
    return out
