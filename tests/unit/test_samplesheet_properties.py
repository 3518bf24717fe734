"""Any text at all: the sheet reader returns rows that read back the same after csv.writer,
or raises SampleSheetError naming the file and line; never another exception, never rows
that moved between cells."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_runtime import limits
from orchestrator_runtime.samplesheet import SampleSheetError, parse

WHERE = re.compile(r"^s\.csv(:\d+)?: ")
# Cells made of what breaks CSV readers: separators, quotes, line breaks, controls, spaces,
# unicode, a byte-order mark, and now and then a cell longer than csv's default field limit.
HOSTILE = st.sampled_from([",", '"', "\n", "\r", "\r\n", " ", "\t", "\x00", "\x07", "\ufeff",
                           "é", "患", "/", ".", "..", "\u2028", "S"])

def pieces(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(HOSTILE, st.characters()), max_size=max_size).map("".join)


# Text a person types: letters of any script, inner spaces, commas and quotes, no controls.
PLAIN = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                min_size=1, max_size=12)
CELL = st.one_of(PLAIN, PLAIN, PLAIN, pieces(12))
# Now and then one cell longer than csv's default field limit (131,072).
HUGE = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(["x", '"', ","]).map(
    lambda c: c * (limits.SHEET_CELL_CHARS + 1)))
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def written(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def read(text: str) -> list[dict[str, str]] | None:
    """Rows, or None for a SampleSheetError (which must name the file and a line)."""
    try:
        return parse(text, "s.csv", "sample_id")
    except SampleSheetError as exc:
        message = str(exc)
        assert WHERE.match(message), message
        assert "\n" not in message and "\r" not in message
        return None


@SETTINGS
@given(st.one_of(pieces(200), pieces(200).map(lambda t: "sample_id,b\n" + t),
                st.lists(st.sampled_from(
    ["sample_id", ",", "\n", '"', "S1", "S2", " ", "\r\n", '""', "x"]), max_size=40).map("".join)))
def test_any_text_reads_as_rows_that_round_trip_or_as_a_sheet_error(text: str) -> None:
    rows = read(text)
    if rows is None:
        return
    header = list(rows[0])
    again = read(written([header, *[[r[h] for h in header] for r in rows]]))
    assert again == rows


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=2, max_size=2), min_size=1, max_size=6),
       st.integers(min_value=0, max_value=2), st.booleans(), HUGE)
def test_written_rows_read_back_the_same_or_as_a_sheet_error(
    rows: list[list[str]], blank_lines: int, bom: bool, huge: str | None
) -> None:
    if huge is not None:
        rows[-1][-1] = huge
    text = ("\ufeff" if bom else "") + written([["sample_id", "note"], *rows])
    text = text.replace("\r\n", "\r\n" + "\r\n" * blank_lines, 1) if blank_lines else text
    got = read(text)
    if got is None:
        return
    expected = [dict(zip(["sample_id", "note"], r, strict=True)) for r in rows
                if any(c.strip() for c in r)]
    assert got == expected
