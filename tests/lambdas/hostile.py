"""Hypothesis strategies that break real event payloads one field at a time.

A mutation picks any node of a recorded event (the whole event, an object member, a list
item) and replaces it with an arbitrary JSON value, deletes it, or wraps it in a list. The
values lean towards the ones that have broken parsers before: numbers past every range
(``10**18`` milliseconds, ``10**40`` exit codes), empty and huge strings, lone UTF-16
surrogates (valid JSON escapes that are not Unicode text), and containers where scalars are
expected.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

EDGE_NUMBERS = [0, -1, 1, 2**31, -(2**31) - 1, 2**63, 10**18, 10**40, -(10**18), 1641944225000,
                0.5, -0.0, 1e308, math.inf, -math.inf, math.nan]
EDGE_TEXT = ["", " ", "\ud800", "a\udfffb", "\x00", "x" * 5000, "1641944225000",
             "2022-01-11T23:37:05Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
             "RUNNING", "SUCCEEDED", "FAILED", "null", "[]", "{}", "s3://", "arn:aws:states:::"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from(EDGE_NUMBERS),
    st.integers(), st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EDGE_TEXT),
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Lo", "So"]), max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def paths(doc: Any, prefix: Path = ()) -> list[Path]:
    """Every node of a JSON document, the root first."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += paths(value, (*prefix, i))
    return out


def _replace(doc: Any, path: Path, make: Any) -> Any:
    if not path:
        return make(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    new = make(parent[last])
    if new is _DELETE:
        del parent[last]
    else:
        parent[last] = new
    return doc


_DELETE = object()


@st.composite
def mutated(draw: st.DrawFn, original: Any, max_mutations: int = 3) -> Any:
    """``original`` (deep-copied) with one to ``max_mutations`` fields broken."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(paths(doc)))
        how = draw(st.sampled_from(["replace", "replace", "delete", "wrap"]))
        if how == "replace":
            value = draw(json_values)
            doc = _replace(doc, path, lambda _old, v=value: v)
        elif how == "wrap":
            doc = _replace(doc, path, lambda old: [old])
        elif path:
            doc = _replace(doc, path, lambda _old: _DELETE)
        else:
            doc = draw(json_values)
    return doc
