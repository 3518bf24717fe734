"""Deterministic YAML for CloudFormation templates, with comments.

PyYAML can neither write comments nor CloudFormation's short-form tags, and the template is
committed and reviewed, so it is emitted here: keys in insertion order, two-space indent,
no line wrapping, intrinsic functions as ``!Ref``/``!Sub``/``!GetAtt``/``!If``..., and a
``# comment`` above any mapping wrapped in :class:`Commented`. Strings are written plain only
when PyYAML reads them back as the same string; otherwise double-quoted (JSON escapes are
valid YAML).
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

import yaml


class Commented(dict[str, Any]):
    """A mapping rendered with ``# comment`` lines above it; otherwise a plain dict."""

    comment: str

    def __init__(self, comment: str, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.comment = comment


_SHORT = {
    "Ref": "Ref", "Condition": "Condition", "Fn::Sub": "Sub", "Fn::GetAtt": "GetAtt",
    "Fn::If": "If", "Fn::Equals": "Equals", "Fn::Not": "Not", "Fn::And": "And", "Fn::Or": "Or",
    "Fn::Join": "Join", "Fn::Select": "Select", "Fn::Split": "Split", "Fn::Contains": "Contains",
    "Fn::EachMemberEquals": "EachMemberEquals", "Fn::GetAZs": "GetAZs",
    "Fn::ImportValue": "ImportValue", "Fn::FindInMap": "FindInMap", "Fn::Base64": "Base64",
}
COMMENT_WIDTH = 100
# Characters YAML does not allow in a document even inside quotes: written as escapes.
# So are the line breaks YAML 1.1 knows beyond \n (NEL, LS, PS) and a byte-order mark.
_NOT_PRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    "\U00010000-\U0010ffff]")
_PLAIN = re.compile(r"[A-Za-z0-9_/$.(][A-Za-z0-9 _./:@${}()*+=,!<>-]*")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot render {type(value).__name__} {value!r} as YAML")


def _string(s: str) -> str:
    if (_PLAIN.fullmatch(s) and not s.endswith((" ", ":")) and ": " not in s
            and " #" not in s and yaml.safe_load(s) == s):
        return s
    return _NOT_PRINTABLE.sub(_escape, json.dumps(s, ensure_ascii=False))


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _short_form(value: Any) -> tuple[str, Any] | None:
    """``{"Ref": "X"}`` -> ``("!Ref", "X")``; ``None`` for an ordinary mapping."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key in _SHORT:
            if key == "Fn::GetAtt" and isinstance(arg, list) and all(
                    isinstance(a, str) for a in arg):
                return "!GetAtt", ".".join(arg)
            return f"!{_SHORT[key]}", arg
    return None


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value) and _short_form(value) is None


def _inline(value: Any) -> str | None:
    """The value on one line after ``key:`` or ``-``, or None when it needs a block."""
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    short = _short_form(value)
    if short is not None:
        tag, arg = short
        return f"{tag} {_scalar(arg)}" if not isinstance(arg, dict | list) else None
    if isinstance(value, dict | list):
        return None
    return _scalar(value)


def _comment_lines(value: Any, pad: str) -> list[str]:
    if not isinstance(value, Commented):
        return []
    width = max(COMMENT_WIDTH - len(pad) - 2, 40)
    lines = [w for line in value.comment.splitlines() for w in textwrap.wrap(line, width) or [""]]
    return [f"{pad}# {line}".rstrip() for line in lines]


def _emit(value: Any, indent: int, out: list[str], gap: bool = False) -> None:
    """Append the block form of a mapping or sequence at ``indent`` spaces."""
    pad = " " * indent
    if isinstance(value, dict):
        for i, (key, item) in enumerate(value.items()):
            if gap and i:
                out.append("")
            out.extend(_comment_lines(item, pad))
            _entry(f"{pad}{_string(str(key))}:", item, indent, out)
        return
    for item in value:
        out.extend(_comment_lines(item, pad))
        if _is_block(item) and isinstance(item, dict):
            sub: list[str] = []
            _emit(item, indent + 2, sub)
            first = next(i for i, line in enumerate(sub) if not line.lstrip().startswith("#"))
            out.extend(sub[:first])
            out.append(f"{pad}- {sub[first].lstrip()}")
            out.extend(sub[first + 1:])
        else:
            _entry(f"{pad}-", item, indent, out)


def _entry(head: str, value: Any, indent: int, out: list[str]) -> None:
    """``head`` followed by ``value``: inline, or a tag and a nested block."""
    line = _inline(value)
    if line is not None:
        out.append(f"{head} {line}")
        return
    short = _short_form(value)
    if short is not None:
        tag, arg = short
        out.append(f"{head} {tag}")
        _emit(arg, indent + 2, out)
        return
    out.append(head)
    _emit(value, indent + 2, out)


def to_yaml(document: dict[str, Any], header: str = "") -> str:
    """The document as YAML; ``header`` becomes ``#`` lines at the top."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    for key, value in document.items():
        if out:
            out.append("")
        out.extend(_comment_lines(value, ""))
        line = _inline(value)
        if line is not None:
            out.append(f"{_string(key)}: {line}")
            continue
        out.append(f"{_string(key)}:")
        _emit(value, 2, out, gap=key in ("Parameters", "Resources", "Outputs", "Rules"))
    return "\n".join(out) + "\n"
