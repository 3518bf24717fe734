"""Why a stage is stale (orchestrator_runtime.why): the marker's recorded basis against the
stage now, named part by part in one line."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator_runtime import contracts
from orchestrator_runtime.resolve import Stage
from orchestrator_runtime.why import differences, stale_reason

BUCKET = "s3://b/wf"


def stage(**changes: Any) -> Stage:
    job: contracts.JobSpec = {
        "image": "python:3.12", "command": ["align {inputs.reads} > {outputs.bam}"],
        "environment": {"THREADS": "4", "MODE": "fast"},
        "inputs": {"reads": "raw/{sample_id}.fq", "ref": "ref/{genome}.fa"},
        "outputs": {"bam": "bam/{sample_id}.bam"}, "bucket": BUCKET, "allow_empty": False,
        "shell": True, "stdout": None,
    }
    fields: dict[str, Any] = {
        "workflow": "wf", "stage": "align", "execution": "arn:x:plan", "sample_id": "S1",
        "job": job, "values": {"genome": "GRCh38", "sample_id": "S1"},
        "inputs": {"reads": [f"{BUCKET}/raw/S1.fq"], "ref": [f"{BUCKET}/ref/GRCh38.fa"]},
        "outputs": {"bam": f"{BUCKET}/bam/S1.bam"},
    }
    for key, value in changes.items():
        if key in ("image", "command", "environment"):
            job[key] = value  # type: ignore[literal-required]
        else:
            fields[key] = value
    return Stage(**fields)


INPUT_ETAGS = {"reads": ["r1"], "ref": ["g1"]}
OUTPUT_ETAGS: dict[str, str | None] = {"bam": "o1"}


def marker(of: Stage | None = None, etags: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A marker as the runner writes it for ``of`` (default: the stage as it was)."""
    st = of or stage()
    return {"version": contracts.CONTRACT_VERSION, "fingerprint": "f" * 64, "stage": st.stage,
            "sample": st.sample, "execution": "arn:x:run", "finished_at": "2026-01-01T00:00:00Z",
            "outputs": {"bam": {"uri": st.outputs["bam"], "etag": '"o1"', "size": 10}},
            "basis": st.fingerprint_basis(),
            "input_etags": copy.deepcopy(etags or INPUT_ETAGS)}


def test_nothing_changed_names_nothing() -> None:
    assert differences(stage(), INPUT_ETAGS, OUTPUT_ETAGS, marker()) == []


@pytest.mark.parametrize(("now", "expected"), [
    (stage(command=["align --fast {inputs.reads} > {outputs.bam}"]), "command changed"),
    (stage(image="python:3.13"), "image changed (python:3.12 -> python:3.13)"),
    (stage(environment={"THREADS": "8", "MODE": "fast"}), "environment THREADS changed"),
    (stage(environment={"THREADS": "4"}), "environment MODE removed"),
    (stage(environment={"THREADS": "4", "MODE": "fast", "DEBUG": "1"}),
     "environment DEBUG added"),
    (stage(values={"genome": "GRCh39", "sample_id": "S1"}),
     "value {genome} changed (GRCh38 -> GRCh39)"),
], ids=["command", "image", "env-changed", "env-removed", "env-added", "value"])
def test_each_part_of_the_basis_is_named(now: Stage, expected: str) -> None:
    assert stale_reason(now, INPUT_ETAGS, OUTPUT_ETAGS, marker()) == expected


def test_new_input_bytes_name_the_input_and_the_object() -> None:
    reason = stale_reason(stage(), {"reads": ['"r2"'], "ref": ["g1"]}, OUTPUT_ETAGS, marker())
    assert reason == "input reads: bytes of raw/S1.fq changed"


def test_an_output_edited_after_the_marker_is_named() -> None:
    assert stale_reason(stage(), INPUT_ETAGS, {"bam": "o2"}, marker()) == (
        "output bam changed after the marker")


def test_a_gathered_input_names_the_objects_added_and_changed() -> None:
    old = stage(sample_id=None, inputs={"bams": [f"{BUCKET}/bam/S1.bam", f"{BUCKET}/bam/S2.bam"]})
    now = stage(sample_id=None, inputs={"bams": [f"{BUCKET}/bam/S1.bam", f"{BUCKET}/bam/S2.bam",
                                                  f"{BUCKET}/bam/S3.bam"]})
    reason = stale_reason(now, {"bams": ["a", "B", "c"]}, OUTPUT_ETAGS,
                          marker(old, {"bams": ["a", "b"]}))
    assert reason == ("input bams: 1 object(s) added (bam/S3.bam); "
                      "input bams: bytes of bam/S2.bam changed")


def test_a_moved_input_or_output_names_both_paths() -> None:
    now = stage(inputs={"reads": [f"{BUCKET}/raw2/S1.fq"], "ref": [f"{BUCKET}/ref/GRCh38.fa"]},
                outputs={"bam": f"{BUCKET}/out/S1.bam"})
    assert differences(now, INPUT_ETAGS, OUTPUT_ETAGS, marker()) == [
        "input reads now reads raw2/S1.fq (was raw/S1.fq)",
        "output bam now written to out/S1.bam (was bam/S1.bam)"]


def test_several_differences_come_in_one_line_in_a_fixed_order() -> None:
    now = stage(command=["x"], environment={"THREADS": "8", "MODE": "fast"})
    reason = stale_reason(now, {"reads": ["r2"], "ref": ["g1"]}, OUTPUT_ETAGS, marker())
    assert reason == ("command changed; environment THREADS changed; "
                      "input reads: bytes of raw/S1.fq changed")
    assert "\n" not in stale_reason(stage(values={"genome": "a\nb", "sample_id": "S1"}),
                                    INPUT_ETAGS, OUTPUT_ETAGS, marker())


def test_a_marker_from_an_older_runner_says_it_cannot_tell() -> None:
    old = {k: v for k, v in marker().items() if k not in ("basis", "input_etags")}
    reason = stale_reason(stage(command=["x"]), INPUT_ETAGS, OUTPUT_ETAGS, old)
    assert "does not record what made it" in reason and "older runner" in reason
    # what the marker does record (the outputs' ETags) is still compared
    assert stale_reason(stage(), INPUT_ETAGS, {"bam": "o2"}, old) == (
        "output bam changed after the marker")


@pytest.mark.parametrize("body", [{}, {"basis": "x", "input_etags": [1], "outputs": 3},
                                  {"basis": {"inputs": {"reads": "raw/S1.fq"}},
                                   "input_etags": {"reads": "r1"}}])
def test_a_malformed_marker_gives_a_line_not_an_error(body: dict[str, Any]) -> None:
    reason = stale_reason(stage(), INPUT_ETAGS, OUTPUT_ETAGS, body)
    assert reason and "\n" not in reason
