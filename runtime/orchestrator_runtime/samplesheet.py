"""Sample sheets (CSV) as execution input: one row per sample, read and checked up front so a
bad sheet fails with file, line and column instead of a failed execution later.

Standard library only: the s3_trigger function, `orchestrator start` and the local engine
all read sheets through :func:`parse`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence


class SampleSheetError(ValueError):
    """A sheet that does not fit the workflow; the message names the source, line, column."""


def parse(text: str, source: str, column: str | None = None,
          required: Sequence[str] = ()) -> list[dict[str, str]]:
    """Rows of a CSV sample sheet as dicts of strings.

    ``column`` is the workflow's foreach column: it must exist, be non-empty on every row and
    unique; ``required`` are further columns the workflow's jobs use.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise SampleSheetError(f"{source}:1: the sample sheet is empty; its first line names the "
                         "columns, e.g. sample_id,condition")
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise SampleSheetError(f"{source}:1: column {h!r} appears twice in the header")
        seen.add(h)
    for name in ([column] if column else []) + [c for c in required if c != column]:
        if name not in seen:
            why = "the workflow fans out over it" if name == column else "a job uses it"
            raise SampleSheetError(f"{source}:1: no column {name!r} ({why}); the columns are: "
                             + ", ".join(header))
    rows: list[dict[str, str]] = []
    first: dict[str, int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise SampleSheetError(f"{source}:{line}: {len(fields)} fields, but the header has "
                             f"{len(header)}; quote values that contain commas")
        row = dict(zip(header, fields, strict=True))
        if column:
            value = row[column].strip()
            if not value:
                raise SampleSheetError(f"{source}:{line}: column {column!r} is empty; every sample "
                                 "needs one")
            if value in first:
                raise SampleSheetError(f"{source}:{line}: {column} {value!r} repeats line "
                                 f"{first[value]}; sample ids must be unique")
            first[value] = line
            row[column] = value
        rows.append(row)
    if not rows:
        raise SampleSheetError(f"{source}: no samples below the header line")
    return rows
