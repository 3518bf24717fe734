"""The map strategy's compiled shape: a Distributed Map over the run's sheet whose children
run each sample's stages with the inline strategy's per-sample checks; its validation."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from asltree import states

from orchestrator import Workflow, fanout, model
from orchestrator.compiler import compile_workflow
from orchestrator.compiler.compile import asl_text
from orchestrator.validate import validate
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits


def flow(strategy: str = "map", **options: Any) -> model.Workflow:
    wf = Workflow("w", bucket="s3://bucket-x/p")
    s = wf.foreach("sample_id", strategy=strategy, **options)  # type: ignore[arg-type]
    a = wf.job("a", image="i", command=["true"], outputs={"o": "a/{sample_id}"}, per=s)
    b = wf.job("b", image="i", command=["true"], inputs={"x": "a/{sample_id}"},
               outputs={"o": "b/{sample_id}"}, per=s, after=[a])
    wf.job("all", image="i", command=["true"], inputs={"x": "b/{sample_id}"},
           outputs={"o": "all.txt"}, after=[b])
    return wf.build()


def codes(wf: model.Workflow) -> list[str]:
    return [d.code for d in validate(wf)]


def test_map_is_chosen_only_when_asked() -> None:
    assert fanout.choose(flow("map")) == "map"
    assert fanout.choose(flow("auto", max_samples=1_000_000)) == "array"
    assert fanout.reads_sheet(flow("map")) and not fanout.reads_sheet(flow("inline",
                                                                           max_samples=10))


def test_one_distributed_map_reads_the_sheet_and_each_child_runs_a_sample() -> None:
    doc = compile_workflow(flow(max_concurrency=7))
    top = doc["States"]
    fan = top["For each sample_id"]
    assert fan["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED",
                                                       "ExecutionType": "STANDARD"}
    assert fan["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.sheet.bucket", "Key.$": "$.sheet.items"}}
    assert "ItemsPath" not in fan and fan["MaxConcurrency"] == 7
    # every child runs to its end: the summary applies the workflow's tolerance
    assert fan["ToleratedFailureCount"] >= 2**31 - 1
    assert fan["ResultWriter"] == {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {
        "Bucket.$": "$.sheet.bucket", "Prefix.$": "$.sheet.results"}}
    child = fan["ItemProcessor"]["States"]
    assert list(child)[:2] == ["Check a", "Check b"]
    assert child["Check a"]["Next"] == "Skip the job? (Sample pipeline)"  # the child's scope
    # inside a child $$.Execution.Id is the child: the run's ARN comes in the item
    assert fan["ItemSelector"]["execution.$"] == "$$.Execution.Id"
    child_text = json.dumps(child)
    assert "$$.Execution.Id" not in child_text
    assert child["Check a"]["Parameters"]["Payload"]["execution.$"] == "$.execution"
    # the sheet step writes the items, and nothing per sample travels in the parent
    read = top["Read sample sheet"]["Parameters"]["Payload"]
    assert read["action"] == "sheet" and read["items"] is True
    assert not any(s.get("ItemsPath") == f"$.{c.SAMPLES_KEY}" for s in states(doc).values())
    summary = top["Summarize samples"]["Parameters"]["Payload"]
    assert summary["written.$"] == "$.block_results.ResultWriterDetails"
    assert summary["tolerated"] == 0 and summary["total.$"] == "$.sheet.count"
    assert top["Any sample failed?"]["Choices"] == [{
        "Variable": "$.block_results.over", "BooleanEquals": True,
        "Next": "Some samples failed"}]
    # the verdict comes before the stage that gathers over samples
    assert top["Any sample failed?"]["Default"] == "Check all"
    assert top["Check all"]["Parameters"]["Payload"]["sheet.$"] == "$.sheet.sheet"


@pytest.mark.parametrize("samples", [10, 100_000])
def test_the_definition_does_not_depend_on_the_samples(samples: int) -> None:
    assert compile_workflow(flow(max_samples=samples)) == compile_workflow(flow())


def test_a_map_definition_is_smaller_than_the_array_one() -> None:
    size = len(asl_text(compile_workflow(flow())))
    assert size < len(asl_text(compile_workflow(flow("array"))))


@pytest.mark.parametrize(("options", "code"), [
    ({"tolerated_failure_percentage": 101}, "bad-tolerated-failure"),
    ({"tolerated_failure_percentage": -1}, "bad-tolerated-failure"),
    ({"tolerated_failure_percentage": "5%"}, "bad-tolerated-failure"),
    ({"max_concurrency": limits.DISTRIBUTED_MAP_CONCURRENCY + 1}, "map-concurrency"),
])
def test_bad_map_options_are_named(options: dict[str, Any], code: str) -> None:
    wf = flow()
    assert wf.foreach is not None
    bad = dataclasses.replace(wf, foreach=dataclasses.replace(wf.foreach, **options))
    found = [d for d in validate(bad) if d.code == code]
    assert found and found[0].hint


def test_a_tolerance_needs_the_map_strategy() -> None:
    assert "tolerance-needs-map" in codes(flow("array", tolerated_failure_percentage=5))
    assert codes(flow("map", tolerated_failure_percentage=5,
                      max_concurrency=limits.DISTRIBUTED_MAP_CONCURRENCY)) == []


def test_within_the_tolerance_later_stages_read_the_survivors_sheet() -> None:
    top = compile_workflow(flow(tolerated_failure_percentage=20))["States"]
    summary = top["Summarize samples"]
    assert summary["Parameters"]["Payload"]["run_sheet.$"] == "$.sheet"
    assert summary["Parameters"]["Payload"]["bucket"] == "s3://bucket-x/p"
    assert summary["ResultSelector"]["sheet.$"] == "$.Payload.sheet"
    assert top["Any sample failed?"]["Default"] == "Keep surviving samples"
    keep = top["Keep surviving samples"]
    assert keep == {"Type": "Pass", "Comment": keep["Comment"],
                    "InputPath": "$.block_results.sheet", "ResultPath": "$.sheet",
                    "Next": "Check all"}
    assert top["Check all"]["Parameters"]["Payload"]["sheet.$"] == "$.sheet.sheet"


def side_by_side(second_block: bool) -> model.Workflow:
    """A per-sample block beside a once-job (and, if asked, a second block after it), then a
    stage that gathers over both."""
    wf = Workflow("w", bucket="s3://bucket-x/p")
    s = wf.foreach("sample_id", strategy="map", tolerated_failure_percentage=20)
    a = wf.job("a", image="i", command=["true"], outputs={"o": "a/{sample_id}"}, per=s)
    x = wf.job("x", image="i", command=["true"], outputs={"o": "x.txt"})
    last = [a, x]
    if second_block:
        last = [a, wf.job("b", image="i", command=["true"], inputs={"x": "x.txt"},
                          outputs={"o": "b/{sample_id}"}, per=s, after=[x])]
    wf.job("all", image="i", command=["true"], inputs={"x": "a/{sample_id}"},
           outputs={"o": "all.txt"}, after=last)
    return wf.build()


def test_a_parallel_holding_a_tolerant_block_hands_its_survivors_on() -> None:
    wf = side_by_side(second_block=False)
    assert codes(wf) == []
    par = next(s for s in compile_workflow(wf)["States"].values() if s["Type"] == "Parallel")
    at = next(i for i, b in enumerate(par["Branches"]) if "For each sample_id" in b["States"])
    assert par["ResultPath"] == "$"
    assert par["ResultSelector"] == {"params.$": "$[0].params", "force.$": "$[0].force",
                                     "only.$": "$[0].only", "sheet.$": f"$[{at}].sheet"}
    untolerant = flow()  # nothing changes the sheet: the Parallel keeps its input
    assert all(s.get("ResultPath", None) is None for s in compile_workflow(untolerant)[
        "States"].values() if s["Type"] == "Parallel")


def test_tolerant_blocks_that_may_run_side_by_side_are_refused() -> None:
    found = [d for d in validate(side_by_side(second_block=True))
             if d.code == "tolerant-blocks-side-by-side"]
    assert len(found) == 1 and "a and b may run side by side" in found[0].message
    assert "after=" in found[0].hint
