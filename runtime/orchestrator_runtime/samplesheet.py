"""Sample sheets and sample rows: read and checked up front, so a bad sheet or row fails with
the file, line and column (or ``samples[i].column``) instead of a failed execution later.

Standard library only. One reader and one row check for every way a run starts: the
s3_trigger function, ``orchestrator start`` (sheet or JSON input), ``orchestrator run
--local``; the check function applies the same sample-id rule to each row it is given.

The reader is a strict RFC 4180 tokenizer (what ``csv.writer`` writes reads back the same),
written here rather than taken from :mod:`csv` so that every malformed sheet is a
:class:`SampleSheetError` naming the line and column: ``csv`` swallows the rows below an
unclosed quote into one value, and raises its own error, without a line, on a long field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator_runtime import contracts, limits

SHOWN = 3  # problems a message lists before "and N more"
_UNQUOTED = re.compile(r"[^,\r\n]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class SampleSheetError(ValueError):
    """Sample rows that cannot start a run; the message names the source, line and column."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        more = len(self.problems) - SHOWN
        super().__init__("; ".join(self.problems[:SHOWN]) + (f"; and {more} more"
                                                             if more > 0 else ""))


# One row ---------------------------------------------------------------------------------

def cell_text(value: Any) -> str | None:
    """A sample value as the text placed into paths and commands; None when it is a list or
    an object (only strings, numbers, booleans and null are values)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _control(text: str, pattern: re.Pattern[str] = _CONTROL) -> str:
    """`` contains the control character U+0007`` (with the position), or ""."""
    m = pattern.search(text)
    if m is None:
        return ""
    return (f"contains the control character U+{ord(m.group()):04X} at position "
            f"{m.start() + 1}; remove it")


def id_problem(sample_id: str) -> str:
    """Why ``sample_id`` cannot name a sample (it becomes one segment of every path of the
    sample, a job name and a tag), or "". Unicode letters and inner spaces are fine."""
    if not sample_id.strip():
        return "is empty; every sample needs an id"
    control = _control(sample_id)
    if control:
        return control
    if sample_id != sample_id.strip():
        return f"has a space at its start or end ({sample_id!r:.60}); remove it"
    if sample_id in (".", ".."):
        return (f"is {sample_id!r}, which a path reads as a folder, not a name; "
                "choose another id")
    if "/" in sample_id:
        return (f"contains '/' ({sample_id!r:.60}); a sample id becomes one part of a path, "
                "so it cannot hold '/'")
    return ""


@dataclass(frozen=True)
class Locator:
    """Where row ``i`` came from: a sheet's line, or ``samples[i]`` of a JSON input."""

    source: str
    lines: Sequence[int] | None = None

    def row(self, i: int) -> str:
        return f"line {self.lines[i]}" if self.lines is not None else (
            f"{contracts.SAMPLES_KEY}[{i}]")

    def at(self, i: int, column: str | None = None) -> str:
        if self.lines is not None:
            return f"{self.source}:{self.lines[i]}" + (f": column {column!r}" if column else "")
        return f"{self.source}: {contracts.SAMPLES_KEY}[{i}]" + (f".{column}" if column else "")


def _kind(value: Any) -> str:
    return {list: "a list", dict: "an object", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def row_problems(row: Any, i: int, where: Locator, column: str | None,
                 required: Sequence[str] = ()) -> list[str]:
    """Every problem of row ``i`` alone: its shape, its sample id, its values."""
    if not isinstance(row, Mapping):
        example = f'{{"{column or "sample_id"}": "S1"}}'
        return [f"{where.at(i)} is {_kind(row)}, not a row like {example}"]
    out = []
    for name in ([column] if column else []) + [c for c in required if c != column]:
        if name not in row:
            why = "the foreach column: the sample id" if name == column else "a job uses it"
            out.append(f"{where.at(i)} has no {name!r} ({why})")
    for key, value in row.items():
        text = cell_text(value)
        if text is None:
            out.append(f"{where.at(i, str(key))} is {_kind(value)}; sample values are strings "
                       "or numbers")
        elif key == column:
            problem = id_problem(text) if isinstance(value, str) else (
                "" if isinstance(value, int | float) and not isinstance(value, bool) else
                f"is {_kind(value)}; a sample id is a string or a number")
            if problem:
                out.append(f"{where.at(i, key)} {problem}")
        elif problem := _control(text, _CONTROL_BUT_TAB):
            out.append(f"{where.at(i, str(key))} {problem}")
    return out


def sample_id(row: Any, column: str) -> str | None:
    """The id of a row that has a usable one, else None."""
    if not isinstance(row, Mapping) or column not in row:
        return None
    value = row[column]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value)
    return None if id_problem(text) else text


def check_rows(rows: Any, column: str | None, required: Sequence[str] = (), *,
               where: Locator) -> list[dict[str, Any]]:
    """``rows`` when they can start a run: a list of objects, every one with the foreach
    ``column`` holding a valid, unique sample id and every ``required`` column, values
    strings or numbers. Otherwise SampleSheetError naming every row and column at fault."""
    if not isinstance(rows, list):
        raise SampleSheetError(f"{where.source}: {contracts.SAMPLES_KEY} is {_kind(rows)}; it "
                               f"must be a list of rows like [{{\"{column or 'sample_id'}\": "
                               "\"S1\"}]")
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        found = row_problems(row, i, where, column, required)
        problems += found
        if column and not found:
            sid = str(row[column])
            if sid in first:
                problems.append(f"{where.at(i, column)}: {sid!r:.60} repeats "
                                f"{where.row(first[sid])}; sample ids must be unique")
            first.setdefault(sid, i)
    if problems:
        raise SampleSheetError(problems)
    return rows


# A CSV sheet -------------------------------------------------------------------------------

class _CellError(Exception):
    def __init__(self, line: int, column: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.column, self.problem = line, column, problem


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each record; a record never spans lines (see _quoted)."""
    i, n, line = 0, len(text), 1
    while i < n:
        fields: list[str] = []
        while True:
            column = len(fields) + 1
            if text[i:i + 1] == '"':
                value, i = _quoted(text, i, line, column)
            else:
                end = _UNQUOTED.match(text, i)
                assert end is not None  # the pattern matches the empty string
                value, i = end.group(), end.end()
                if '"' in value:
                    raise _CellError(line, column, "has a quote inside a value that does not "
                                     "start with one; quote the whole value and double each "
                                     'quote inside it, e.g. "5"" disk"')
            if len(value) > limits.SHEET_CELL_CHARS:
                raise _CellError(line, column, f"holds {len(value):,} characters; a sample "
                                 f"sheet value has at most {limits.SHEET_CELL_CHARS:,}")
            fields.append(value)
            if text[i:i + 1] != ",":
                break
            i += 1
        i += 2 if text.startswith("\r\n", i) else 1 if i < n else 0
        yield line, fields
        line += 1


def _quoted(text: str, start: int, line: int, column: int) -> tuple[str, int]:
    """The value of the quoted field at ``start`` and the index after its closing quote."""
    parts: list[str] = []
    j = start + 1
    while True:
        k = text.find('"', j)
        if k < 0:
            raise _CellError(line, column, "opens a quote that is never closed, so every line "
                             "below it would be read into this one value; close the quote")
        parts.append(text[j:k])
        if text.startswith('"', k + 1):
            parts.append('"')
            j = k + 2
            continue
        value, end = "".join(parts), k + 1
        breaks = len(_LINE_BREAK.findall(value))
        if breaks:
            raise _CellError(line, column, f"holds a quoted value that runs over {breaks + 1} "
                             f"lines (to line {line + breaks}); a value must fit on one line, "
                             "so most likely a quote is not closed")
        if end < len(text) and text[end] not in ",\r\n":
            raise _CellError(line, column, "has text after its closing quote; quote the whole "
                             'value and double each quote inside it, e.g. "say ""hi"""')
        return value, end


def _blank(fields: Sequence[str]) -> bool:
    return not any(f.strip() for f in fields)


def parse(text: str, source: str, column: str | None = None,
          required: Sequence[str] = ()) -> list[dict[str, str]]:
    """Rows of a CSV sample sheet as dicts of strings (header names stripped of spaces).

    ``column`` is the workflow's foreach column: every row needs a valid, unique sample id
    there (see :func:`id_problem`); ``required`` are further columns the workflow's jobs use.
    Blank lines below the header are skipped; anything else wrong raises SampleSheetError.
    """
    header: list[str] = []
    try:
        records = _records(text.removeprefix("\ufeff"))
        header_line = 0
        blank_above: list[int] = []
        for line, fields in records:
            if _blank(fields):
                blank_above.append(line)
                continue
            header_line, header = line, [h.strip() for h in fields]
            break
        if not header_line:
            raise SampleSheetError(f"{source}:1: the sample sheet is empty; its first line "
                                   "names the columns, e.g. sample_id,condition")
        if blank_above:
            raise SampleSheetError(f"{source}:1: line 1 is blank, but the first line must be "
                                   f"the header (it is on line {header_line}); delete the "
                                   "blank lines above it")
        _check_header(header, source, header_line, column, required)
        rows: list[dict[str, str]] = []
        lines: list[int] = []
        for line, fields in records:
            if _blank(fields):
                continue
            if len(fields) != len(header):
                raise SampleSheetError(f"{source}:{line}: {len(fields)} fields, but the header "
                                       f"has {len(header)}; quote values that contain commas")
            rows.append(dict(zip(header, fields, strict=True)))
            lines.append(line)
    except _CellError as exc:
        name = f" ({header[exc.column - 1]!r})" if exc.column <= len(header) else ""
        raise SampleSheetError(f"{source}:{exc.line}: column {exc.column}{name} "
                               f"{exc.problem}") from None
    if not rows:
        raise SampleSheetError(f"{source}: no samples below the header line")
    check_rows(rows, column, required, where=Locator(source, lines))
    return rows


def _check_header(header: list[str], source: str, line: int, column: str | None,
                  required: Sequence[str]) -> None:
    seen: set[str] = set()
    for k, name in enumerate(header, start=1):
        if not name:
            raise SampleSheetError(f"{source}:{line}: column {k} has no name; name it, or "
                                   "delete the empty column (a comma too many?)")
        if problem := _control(name):
            raise SampleSheetError(f"{source}:{line}: column {k} {problem}")
        if name in seen:
            raise SampleSheetError(f"{source}:{line}: column {name!r} appears twice in the "
                                   "header")
        seen.add(name)
    for name in ([column] if column else []) + [c for c in required if c != column]:
        if name not in seen:
            why = "the workflow fans out over it" if name == column else "a job uses it"
            raise SampleSheetError(f"{source}:{line}: no column {name!r} ({why}); the columns "
                                   "are: " + ", ".join(header))
