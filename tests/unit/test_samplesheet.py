"""One sample-sheet parser for start, run --local and the upload trigger: errors name the
file, line and column up front, not a failed execution later."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator_runtime.samplesheet import SampleSheetError as UsageError
from orchestrator_runtime.samplesheet import parse

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "rnaseq" / "samples.csv"


def test_the_example_sheet_gives_one_row_per_sample() -> None:
    rows = parse(EXAMPLE.read_text(), "samples.csv", "sample_id", ("sample_id", "condition"))
    assert [r["sample_id"] for r in rows] == ["S1", "S2", "S3"]
    assert all(r["condition"] for r in rows)


@pytest.mark.parametrize(("text", "message"), [
    ("name,condition\nS1,a\n", "sheet.csv:1: no column 'sample_id' (the workflow fans out "
                               "over it); the columns are: name, condition"),
    ("sample_id\nS1\n", "sheet.csv:1: no column 'condition' (a job uses it)"),
    ("sample_id,condition\nS1,a\n,b\n", "sheet.csv:3: column 'sample_id' is empty"),
    ("sample_id,condition\nS1,a\nS2,b\nS1,c\n", "sheet.csv:4: column 'sample_id': 'S1' repeats "
                                             "line 2"),
    ("sample_id,condition\nS1,a,extra\n", "sheet.csv:2: 3 fields, but the header has 2"),
    ("", "sheet.csv:1: the sample sheet is empty"),
    ("sample_id,condition\n\n", "sheet.csv: no samples below the header"),
    ("sample_id,sample_id\nS1,S1\n", "sheet.csv:1: column 'sample_id' appears twice"),
])
def test_a_bad_sheet_is_refused_naming_file_line_and_column(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, "sheet.csv", "sample_id", ("sample_id", "condition"))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_quoting_byte_order_mark_and_blank_lines_are_handled() -> None:
    text = '\ufeffsample_id, condition\n"S 1","treated, 2h"\n\n,\nS2,control\n'
    rows = parse(text, "s.csv", "sample_id")
    assert rows == [{"sample_id": "S 1", "condition": "treated, 2h"},
                    {"sample_id": "S2", "condition": "control"}]


def test_a_quoted_value_over_several_lines_is_refused_where_it_starts() -> None:
    # Deliberate change: multi-line values used to be accepted (and an unclosed quote then
    # swallowed the rows below it); a sample sheet value now fits on one line.
    text = 'sample_id,note\nS1,"two\nlines"\nS2,x\n'
    with pytest.raises(UsageError, match=r"s\.csv:2: column 2 \('note'\) holds a quoted value "
                                         r"that runs over 2 lines \(to line 3\)"):
        parse(text, "s.csv", "sample_id")
