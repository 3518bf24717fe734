"""The compiler: pure, deterministic, every stage checked/run/verified, nothing account-bound."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from asltree import states

from orchestrator import Workflow, jobspec, model
from orchestrator.blocks import group, label
from orchestrator.compiler import asl_text, build_machine, compile_workflow
from orchestrator.compiler.compile import DefinitionTooLarge, check_size, deployed_size
from orchestrator.loader import load_file
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

ROOT = Path(__file__).resolve().parents[2]


def inline(wf: model.Workflow) -> model.Workflow:
    """``wf`` compiled with the inline strategy (these tests are about its Map)."""
    assert wf.foreach is not None
    return dataclasses.replace(wf, foreach=dataclasses.replace(wf.foreach, strategy="inline",
                                                               max_samples=100))


def rnaseq() -> dict[str, Any]:
    return compile_workflow(inline(load_file("examples/rnaseq.py")[0]))


def test_same_input_gives_byte_identical_output() -> None:
    assert asl_text(rnaseq()) == asl_text(rnaseq())


def test_no_account_region_or_partition_is_baked_in() -> None:
    text = asl_text(rnaseq())
    # spec digests are hex and may hold a run of digits; an account id is the only other kind
    assert not re.search(r"\d{12}", re.sub(r'"spec":"[0-9a-f]{16}"', "", text))
    assert "us-east-1" not in text and "arn:aws:batch" not in text and "arn:aws:lambda" not in text
    subs = set(re.findall(r"\$\{(\w+)\}", text))
    # the queue is the check function's to name (its environment), not the definition's
    assert subs == {c.SUB_CHECK_FUNCTION, "JobDefinitionQc", "JobDefinitionTrim",
                    "JobDefinitionCount", "JobDefinitionReport"}


def follow_skip(scope: dict[str, Any], stage: str) -> str:
    """Where a complete stage goes: the shared Choice's rule for it, else its default."""
    skip = scope[scope[f"Check {stage}"]["Next"]]
    for rule in skip["Choices"][1:]:
        assert rule["Variable"] == "$.check.stage"
        if rule["StringEquals"] == stage:
            return str(rule["Next"])
    return str(skip["Default"])


def follow_run(scope: dict[str, Any], stage: str) -> str:
    """Where a stage goes once its job ran and its outputs were verified."""
    after = scope[scope[scope[scope[f"Check {stage}"]["Next"]]["Choices"][0]["Next"]]["Next"]]
    nxt = after["Next"]
    if scope.get(nxt, {}).get("Type") != "Choice" or "Which stage next?" not in nxt:
        return str(nxt)
    for rule in scope[nxt]["Choices"]:
        if rule["StringEquals"] == stage:
            return str(rule["Next"])
    return str(scope[nxt]["Default"])


def test_every_stage_is_checked_then_skipped_or_run_and_verified_by_its_scopes_states(
) -> None:
    doc = rnaseq()
    for job in ("qc", "trim", "count", "report"):
        scope = states(doc)
        check = scope[f"Check {job}"]
        assert check["Resource"] == "arn:aws:states:::lambda:invoke"
        assert check["Parameters"]["Payload"]["action"] == "pre"
        # the stage's own state records who it is for the shared states that follow
        assert check["ResultSelector"]["stage"] == job and check["ResultPath"] == "$.check"
        skip = scope[check["Next"]]
        assert skip["Choices"][0] == {"Variable": "$.check.complete", "BooleanEquals": False,
                                      "Next": skip["Choices"][0]["Next"]}
        run = scope[skip["Choices"][0]["Next"]]
        assert run["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        verify = scope[run["Next"]]
        payload = verify["Parameters"]["Payload"]
        assert payload["action"] == "post" and payload["stage.$"] == "$.check.stage"
        assert payload["spec.$"] == "$.check.spec"
        assert follow_skip(scope, job) == follow_run(scope, job)  # skipping goes where running goes


def test_each_stage_continues_to_its_own_successor() -> None:
    doc = rnaseq()
    # qc || trim -> count inside each sample's iteration; report after the Map
    assert follow_run(states(doc), "trim") == "Check count"
    assert follow_skip(states(doc), "trim") == "Check count"
    assert follow_run(states(doc), "count").endswith("branch done")
    assert follow_run(states(doc), "qc").endswith("branch done")
    assert follow_run(states(doc), "report") == "Done"


def test_a_stage_costs_one_state_and_its_scope_shares_the_rest() -> None:
    wf = Workflow("w", bucket="s3://b/p")
    prev: list[str] = []
    for i in range(30):
        prev = [wf.job(f"s{i}", image="img", command=["true"], outputs={"o": f"o{i}"},
                       after=prev).name]
    doc = compile_workflow(wf.build())
    # 30 stages: 30 "Check sN" states, then one set of shared states for all of them
    assert set(doc["States"]) == {f"Check s{i}" for i in range(30)} | {
        "Read input", "Apply defaults", "Done", "Which stage next?", "Skip the job?",
        "Run the job", "Verify the outputs", "Explain the failure", "The stage failed"}
    assert deployed_size(asl_text(doc)) < 30 * 2048 + 8 * 1024


def test_batch_task_submits_what_the_check_prepared_and_nothing_the_job_definition_has(
) -> None:
    doc = rnaseq()
    run = states(doc)["Run the job (trim branch)"]
    p = run["Parameters"]
    # name, queue, job-definition revision, the runner's task and the tags: all from the
    # check function's answer; command, resources, retries and timeout: the job definition's
    assert p == {"JobName.$": "$.check.submit.JobName", "JobQueue.$": "$.check.submit.JobQueue",
                 "JobDefinition.$": "$.check.submit.JobDefinition",
                 "ContainerOverrides.$": "$.check.submit.ContainerOverrides",
                 "Tags.$": "$.check.submit.Tags", "PropagateTags": True}
    check = states(doc)["Check count"]
    assert check["ResultSelector"]["submit.$"] == "$.Payload.submit"
    # the spec is named, never embedded: the job definition and the digest of its spec
    payload = check["Parameters"]["Payload"]
    assert payload["job_definition"] == "${JobDefinitionCount}"
    wf = load_file("examples/rnaseq.py")[0]
    assert payload["spec"] == jobspec.spec_digest(wf, wf.job("count"))
    assert check["ResultSelector"]["spec"] == payload["spec"]
    assert "job" not in payload and "gzip" not in asl_text(doc)
    # ASL retries transient API errors only; container failures are Batch's business
    assert [e for r in run["Retry"] for e in r["ErrorEquals"]] == [
        "Batch.AWSBatchException", "Batch.ServerException"]
    assert all(r["JitterStrategy"] == "FULL" for r in run["Retry"])


def test_failures_are_explained_then_fail_with_a_readable_cause() -> None:
    top = rnaseq()["States"]
    # the stage's own state's error replaces $.check; later errors go beside the stage's name
    assert top["Check report"]["Catch"] == [{"ErrorEquals": ["States.ALL"],
                                             "ResultPath": "$.check",
                                             "Next": "Explain the failure"}]
    for name in ("Run the job", "Verify the outputs"):
        assert top[name]["Catch"][0]["Next"] == "Explain the failure"
        assert top[name]["Catch"][0]["ResultPath"] == "$.check.error"
    assert top["Explain the failure"]["Parameters"]["Payload"]["check.$"] == "$.check"
    assert top["The stage failed"] == {"Type": "Fail", "Error": c.ERR_STAGE_FAILED,
                                       "CausePath": "$.failure.Cause"}


def test_per_sample_jobs_run_inside_one_map_and_the_merge_waits_for_all() -> None:
    doc = rnaseq()
    top = doc["States"]
    fan_out = top["For each sample_id"]
    assert fan_out["Type"] == "Map" and fan_out["MaxConcurrency"] == 8
    body = fan_out["ItemProcessor"]["States"]["Sample pipeline"]
    assert body["Type"] == "Parallel" and len(body["Branches"]) == 2  # qc || trim -> count
    assert body["Catch"][0]["Next"] == "Sample pipeline failed"  # one sample fails, the rest go on
    assert top["Any sample failed?"]["Default"] == "Check report"


def test_independent_jobs_run_in_parallel() -> None:
    doc = compile_workflow(load_file("examples/diamond.py")[0])
    par = doc["States"]["Parallel words + letters"]
    assert [b["StartAt"] for b in par["Branches"]] == ["Check words", "Check letters"]
    # each branch has its own shared states, named after it
    assert "Run the job (words branch)" in par["Branches"][0]["States"]
    assert par["Next"] == "Check combine"


def make(jobs: list[tuple[str, bool, list[str]]]) -> Any:
    wf = Workflow("w", bucket="s3://b/p")
    samples = wf.foreach("sample_id", strategy="inline", max_samples=100)
    for name, per, after in jobs:
        out = f"{name}/{{sample_id}}" if per else name
        wf.job(name, image="img", command=["true"], outputs={"o": out},
               per=samples if per else None, after=after)
    return wf.build()


def test_per_sample_job_after_a_once_job_gets_its_own_map() -> None:
    nodes, preds, blocks = group(make([("a", True, []), ("merge", False, ["a"]),
                                       ("b", True, ["merge"])]))
    assert [label(n) for n in nodes] == ["For each sample_id (1)", "merge",
                                         "For each sample_id (2)"]
    first, second = blocks
    assert preds["merge"] == {first} and preds[second] == {"merge"}
    assert [b.jobs for b in blocks] == [("a",), ("b",)]


@pytest.mark.parametrize("example", ["rnaseq", "diamond"])
def test_definition_is_valid_json_under_the_size_limit(example: str) -> None:
    text = asl_text(compile_workflow(load_file(f"examples/{example}.py")[0]))
    assert json.loads(text) and len(text.encode()) < 1024 * 1024


@pytest.mark.parametrize("name", ["Sample", "Samples", "Done", "Parallel", "Summarize", "Any"])
def test_job_names_never_clash_with_the_compilers_own_states(name: str) -> None:
    wf = Workflow("w", bucket="s3://b/p")
    samples = wf.foreach("sample_id")
    wf.job(name, image="img", command=["true"], outputs={"o": "o/{sample_id}"}, per=samples)
    wf.job("merge", image="img", command=["true"], outputs={"m": "m"}, after=[name])
    compile_workflow(wf.build())  # raises DefinitionError on a duplicate state name


def test_registering_job_definitions_locally_does_not_change_later_compiles() -> None:
    # Regression: the local engine converts a job definition to camelCase in place; it used to
    # share dicts with the compiler, so every later definition said "onReason"/"action".
    from orchestrator.local.resources import register_parameters
    from orchestrator.template import describe

    wf = load_file("examples/diamond.py")[0]
    before = asl_text(compile_workflow(wf))
    stack = describe([wf], {wf.name: compile_workflow(wf)})
    register_parameters(stack.job_definitions[0])
    register_parameters(stack.job_definitions[0])
    assert asl_text(compile_workflow(wf)) == before
    assert "RetryStrategy" in stack.job_definitions[0].register_parameters()


def test_definition_size_counts_substituted_arns_in_bytes() -> None:
    wf = load_file("examples/diamond.py")[0]
    check_size(wf, "x" * 1_000_000)
    assert deployed_size("é") == 2  # bytes, not characters
    with pytest.raises(DefinitionTooLarge) as exc:
        check_size(wf, "x" * 1_000_000 + "${JobQueueArn}" * 300)
    [d] = exc.value.diagnostics
    assert d.code == "definition-too-large" and d.line == wf.source.line
    assert "'diamond'" in d.message and d.hint
    with pytest.raises(DefinitionTooLarge):
        check_size(wf, "é" * (limits.DEFINITION_BYTES // 2 + 1))


def big(jobs: int) -> Any:
    wf = Workflow("big", bucket="s3://my-bucket/p")
    for i in range(jobs):
        wf.job(f"j{i}", image="img", command=["echo"], outputs={"o": f"o{i}"},
               after=[f"j{i - 1}"] if i else [])
    return wf.build()


def test_a_definition_that_outgrows_the_limit_only_once_deployed_is_a_diagnostic() -> None:
    # Regression: the ARN estimate was applied only when the definition was already over
    # the limit before substitution, so this one compiled and would fail to deploy.
    def sizes(jobs: int) -> tuple[int, int]:
        text = asl_text(build_machine(big(jobs)).to_asl())
        return len(text.encode()), deployed_size(text)

    (raw1, dep1), (raw2, dep2) = sizes(2), sizes(3)  # from 2 on, each adds one stage
    per_raw, per_deployed = raw2 - raw1, dep2 - dep1
    assert per_deployed > per_raw  # each stage names ARNs
    jobs = (limits.DEFINITION_BYTES - dep1) // per_deployed + 2
    raw, deployed = sizes(jobs)
    assert raw < limits.DEFINITION_BYTES < deployed
    with pytest.raises(DefinitionTooLarge) as exc:
        check_size(big(jobs), asl_text(build_machine(big(jobs)).to_asl()))
    assert exc.value.diagnostics[0].code == "definition-too-large"


def _paths(node: object) -> list[str]:
    """Every JSONPath value ("...$": "$.x") in a piece of ASL."""
    if isinstance(node, dict):
        out = [v for k, v in node.items() if k.endswith(".$") and isinstance(v, str)]
        return out + [p for v in node.values() for p in _paths(v)]
    if isinstance(node, list):
        return [p for v in node for p in _paths(v)]
    return []


def test_no_path_inside_a_sample_iteration_reads_a_column_of_the_row() -> None:
    # "$.sample.sample_id" on a row without that column raises States.Runtime, which no
    # Catch catches: one bad row would end every sample's work (see tests/e2e/test_bad_rows).
    from orchestrator.loader import load_one

    doc = compile_workflow(inline(load_one(ROOT / "examples" / "rnaseq.py")))
    fan_out = doc["States"]["For each sample_id"]
    paths = _paths(fan_out["ItemProcessor"]) + _paths(fan_out["ItemSelector"])
    assert paths and not [p for p in paths if p.startswith("$.sample.")]
    assert doc["States"]["Apply defaults"]["Next"] == "Any samples?"
