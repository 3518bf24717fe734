"""Resolving a request: clear errors for typos and escapes, only used values in the task."""

from __future__ import annotations

import pytest
from stagekit import PREFIX, job, request

from orchestrator_runtime import contracts
from orchestrator_runtime.resolve import BadCheckRequest, resolve


def test_params_and_sample_columns_fill_paths() -> None:
    spec = job(inputs={"ref": "reference/{genome}/genes.tsv", "reads": "raw/{sample_id}.fq"},
               outputs={"counts": "counts/{genome}/{sample_id}.tsv"},
               command=["count", "{inputs.ref}", "{inputs.reads}", "{outputs.counts}"])

    stage = resolve(request(spec=spec, params={"genome": "GRCh38"}))

    assert stage.inputs == {"ref": [f"{PREFIX}/reference/GRCh38/genes.tsv"],
                            "reads": [f"{PREFIX}/raw/S1.fq"]}
    assert stage.outputs == {"counts": f"{PREFIX}/counts/GRCh38/S1.tsv"}
    assert stage.values == {"genome": "GRCh38", "sample_id": "S1"}


def test_params_from_the_input_override_declared_defaults() -> None:
    spec = job(outputs={"stats": "qc/{genome}/{top}/{sample_id}.tsv"})

    stage = resolve(request(spec=spec, params={"top": 10},
                            param_defaults={"genome": "GRCh38", "top": "5"}))

    assert stage.outputs["stats"] == f"{PREFIX}/qc/GRCh38/10/S1.tsv"


def test_unrelated_sheet_column_does_not_change_the_fingerprint() -> None:
    a = resolve(request(sample={"sample_id": "S1", "condition": "treated"}))
    b = resolve(request(sample={"sample_id": "S1", "condition": "control"}))

    assert a.fingerprint_basis() == b.fingerprint_basis()


def test_used_sheet_column_changes_the_fingerprint() -> None:
    spec = job(command=["count", "--cond", "{condition}", "{inputs.reads}", "{outputs.stats}"])
    a = resolve(request(spec=spec, sample={"sample_id": "S1", "condition": "treated"}))
    b = resolve(request(spec=spec, sample={"sample_id": "S1", "condition": "control"}))

    assert a.fingerprint_basis() != b.fingerprint_basis()


def test_numbers_in_the_sheet_become_strings() -> None:
    spec = job(outputs={"stats": "qc/{sample_id}-{lane}.tsv"})

    stage = resolve(request(spec=spec, sample={"sample_id": "S1", "lane": 3}))

    assert stage.outputs["stats"].endswith("/qc/S1-3.tsv")
    assert stage.values["lane"] == "3"


def test_unknown_placeholder_names_stage_field_and_placeholder() -> None:
    spec = job(outputs={"stats": "qc/{sampleid}.tsv"})

    with pytest.raises(BadCheckRequest) as caught:
        resolve(request(spec=spec))

    message = str(caught.value)
    assert "stage qc, sample S1" in message
    assert "output 'stats'" in message
    assert "{sampleid}" in message
    assert "sample_id" in message  # the names it could have meant


def test_command_referring_to_an_undeclared_input_is_rejected() -> None:
    spec = job(command=["count", "{inputs.read}"])

    with pytest.raises(BadCheckRequest) as caught:
        resolve(request(spec=spec))

    assert "command[1] uses unknown placeholder {inputs.read}" in str(caught.value)
    assert "declares {inputs.reads}, {outputs.stats}" in str(caught.value)


def test_sample_value_cannot_escape_the_prefix() -> None:
    # The sample id is refused by the id rule first (it is one path segment); another column
    # used in a path is stopped by the prefix check.
    with pytest.raises(BadCheckRequest, match="sample column 'sample_id' contains '/'"):
        resolve(request(sample={"sample_id": "../../etc/passwd"}))
    spec = job(inputs={"reads": "raw/{condition}/{sample_id}.fq"})
    with pytest.raises(BadCheckRequest, match="leaves the workflow's bucket prefix") as caught:
        resolve(request(spec=spec, sample={"sample_id": "S1", "condition": "../../../etc"}))

    assert "'condition': '../../../etc'" in str(caught.value)


def test_absolute_s3_paths_are_kept() -> None:
    spec = job(inputs={"reads": "s3://shared-data/{sample_id}.fq"})

    assert resolve(request(spec=spec)).inputs["reads"] == ["s3://shared-data/S1.fq"]


def test_once_stage_may_not_use_a_sample_column_in_an_output() -> None:
    spec = job(inputs={}, outputs={"table": "report/{sample_id}.tsv"}, command=["x"])

    with pytest.raises(BadCheckRequest, match="runs once for all samples"):
        resolve(request(spec=spec, once=True, samples=[{"sample_id": "S1"}]))


def test_gathering_input_needs_samples() -> None:
    spec = job(outputs={"table": "report/all.tsv"}, command=["x"])

    with pytest.raises(BadCheckRequest, match="execution input has no samples"):
        resolve(request(spec=spec, once=True, samples=[]))


def test_foreach_column_must_be_named_when_the_row_has_several() -> None:
    req = request()
    del req["sample_column"]

    with pytest.raises(BadCheckRequest, match="sample_column is missing"):
        resolve(req)


def test_sample_ids_unsafe_for_names_get_distinct_labels() -> None:
    spec = job(outputs={"stats": "qc/{sample_id}.tsv"})
    a = resolve(request(spec=spec, sample={"sample_id": "patient 1:a"}))
    b = resolve(request(spec=spec, sample={"sample_id": "patient 1-a"}))

    assert a.sample != b.sample
    assert a.job_name != b.job_name
    assert a.outputs["stats"] == f"{PREFIX}/qc/patient 1:a.tsv"
    assert a.marker_folder.endswith(f"/markers/rnaseq/qc/{a.sample}/")


def test_task_document_matches_the_contract_keys() -> None:
    task = resolve(request()).task()

    assert set(task) == set(contracts.RunnerTask.__annotations__)


@pytest.mark.parametrize(("sample_id", "problem"), [
    ("", "is empty"), ("   ", "is empty"), ("a/b", "contains '/'"), (".", "is '.'"),
    ("..", "is '..'"), (" S1", "space at its start or end"), ("S1\t", "U+0009"),
    ("S\x001", "U+0000"), ("S1\n", "U+000A"),
])
def test_a_row_with_an_unusable_sample_id_fails_its_check_naming_the_problem(
    sample_id: str, problem: str
) -> None:
    with pytest.raises(BadCheckRequest, match="sample column 'sample_id' ") as caught:
        resolve(request(sample={"sample_id": sample_id}))

    assert problem in str(caught.value)


@pytest.mark.parametrize("sample_id", ["patient 7", "échantillon-ü", "患者-1", "S 1 b"])
def test_unicode_and_inner_spaces_stay_valid_sample_ids(sample_id: str) -> None:
    assert resolve(request(sample={"sample_id": sample_id})).sample_id == sample_id
