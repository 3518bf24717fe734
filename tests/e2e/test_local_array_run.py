"""An array stage end to end on the embedded engine, as the array state machine will drive it.

The stack is the one a local run deploys (job definitions, job-state table, the Batch event
rule feeding the real job_events handler through SQS). The test plays the plan step: it
writes the stage document and a manifest of five samples, then submits what the state
machine submits for lines 1..4: one array job of four children running
``orchestrator-runner`` with the manifest in their environment. Each child runs its sample,
and the table ends up with one row per sample (a failed child fails only its sample), the
array job's own row apart, and counters that count samples.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator import dsl, model
from orchestrator.compiler import asl_text, compile_workflow
from orchestrator.jobspec import job_spec
from orchestrator.local import engine, progress, resources, settle
from orchestrator.local.adapter import LocalAws
from orchestrator.template import describe
from orchestrator_runtime import contracts as c
from orchestrator_runtime import jobstate

SAMPLES = ["S1", "S2", "S3", "S4", "S5"]
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:arr:arr-run-1"


def workflow() -> model.Workflow:
    wf = dsl.Workflow("arr", bucket="s3://arr-bucket/arr")
    samples = wf.foreach("sample_id")
    wf.job("count", image="img", shell=True, per=samples, timeout="5m",
           command=["test {sample_id} != S3 && printf {sample_id} > {outputs.out}"],
           outputs={"out": "out/{sample_id}.txt"})
    return wf.build()


@pytest.fixture
def stack(aws_env: None, tmp_path: Path) -> Iterator[tuple[LocalAws, resources.Deployed,
                                                            model.Workflow]]:
    wf = workflow()
    definition = asl_text(compile_workflow(wf))
    description = describe([wf], {wf.name: json.loads(definition)})
    env = engine.HANDLER_ENV | {"TABLE_NAME": resources.table_name(description.tables[0])}
    with LocalAws(cores=2, log_dir=tmp_path / "logs", kill_grace=2, extra_env=env) as aws:
        deployed = resources.deploy(aws, description, {wf.name: definition},
                                    engine._handlers())
        yield aws, deployed, wf


def write_plan(aws: LocalAws, wf: model.Workflow) -> tuple[str, int]:
    [job] = wf.jobs
    prefix = c.plan_prefix(wf.bucket, EXECUTION.rsplit(":", 1)[-1], job.name)
    lines = [c.ManifestLine(index=i, sample=c.sample_label(s), row={"sample_id": s})
             for i, s in enumerate(SAMPLES)]
    data, width = c.encode_manifest(lines)
    doc = {"action": "pre", "workflow": wf.name, "stage": job.name, "execution": EXECUTION,
           "sample_column": "sample_id", "params": {}, "param_defaults": {},
           "job": job_spec(wf, job)}
    s3 = aws.client("s3")
    bucket, key = c.split_uri(prefix)
    s3.put_object(Bucket=bucket, Key=key + c.MANIFEST, Body=data)
    s3.put_object(Bucket=bucket, Key=key + c.STAGE_DOC, Body=json.dumps(doc).encode())
    return prefix + c.MANIFEST, width


def test_an_array_of_children_becomes_one_row_per_sample(
    stack: tuple[LocalAws, resources.Deployed, model.Workflow]
) -> None:
    aws, deployed, wf = stack
    manifest, width = write_plan(aws, wf)
    [definition] = [arn for lid, arn in deployed.physical.items() if ":job-definition/" in arn]
    batch = aws.client("batch")
    queue = batch.describe_job_queues()["jobQueues"][0]["jobQueueArn"]

    parent = batch.submit_job(
        jobName="arr-count", jobQueue=queue, jobDefinition=definition,
        arrayProperties={"size": 4},
        containerOverrides={"environment": [
            {"name": c.MANIFEST_ENV, "value": manifest},
            {"name": c.MANIFEST_WIDTH_ENV, "value": str(width)},
            {"name": c.MANIFEST_OFFSET_ENV, "value": "1"}]},
        tags={c.TAG_EXECUTION: EXECUTION, c.TAG_WORKFLOW: wf.name, c.TAG_STAGE: "count"},
    )["jobId"]
    assert aws.batch.wait(parent, timeout=120) == "FAILED"

    rows = wait_settled(deployed.table, {"arr-count": parent})

    by_sample = {r["sample"]: r for r in rows}
    assert sorted(by_sample) == ["S2", "S3", "S4", "S5"]  # lines 1..4; S1 was not planned
    assert {s: r["status"] for s, r in by_sample.items()} == {
        "S2": "SUCCEEDED", "S3": "FAILED", "S4": "SUCCEEDED", "S5": "SUCCEEDED"}
    assert by_sample["S3"]["exit_code"] == 1
    assert by_sample["S3"]["job_id"] == f"{parent}:1"
    execution, _ = jobstate.read_execution(deployed.table, EXECUTION)
    assert {k: v for k, v in (execution or {}).items() if k.startswith("n_") and v} == {
        "n_SUCCEEDED": 3, "n_FAILED": 1}
    [array] = jobstate.read_arrays(deployed.table, EXECUTION)
    assert (array["status"], array["size"], array["offset"]) == ("FAILED", 4, 1)

    s3 = aws.client("s3")
    for sample in ("S2", "S4", "S5"):
        body = s3.get_object(Bucket="arr-bucket", Key=f"arr/out/{sample}.txt")["Body"].read()
        assert body == sample.encode()
    log = aws.log_path(by_sample["S4"]["log_stream"]).read_text()
    assert "line 3 (offset 1 + array index 2): stage count, sample S4" in log

    tallies = progress.tally(wf, len(SAMPLES), rows)
    assert tallies["count"] == progress.Tally(total=5, pending=1, succeeded=3, failed=1)
    seen: list[progress.Event] = []
    progress.Monitor(wf, len(SAMPLES), seen.append).rows(rows)
    assert sorted((e.sample, e.status) for e in seen if isinstance(e, progress.JobChanged)) == [
        ("S2", "SUCCEEDED"), ("S3", "FAILED"), ("S4", "SUCCEEDED"), ("S5", "SUCCEEDED")]


def wait_settled(table: Any, submitted: dict[str, str]) -> list[dict[str, Any]]:
    """The job rows once the array job and every child are recorded as final (as the
    engine's settle step decides it)."""
    deadline = time.monotonic() + 60
    while True:
        _, rows, arrays = jobstate.read_run(table, EXECUTION)
        closed = {"status": "SUCCEEDED"}  # no execution events here: only the jobs matter
        if not settle.unsettled(closed, rows, submitted, arrays):
            return rows
        assert time.monotonic() < deadline, settle.unsettled(closed, rows, submitted, arrays)
        time.sleep(0.1)


def child(index: int, status: str, parent: str = "p") -> dict[str, Any]:
    return {"stage": "count", "sample": f"S{index}", "job_name": "arr-count",
            "job_id": f"{parent}:{index}", "status": status}


def array(status: str, size: int = 2, job_id: str = "p") -> dict[str, Any]:
    return {"stage": "count", "job_name": "arr-count", "job_id": job_id, "status": status,
            "size": size}


CLOSED = {"status": "SUCCEEDED"}


@pytest.mark.parametrize(("rows", "arrays", "missing"), [
    ([child(0, "SUCCEEDED"), child(1, "FAILED")], [array("FAILED")], ()),
    ([child(0, "SUCCEEDED"), child(1, "RUNNING")], [array("FAILED")], ("arr-count",)),
    ([child(0, "SUCCEEDED")], [array("SUCCEEDED")], ("arr-count",)),  # a child not recorded
    ([child(0, "SUCCEEDED"), child(1, "SUCCEEDED")], [array("RUNNING")], ("arr-count",)),
    ([child(0, "SUCCEEDED"), child(1, "SUCCEEDED")], [], ("arr-count",)),
    ([child(0, "SUCCEEDED", "old"), child(1, "SUCCEEDED", "old")],
     [array("SUCCEEDED", job_id="old"), array("RUNNING")], ("arr-count",)),  # an older array
])
def test_an_array_job_is_settled_when_it_and_each_child_are_final(
    rows: list[dict[str, Any]], arrays: list[dict[str, Any]], missing: tuple[str, ...]
) -> None:
    assert settle.unsettled(CLOSED, rows, {"arr-count": "p"}, arrays) == missing
