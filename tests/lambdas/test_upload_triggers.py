"""Uploads start runs: one per object version, safe with any key, sheets checked first."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator_runtime import contracts, triggers

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

BUCKET = "orchestrator-test"


@pytest.fixture
def machine(sfn: SFNClient) -> str:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    return sfn.create_state_machine(
        name="rnaseq", definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]


def key_trigger(machine: str, pattern: str = "raw/{sample_id}.fastq.gz") -> contracts.TriggerConfig:
    return contracts.TriggerConfig(workflow="rnaseq", state_machine_arn=machine, kind="key",
                             bucket=f"s3://{BUCKET}/rnaseq", pattern=pattern,
                             sample_column="sample_id")


def sheet_trigger(machine: str) -> contracts.TriggerConfig:
    return contracts.TriggerConfig(workflow="rnaseq", state_machine_arn=machine, kind="sheet",
                             bucket=f"s3://{BUCKET}/rnaseq", prefix="sheets/", suffix=".csv",
                             sample_column="sample_id")


def executions(sfn: SFNClient, machine: str) -> list[dict[str, Any]]:
    """The runs' inputs, without the per-request trigger record."""
    found = sfn.list_executions(stateMachineArn=machine)["executions"]
    docs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
            for e in found]
    return [{k: v for k, v in doc.items() if k != triggers.TRIGGER_KEY} for doc in docs]


def upload(sfn: SFNClient, s3: S3Client, trigger: contracts.TriggerConfig, key: str,
           body: bytes = b"reads") -> triggers.Result:
    etag = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
    return triggers.on_object_created(sfn, s3, [trigger], bucket=BUCKET, key=key, etag=etag)


@pytest.mark.parametrize("sample", [
    "S1", "patient 7", "échantillon-ü", "a;rm -rf $HOME`x`|&", "x" * 900, "'quoted\"",
])
def test_any_key_under_the_prefix_starts_one_run_with_its_sample(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str, sample: str
) -> None:
    result = upload(sfn, s3, key_trigger(machine), f"rnaseq/raw/{sample}.fastq.gz")

    assert [s.samples for s in result.started] == [1]
    assert executions(sfn, machine) == [{"samples": [{"sample_id": sample}], "params": {}}]


def test_repeated_event_for_one_object_version_starts_one_run(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    trigger = key_trigger(machine)
    first = upload(sfn, s3, trigger, "rnaseq/raw/S1.fastq.gz")
    etag = s3.head_object(Bucket=BUCKET, Key="rnaseq/raw/S1.fastq.gz")["ETag"].strip('"')
    while_running = triggers.on_object_created(sfn, s3, [trigger], bucket=BUCKET,
                                               key="rnaseq/raw/S1.fastq.gz", etag=etag)
    [run] = sfn.list_executions(stateMachineArn=machine)["executions"]
    sfn.stop_execution(executionArn=run["executionArn"])
    after_it_ended = triggers.on_object_created(sfn, s3, [trigger], bucket=BUCKET,
                                                key="rnaseq/raw/S1.fastq.gz", etag=etag)

    assert [s.already_existed for s in first.started] == [False]
    assert [s.execution_name for s in while_running.started] == [run["name"]]
    assert [s.already_existed for s in while_running.started] == [True]  # not a new start
    assert [s.already_existed for s in after_it_ended.started] == [True]
    assert len(executions(sfn, machine)) == 1


def test_a_run_records_the_object_that_started_it(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    upload(sfn, s3, key_trigger(machine), "rnaseq/raw/S1.fastq.gz")

    [run] = sfn.list_executions(stateMachineArn=machine)["executions"]
    doc = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
    assert doc[triggers.TRIGGER_KEY]["object"] == f"s3://{BUCKET}/rnaseq/raw/S1.fastq.gz"


def test_new_version_of_an_object_starts_another_run(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    upload(sfn, s3, key_trigger(machine), "rnaseq/raw/S1.fastq.gz", b"v1")
    upload(sfn, s3, key_trigger(machine), "rnaseq/raw/S1.fastq.gz", b"v2")

    assert len(executions(sfn, machine)) == 2


@pytest.mark.parametrize("key", [
    "rnaseq/raw/../raw/S1.fastq.gz",  # a '..' segment
    "rnaseq/raw/./S1.fastq.gz",
    "other/raw/S1.fastq.gz",  # outside the workflow's prefix
    "rnaseq/raw/sub/S1.fastq.gz",  # a placeholder never spans a '/'
    "rnaseq/raw/S1.fastq",  # no match
    "rnaseq/_orchestrator/raw/S1.fastq.gz",
])
def test_unsafe_or_unmatched_keys_start_nothing(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str, key: str
) -> None:
    trigger = key_trigger(machine, "{area}/{sample_id}.fastq.gz" if "_orch" in key
                          else "raw/{sample_id}.fastq.gz")
    result = upload(sfn, s3, trigger, key)

    assert result.started == []
    assert len(result.ignored) == 1
    assert executions(sfn, machine) == []


def test_a_1024_character_key_is_matched(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    sample = "s" * (1024 - len("rnaseq/raw/.fastq.gz"))
    result = upload(sfn, s3, key_trigger(machine), f"rnaseq/raw/{sample}.fastq.gz")

    assert len(result.started) == 1


def test_repeated_placeholder_must_agree() -> None:
    rx = triggers.pattern_regex("{run}/{sample_id}/{sample_id}.fq")

    assert rx.fullmatch("r1/S1/S1.fq") is not None
    assert rx.fullmatch("r1/S1/S2.fq") is None


def test_sample_sheet_starts_one_run_over_all_rows(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    sheet = "\ufeffsample_id, condition\nS1,treated\n\nS2,control\n".encode()

    result = upload(sfn, s3, sheet_trigger(machine), "rnaseq/sheets/batch1.csv", sheet)

    assert result.errors == []
    assert executions(sfn, machine) == [{"samples": [
        {"sample_id": "S1", "condition": "treated"},
        {"sample_id": "S2", "condition": "control"}], "params": {}}]
    assert result.started[0].samples == 2


def test_an_array_workflow_gets_the_checked_sheet_by_its_uri(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    """A sheet of any size starts a run: the rows stay in S3 (the run's first step reads and
    checks them again), only the URI travels in the execution input."""
    trigger = {**sheet_trigger(machine), "sheet_by_uri": True}
    sheet = "sample_id\n" + "".join(f"S{i}\n" for i in range(30_000))

    result = upload(sfn, s3, trigger, "rnaseq/sheets/big.csv",  # type: ignore[arg-type]
                    sheet.encode())

    assert result.errors == [] and result.started[0].samples == 30_000
    assert executions(sfn, machine) == [{"sheet": f"s3://{bucket}/rnaseq/sheets/big.csv",
                                         "params": {}}]


@pytest.mark.parametrize(("sheet", "problem"), [
    (b"name,condition\nS1,treated\n", "no column 'sample_id'"),
    (b"sample_id\nS1\nS1\n", ":3: column 'sample_id': 'S1' repeats line 2"),
    (b"sample_id,condition\n,treated\n", ":2: column 'sample_id' is empty"),
    (b"sample_id\n", "no samples"),
    (b"sample_id\n\xff\xfe\n", "not UTF-8"),
    (b"sample_id\nS1,extra\n", ":2: 2 fields, but the header has 1"),
    (b'sample_id\n"S1\nS2\nS3\n', ":2: column 1 ('sample_id') opens a quote that is never closed"),
    (b"sample_id\nS1\nS2," + b"x" * 131_073 + b"\n", ":3: column 2 holds 131,073 characters"),
    (b"\n\nsample_id\nS1\n", ":1: line 1 is blank, but the first line must be the header"),
    (b"sample_id\nS1 \n", ":2: column 'sample_id' has a space at its start or end"),
    (b"sample_id\na/b\n", ":2: column 'sample_id' contains '/'"),
    (b"sample_id\n..\n", ":2: column 'sample_id' is '..'"),
    (b"sample_id\nS\x1b1\n", ":2: column 'sample_id' contains the control character U+001B"),
])
def test_bad_sample_sheet_starts_nothing_and_says_why(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str, sheet: bytes, problem: str
) -> None:
    result = upload(sfn, s3, sheet_trigger(machine), "rnaseq/sheets/bad.csv", sheet)

    assert result.started == []
    assert len(result.errors) == 1 and problem in result.errors[0]
    assert executions(sfn, machine) == []


def test_unicode_and_spaces_inside_sample_ids_start_a_run(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    sheet = "sample_id\npatient 7\néchantillon-ü\n患者 1\n".encode()

    result = upload(sfn, s3, sheet_trigger(machine), "rnaseq/sheets/u.csv", sheet)

    assert result.errors == []
    assert [r["sample_id"] for r in executions(sfn, machine)[0]["samples"]] == [
        "patient 7", "échantillon-ü", "患者 1"]


@pytest.mark.parametrize("sample", [" S1", "S1 ", "S\x071", ".."])
def test_a_key_naming_an_unusable_sample_id_starts_nothing(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str, sample: str
) -> None:
    result = upload(sfn, s3, key_trigger(machine, "raw/{sample_id}.fq"), f"rnaseq/raw/{sample}.fq")

    assert result.started == [] and executions(sfn, machine) == []
    assert "the key's sample_id" in (result.errors or result.ignored)[0]


def test_overwritten_sheet_is_left_to_its_own_event(
    sfn: SFNClient, s3: S3Client, bucket: str, machine: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="rnaseq/sheets/a.csv", Body=b"sample_id\nS9\n")

    result = triggers.on_object_created(sfn, s3, [sheet_trigger(machine)], bucket=BUCKET,
                                        key="rnaseq/sheets/a.csv", etag="0" * 32)

    assert result.started == [] and result.errors == []
    assert "replaced" in result.ignored[0]


@pytest.mark.parametrize(("raw", "problem"), [
    ("not json", "TRIGGERS is not JSON"),
    ('{"a": 1}', "must be a JSON list"),
    ('[{"workflow": "w", "state_machine_arn": "arn", "kind": "key", "bucket": "s3://b/p"}]',
     "TRIGGERS[0].pattern"),
    ('[{"workflow": "w", "state_machine_arn": "arn", "kind": "poll", "bucket": "b"}]',
     "TRIGGERS[0].kind"),
    ('[{"workflow": "w", "state_machine_arn": "arn", "kind": "key", "bucket": "s3://b/p",'
     ' "pattern": "raw/{x}.fq", "sample_column": "sample_id"}]', "no {sample_id} placeholder"),
])
def test_trigger_configuration_errors_name_the_field(raw: str, problem: str) -> None:
    with pytest.raises(triggers.TriggerConfigError) as caught:
        triggers.parse_triggers(raw)

    assert problem in str(caught.value)
