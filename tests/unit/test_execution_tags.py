"""Execution names become Batch tag values (``orchestrator:execution``): a name typed in the
console may hold characters a tag value cannot, so the tag is sanitised, and the execution's
ARN is found again from the job's task URI (job_events)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

MACHINE = "arn:aws:states:eu-west-1:123456789012:execution:RnaseqStateMachine-a1B2c3D4e5F6"
# What Step Functions refuses in a name (StartExecution "name"): whitespace, brackets,
# wildcards, special characters and control characters.
FORBIDDEN = set(" \t\n<>{}[]?*\"#%\\^|~`$&,;:/") | {chr(i) for i in range(32)} | {"\x7f"}
TAG_VALUE = re.compile(r"[A-Za-z0-9 +\-=._:/@]*")
names = st.text(st.characters(codec="utf-8", exclude_characters="".join(FORBIDDEN)),
                min_size=1, max_size=limits.EXECUTION_NAME_CHARS)


def test_an_arn_that_is_a_tag_value_is_its_own_tag() -> None:
    arn = f"{MACHINE}:rnaseq-5f1c2a9e0b7d4c3e8a6f1b2d"
    assert c.execution_tag(arn) == arn
    assert c.execution_from_tag(arn, "anything") == arn


@settings(max_examples=300, deadline=None)
@given(name=names)
def test_every_execution_name_gives_a_valid_tag_that_leads_back_to_its_arn(name: str) -> None:
    arn = f"{MACHINE}:{name}"
    tag = c.execution_tag(arn)
    assert TAG_VALUE.fullmatch(tag) and len(tag) <= limits.TAG_VALUE_CHARS
    uri = c.task_uri("s3://bucket/prefix", name, "qc", "S1")
    assert c.run_name(uri) == name
    assert c.execution_from_tag(tag, c.run_name(uri)) == arn


@settings(max_examples=200, deadline=None)
@given(a=names, b=names)
def test_two_runs_never_share_a_tag(a: str, b: str) -> None:
    if a != b:
        assert c.execution_tag(f"{MACHINE}:{a}") != c.execution_tag(f"{MACHINE}:{b}")
        tag = c.execution_tag(f"{MACHINE}:{a}")
        assert c.execution_from_tag(tag, b) in (None, tag)  # never another run's ARN


def test_the_run_name_is_read_from_task_and_manifest_uris_only() -> None:
    assert c.run_name(c.plan_prefix("s3://b/p", "run!(1)", "qc") + c.MANIFEST) == "run!(1)"
    assert c.run_name("s3://b/p/qc/S1.json") == ""
    assert c.run_name("") == ""
