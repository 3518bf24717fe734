"""The job runner in manifest mode: an array child runs exactly its sample's line.

Each test writes an array stage's plan as the check function does (the stage document and a
manifest of padded lines, side by side in S3) and runs the runner as Batch would, through its
environment, or by hand with ``--manifest/--line``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator_runtime import contracts
from orchestrator_runtime.runner import execute, main
from orchestrator_runtime.runner_errors import EXIT_TASK_INVALID
from orchestrator_runtime.runner_manifest import LineSource, line_source

BUCKET = "manifest-test"
PLAN = f"s3://{BUCKET}/wf/_orchestrator/tasks/run-1/count/_array/"
MANIFEST = PLAN + contracts.MANIFEST
SAMPLES = ["S1", "S2", "S3"]


def stage_doc(bucket: str = f"s3://{BUCKET}/wf", **job: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": "img", "command": ["printf '%s %s' {sample_id} {greeting} > {outputs.out}"],
        "environment": {}, "inputs": {}, "outputs": {"out": "out/{sample_id}.txt"},
        "bucket": bucket, "allow_empty": False, "shell": True, "stdout": None, **job}
    return {"action": "pre", "workflow": "wf", "stage": "count",
            "execution": "arn:aws:states:us-east-1:123456789012:execution:wf:run-1",
            "sample_column": "sample_id", "params": {}, "param_defaults": {"greeting": "hi"},
            "job": spec}


def manifest_lines(samples: list[str] = SAMPLES) -> list[contracts.ManifestLine]:
    return [contracts.ManifestLine(index=i, sample=s, row={"sample_id": s, "pad": "x" * i})
            for i, s in enumerate(samples)]


class Spy:
    """An S3 client that records the GetObject calls it passes on."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gets: list[tuple[str, str | None]] = []

    def get_object(self, **kw: Any) -> Any:
        self.gets.append((kw["Key"], kw.get("Range")))
        return self.client.get_object(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, uri: str, body: bytes) -> None:
    bucket, key = contracts.split_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def plan(s3: Any, doc: Any = None, lines: list[contracts.ManifestLine] | None = None) -> int:
    data, width = contracts.encode_manifest(manifest_lines() if lines is None else lines)
    put(s3, MANIFEST, data)
    put(s3, PLAN + contracts.STAGE_DOC,
        doc if isinstance(doc, bytes) else json.dumps(doc or stage_doc()).encode())
    return width


def env(width: int, offset: int, index: int | None) -> dict[str, str]:
    out = {contracts.MANIFEST_ENV: MANIFEST, contracts.MANIFEST_WIDTH_ENV: str(width),
           contracts.MANIFEST_OFFSET_ENV: str(offset)}
    if index is not None:
        out[contracts.ARRAY_INDEX_ENV] = str(index)
    return out


def run(source: LineSource, s3: Any, tmp_path: Path) -> tuple[int, str]:
    err = io.BytesIO()
    code = execute(source, s3=s3, scratch=tmp_path, out=io.BytesIO(), err=err)
    return code, err.getvalue().decode()


def read(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def markers(s3: Any, sample: str) -> list[str]:
    prefix = f"wf/_orchestrator/markers/wf/count/{sample}/"
    return [o["Key"][len(prefix):] for o in
            s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


@pytest.mark.parametrize(("offset", "index", "sample"), [(1, 1, "S3"), (0, 1, "S2"),
                                                         (1, None, "S2"), (0, None, "S1")])
def test_a_child_runs_the_line_at_offset_plus_its_array_index(
    s3: Any, tmp_path: Path, offset: int, index: int | None, sample: str
) -> None:
    width = plan(s3)
    spy = Spy(s3)
    source = line_source(env(width, offset, index))
    assert source is not None

    code, err = run(source, spy, tmp_path)

    assert code == 0, err
    assert read(s3, f"wf/out/{sample}.txt") == f"{sample} hi".encode()
    assert [contracts.parse_marker_name(m) is not None for m in markers(s3, sample)] == [True]
    assert [s for s in SAMPLES if s != sample and markers(s3, s)] == []
    line = SAMPLES.index(sample)
    assert f"line {line} (offset {offset}" in err and f"sample {sample}" in err
    manifest_key = contracts.split_uri(MANIFEST)[1]
    assert [r for k, r in spy.gets if k == manifest_key] == [
        contracts.manifest_range(line, width)]  # one ranged read of its own line only


def test_the_marker_is_the_one_a_pre_check_of_that_sample_would_look_for(
    s3: Any, tmp_path: Path
) -> None:
    from orchestrator_runtime.resolve import resolve

    width = plan(s3)
    source = line_source(env(width, 0, 2))
    assert source is not None
    assert run(source, s3, tmp_path)[0] == 0

    expected = resolve({**stage_doc(), "sample": manifest_lines()[2]["row"]})  # type: ignore[typeddict-item]
    bucket, prefix = contracts.split_uri(expected.marker_folder)
    [marker] = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    body = json.loads(read(s3, marker["Key"]))
    assert (body["stage"], body["sample"], body["execution"]) == (
        "count", "S3", stage_doc()["execution"])


def test_main_reads_the_environment_batch_sets(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfdbinary: Any
) -> None:
    width = plan(s3)
    for key, value in env(width, 2, 0).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(contracts.TASK_ENV, raising=False)

    assert main(["--scratch", str(tmp_path)]) == 0
    assert read(s3, "wf/out/S3.txt") == b"S3 hi"


def test_by_hand_a_local_plan_runs_with_manifest_and_line(
    tmp_path: Path, capfdbinary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in (contracts.MANIFEST_ENV, contracts.MANIFEST_WIDTH_ENV, contracts.TASK_ENV,
                contracts.MANIFEST_OFFSET_ENV, contracts.ARRAY_INDEX_ENV):
        monkeypatch.delenv(key, raising=False)
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    data, _ = contracts.encode_manifest(manifest_lines())
    (plan_dir / contracts.MANIFEST).write_bytes(data)
    (plan_dir / contracts.STAGE_DOC).write_text(json.dumps(stage_doc(str(tmp_path / "bucket"))))

    code = main(["--manifest", str(plan_dir / contracts.MANIFEST), "--line", "1",
                 "--scratch", str(tmp_path / "scratch")])

    err = capfdbinary.readouterr().err.decode()
    assert code == 0, err
    assert (tmp_path / "bucket" / "out" / "S2.txt").read_text() == "S2 hi"
    assert "line 1 (--line 1): stage count, sample S2" in err
    assert list((tmp_path / "bucket" / "_orchestrator" / "markers" / "wf" / "count").iterdir()
                ) == [tmp_path / "bucket" / "_orchestrator" / "markers" / "wf" / "count" / "S2"]


# What goes wrong: one line, exit 4, no traceback -----------------------------------------

def one_failure(code: int, err: str) -> str:
    assert code == EXIT_TASK_INVALID, err
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if x.startswith(contracts.RUNNER_COMMAND)]
    return line


def test_a_line_past_the_manifest_names_its_length(s3: Any, tmp_path: Path) -> None:
    width = plan(s3)
    source = line_source(env(width, 2, 5))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert "line 7 (offset 2 + array index 5) is past the end (it holds 3 line(s)" in line


@pytest.mark.parametrize(("width", "says"), [
    ("abc", "ORCH_MANIFEST_WIDTH is 'abc'; it must be a whole number from 2 to 16777216"),
    ("1", "ORCH_MANIFEST_WIDTH is '1'"),
    ("-5", "ORCH_MANIFEST_WIDTH is '-5'"),
])
def test_a_width_that_is_not_a_number_is_refused_before_any_read(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: Any, width: str, says: str
) -> None:
    monkeypatch.delenv(contracts.TASK_ENV, raising=False)
    for key, value in {**env(10, 0, 0), contracts.MANIFEST_WIDTH_ENV: width}.items():
        monkeypatch.setenv(key, value)
    code = main([])
    assert says in one_failure(code, capfdbinary.readouterr().err.decode())


@pytest.mark.parametrize("delta", [-1, 1, 7])
def test_a_wrong_width_is_named(s3: Any, tmp_path: Path, delta: int) -> None:
    width = plan(s3)
    source = line_source(env(width + delta, 0, 1))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert f"ORCH_MANIFEST_WIDTH={width + delta}" in line


def test_an_unparsable_line_is_named(s3: Any, tmp_path: Path) -> None:
    width = plan(s3)
    put(s3, MANIFEST, b"{not json".ljust(width - 1) + b"\n")
    source = line_source(env(width, 0, 0))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert f"{MANIFEST}: line 0 is not a manifest line" in line


@pytest.mark.parametrize(("doc", "says"), [
    (b"{oops", "is not valid JSON"),
    (json.dumps([1]).encode(), "must be a JSON object, got list"),
    (stage_doc(command=[]), "field 'job.command' must be a non-empty list of strings"),
    ({**stage_doc(), "job": None}, "field 'job' must be an object"),
    ({**stage_doc(), "stage": ""}, "field 'stage' must be a non-empty string"),
    ({**stage_doc(), "sample": {"sample_id": "S9"}}, "field 'sample' must be absent"),
    (stage_doc(command=["echo {nope} > {outputs.out}"]), "unknown placeholder {nope}"),
])
def test_a_bad_stage_document_is_named(s3: Any, tmp_path: Path, doc: Any, says: str) -> None:
    width = plan(s3, doc)
    source = line_source(env(width, 0, 0))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert says in line


def test_a_line_whose_sample_disagrees_with_its_row_is_refused(s3: Any, tmp_path: Path) -> None:
    lines = manifest_lines()
    lines[1] = contracts.ManifestLine(index=1, sample="S9", row={"sample_id": "S2"})
    width = plan(s3, lines=lines)
    source = line_source(env(width, 0, 1))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert "names sample 'S9' but its row is sample 'S2'" in line
    assert markers(s3, "S2") == [] and markers(s3, "S9") == []


def test_a_missing_manifest_is_a_task_error(s3: Any, tmp_path: Path) -> None:
    source = line_source(env(100, 0, 0))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert f"cannot read manifest {MANIFEST}: NoSuchKey" in line


def test_a_missing_stage_document_is_a_task_error(s3: Any, tmp_path: Path) -> None:
    width = plan(s3)
    s3.delete_object(Bucket=BUCKET, Key=contracts.split_uri(PLAN + contracts.STAGE_DOC)[1])
    source = line_source(env(width, 0, 0))
    assert source is not None
    line = one_failure(*run(source, s3, tmp_path))
    assert f"cannot read stage document {PLAN}{contracts.STAGE_DOC}: NoSuchKey" in line


@pytest.mark.parametrize(("argv", "says"), [
    (["--line", "3"], "--line and --width read a manifest: pass --manifest"),
    (["--task", "t.json", "--manifest", "m.jsonl"], "pass --task or --manifest, not both"),
    (["--manifest", "m.jsonl", "--line", "-1"], "--line is -1"),
])
def test_flags_that_do_not_fit_together(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: Any, argv: list[str], says: str
) -> None:
    for key in (contracts.MANIFEST_ENV, contracts.TASK_ENV):
        monkeypatch.delenv(key, raising=False)
    code = main(argv)
    assert says in one_failure(code, capfdbinary.readouterr().err.decode())


def test_a_uri_without_a_width_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                                       capfdbinary: Any) -> None:
    monkeypatch.delenv(contracts.TASK_ENV, raising=False)
    monkeypatch.delenv(contracts.MANIFEST_WIDTH_ENV, raising=False)
    monkeypatch.setenv(contracts.MANIFEST_ENV, MANIFEST)
    code = main([])
    assert "ORCH_MANIFEST_WIDTH is not" in one_failure(code, capfdbinary.readouterr().err.decode())
