"""AWS rules that only show when a run meets them, on the embedded engine: the retry promise
(Spot reclaims and image pulls are always retried, the command only as often as the job
says) and execution names that are not valid Batch tag values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.local import batch
from orchestrator.local.batch_job import LocalJob
from orchestrator.local.engine import RunOptions, RunResult, run

SPOT = "Host EC2 (instance i-0123456789abcdef0) terminated."
PULL = ("CannotPullContainerError: Error response from daemon: pull access denied for img, "
        "repository does not exist")

RETRIES = """
from orchestrator import Workflow

wf = Workflow("retries", bucket="s3://local-tests/retries")
for name, retries, codes, command in [
        ("reclaimed", 0, [], "echo ok > {{outputs.o}}"),
        ("unpulled", 0, [], "echo ok > {{outputs.o}}"),
        ("broken", 0, [], "echo broken >&2; exit 3"),
        ("flaky", 2, ["3"], "echo flaky >&2; exit 3"),
        ("unlisted", 2, ["3"], "echo unlisted >&2; exit 4")]:
    wf.job(name, image="img", command=[command], shell=True, outputs={{"o": f"{{name}}.txt"}},
           retries=retries, retry_exit_codes=codes, timeout="5m")
"""


def by_stage(result: RunResult) -> dict[str, dict[str, object]]:
    return {str(r["stage"]): r for r in result.rows}


def test_spot_and_image_pull_failures_are_retried_the_command_only_as_the_job_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def first_attempt_lost(job: LocalJob, attempt: int) -> batch.InfrastructureFailure | None:
        if attempt == 1 and job.job_name.endswith("-reclaimed"):
            return batch.InfrastructureFailure(SPOT)
        if attempt == 1 and job.job_name.endswith("-unpulled"):
            return batch.InfrastructureFailure("Task failed to start", PULL)
        return None

    monkeypatch.setattr(batch, "infrastructure_failure", first_attempt_lost)
    path = tmp_path / "retries.py"
    path.write_text(textwrap.dedent(RETRIES.format()))
    result = run(RunOptions(path, workdir=tmp_path / "wd"))
    rows = by_stage(result)
    # retries=0, yet the Spot reclaim and the failed image pull are retried and succeed
    assert (rows["reclaimed"]["status"], rows["reclaimed"]["attempts"]) == ("SUCCEEDED", 2)
    assert (rows["unpulled"]["status"], rows["unpulled"]["attempts"]) == ("SUCCEEDED", 2)
    # retries=0 and the command fails: one attempt, its own exit code
    assert (rows["broken"]["status"], rows["broken"]["attempts"]) == ("FAILED", 1)
    assert rows["broken"]["exit_code"] == 3
    # retries=2 and a listed code: exactly 3 attempts (Batch would allow 6), the last one
    # showing the command's exit code
    assert (rows["flaky"]["status"], rows["flaky"]["attempts"]) == ("FAILED", 3)
    assert rows["flaky"]["exit_code"] == 3
    # an exit code the job does not list is not retried, whatever `retries` says
    assert (rows["unlisted"]["attempts"], rows["unlisted"]["exit_code"]) == (1, 4)
    assert result.status == "FAILED"


ECHO = """
from orchestrator import Workflow

wf = Workflow("tagged", bucket="s3://local-tests/tagged")
samples = wf.foreach("sample_id")
wf.job("copy", image="img", command=["cp", "{inputs.x}", "{outputs.y}"],
       inputs={"x": "in/{sample_id}.txt"}, outputs={"y": "out/{sample_id}.txt"}, per=samples,
       timeout="5m")
"""


@pytest.mark.parametrize("name", ["Run(2)!-it's-été", "copy-ünïcode-!'()"])
def test_a_run_named_with_characters_no_tag_allows_keeps_its_job_rows(
        tmp_path: Path, name: str) -> None:
    data = tmp_path / "data" / "tagged"
    (data / "in").mkdir(parents=True)
    for s in ("S1", "S2"):
        (data / "in" / f"{s}.txt").write_text(f"{s}\n")
    (data / "samples.csv").write_text("sample_id\nS1\nS2\n")
    path = tmp_path / "tagged.py"
    path.write_text(ECHO)
    result = run(RunOptions(path, workdir=tmp_path / "wd", execution_name=name))
    assert result.succeeded, result.cause
    assert result.execution_arn.endswith(f":{name}")
    # the rows Batch events wrote are under the execution's own ARN, one per sample
    assert sorted((r["pk"], r["sample"], r["status"]) for r in result.rows) == [
        (result.execution_arn, "S1", "SUCCEEDED"), (result.execution_arn, "S2", "SUCCEEDED")]
