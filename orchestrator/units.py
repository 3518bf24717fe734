"""Parsing of memory sizes and durations as users write them."""

from __future__ import annotations

import re

MIB_PER_GIB = 1024
MIB_PER_TIB = MIB_PER_GIB * 1024
_MEM_UNITS = {
    "": 1, "m": 1, "mb": 1, "mi": 1, "mib": 1,
    "g": MIB_PER_GIB, "gb": MIB_PER_GIB, "gi": MIB_PER_GIB, "gib": MIB_PER_GIB,
    "t": MIB_PER_TIB, "tb": MIB_PER_TIB, "ti": MIB_PER_TIB, "tib": MIB_PER_TIB,
}
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_DUR_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_DUR_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def memory_mib(value: int | str) -> int:
    """``4096`` (MiB), ``"4 GiB"``, ``"512MiB"``, ``"4G"`` -> MiB. GB/MB are read as GiB/MiB."""
    if isinstance(value, bool):
        raise ValueError(f"memory {value!r} is not a size")
    if isinstance(value, int):
        return value
    m = _MEM_RE.match(str(value))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _MEM_UNITS:
        raise ValueError(f"memory {value!r} is not a size like '4 GiB' or '512 MiB'")
    return int(float(m.group(1)) * _MEM_UNITS[unit])


def duration_seconds(value: int | str) -> int:
    """``3600``, ``"1h"``, ``"90s"``, ``"2h30m"`` -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"duration {value!r} is not a duration")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    total, pos = 0.0, 0
    for m in _DUR_RE.finditer(text):
        if text[pos:m.start()].strip():
            break
        total += float(m.group(1)) * _DUR_SECONDS[m.group(2).lower()]
        pos = m.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"duration {value!r} is not like '1h', '30m', '90s' or '2h30m'")
    return int(total)
