"""The JSON schemas of the operations commands' ``--json`` output, read from
docs/operations.md (the document owns them), and a check that an output matches one."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
_BLOCK = re.compile(r"<!-- schema:([\w-]+) -->\n```json\n(.*?)\n```", re.S)


@cache
def schemas() -> dict[str, dict[str, Any]]:
    return {name: json.loads(body) for name, body in _BLOCK.findall(DOC.read_text())}


def check(name: str, document: Any) -> Any:
    """``document`` if it matches schema ``name``; jsonschema's ValidationError otherwise."""
    schema = schemas()[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    return document
