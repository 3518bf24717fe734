"""The YAML writer: what it writes reads back as the same document, with comments and tags."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from templatekit import parse

from orchestrator.template.yamltext import Commented, to_yaml


def roundtrip(doc: dict[str, Any]) -> dict[str, Any]:
    return parse(to_yaml(doc))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_string_reads_back_unchanged(value: str) -> None:
    doc = {"Resources": {"R": {"Type": "X", "Properties": {"key": value, "list": [value]}}}}
    assert roundtrip(doc) == doc


def test_strings_yaml_would_retype_stay_strings() -> None:
    tricky = ["yes", "No", "on", "null", "~", "1", "0x1F", "1e3", "2012-10-17", "1:20", "*",
              "", " lead", "trail ", "a: b", "a #b", "-x", "!Ref X", "@at", "%p", "`b", "{x}",
              "[x]", "multi\nline", "tab\tin", "quote\"s", "back\\slash", "ünïcödé"]
    doc = {"Outputs": {f"O{i}": {"Value": v} for i, v in enumerate(tricky)}}
    assert roundtrip(doc) == doc


def test_intrinsic_functions_use_short_forms_and_mean_the_same() -> None:
    doc = {"Resources": {"R": {"Type": "X", "Properties": {
        "A": {"Ref": "P"},
        "B": {"Fn::GetAtt": ["Res", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"},
        "D": {"Fn::Sub": ["${x}-y", {"x": {"Ref": "P"}}]},
        "E": {"Fn::If": ["Cond", ["a", "b"], {"Ref": "AWS::NoValue"}]},
        "F": [{"Fn::If": ["Cond", {"k": {"Ref": "P"}}, {"Fn::Equals": [{"Ref": "P"}, "x"]}]}],
    }}}}
    text = to_yaml(doc)
    for tag in ("A: !Ref P", "B: !GetAtt Res.Arn", "C: !Sub arn:", "D: !Sub", "E: !If",
                "- !If", "!Equals"):
        assert tag in text
    assert roundtrip(doc) == doc


def test_comments_land_above_the_item_they_explain() -> None:
    doc = {"Resources": {"R": {"Type": "X", "Properties": {"Statement": [
        {"Effect": "Allow", "Resource": "arn:x"},
        Commented("why star\nsecond line", {"Effect": "Allow", "Resource": "*"}),
    ]}}}}
    lines = to_yaml(doc).splitlines()
    star = next(i for i, line in enumerate(lines) if line.strip() == "- Effect: Allow"
                and lines[i + 1].strip() == 'Resource: "*"')
    assert [line.strip() for line in lines[star - 2:star]] == ["# why star", "# second line"]
    assert roundtrip(doc) == json.loads(json.dumps(doc))


def test_long_comments_wrap_to_the_page_width() -> None:
    doc = {"Resources": {"R": Commented("word " * 60, {"Type": "X"})}}
    comments = [line for line in to_yaml(doc).splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 1 and all(len(line) <= 100 for line in comments)


def test_same_document_gives_identical_text() -> None:
    doc = {"B": {"z": 1, "a": [True, None, 1.5]}, "A": "x"}
    assert to_yaml(doc) == to_yaml(json.loads(json.dumps(doc)))
    assert to_yaml(doc).index("B:") < to_yaml(doc).index("A:")  # insertion order, not sorted
