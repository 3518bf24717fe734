"""The array strategy's compiled shape: a run's states do not depend on its samples."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from asltree import states

from orchestrator import Workflow, fanout, model
from orchestrator.compiler import compile_workflow
from orchestrator.loader import load_file
from orchestrator.validate import validate
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits


def rnaseq() -> dict[str, Any]:
    return compile_workflow(load_file("examples/rnaseq.py")[0])


def test_the_example_compiles_to_the_array_strategy_by_default() -> None:
    wf = load_file("examples/rnaseq.py")[0]
    assert wf.foreach is not None and wf.foreach.strategy == "auto"
    assert fanout.choose(wf) == "array"
    top = rnaseq()["States"]
    every = states(rnaseq()).values()
    assert not any(s.get("ItemsPath") == f"$.{c.SAMPLES_KEY}" for s in every)
    assert top["Apply defaults"]["Next"] == "Read sample sheet"
    assert top["Read sample sheet"]["Parameters"]["Payload"]["action"] == "sheet"
    # only the sheet's URI and row count stay in the state: no per-sample list travels
    assert top["Keep sheet location"]["Parameters"] == {"params.$": "$.params",
                                                        "force.$": "$.force",
                                                        "only.$": "$.only",
                                                        "sheet.$": "$.sheet"}
    assert top["Any sample failed?"]["Default"] == "Check report"
    report = top["Check report"]["Parameters"]["Payload"]
    assert report["sheet.$"] == "$.sheet.sheet" and "samples.$" not in report
    assert top["Done"]["Parameters"]["samples.$"] == "$.sheet.count"


def test_a_stage_plans_then_runs_none_one_an_array_or_chunks_then_collects() -> None:
    all_states = states(rnaseq())
    plan = all_states["Plan qc"]
    payload = plan["Parameters"]["Payload"]
    assert payload["action"] == "plan" and payload["sheet.$"] == "$.sheet.sheet"
    assert "sample.$" not in payload and "samples.$" not in payload
    assert plan["ResultPath"] == "$.check" and plan["ResultSelector"]["stage"] == "qc"
    t = " (qc branch)"  # qc runs beside trim: its branch has its own shared states
    assert plan["Next"] == f"How many samples?{t}"
    how = all_states[f"How many samples?{t}"]
    assert [(r.get("NumericEquals", r.get("NumericLessThanEquals")), r["Next"])
            for r in how["Choices"][1:]] == [(1, f"Run one job{t}"),
                                             (limits.BATCH_ARRAY_MAX, f"Run an array job{t}")]
    assert how["Choices"][0]["NumericEquals"] == 0  # nothing to run: the stage is done
    assert how["Choices"][0]["Next"] == "qc branch done"
    assert how["Default"] == f"Run the chunks{t}"
    array = all_states[f"Run an array job{t}"]["Parameters"]
    assert array["ArrayProperties"] == {"Size.$": "$.check.count"}
    # the plan's Submission: its manifest in the overrides, ARRAY_PLAN as the sample tag
    assert array["ContainerOverrides.$"] == "$.check.submit.ContainerOverrides"
    assert array["Tags.$"] == "$.check.submit.Tags"
    assert "submit.$" in plan["ResultSelector"]
    chunks = all_states[f"Run the chunks{t}"]
    assert chunks["ItemsPath"] == "$.check.chunks" and chunks["MaxConcurrency"] == 0
    chunk = all_states[f"Run one chunk{t}"]
    assert chunk["Parameters"]["ArrayProperties"] == {"Size.$": "$.chunk.size"}
    assert chunk["Parameters"]["ContainerOverrides.$"] == "$.chunk.overrides"  # its offset
    assert chunk["Catch"][0]["Next"] == f"The chunk ended{t}"  # one chunk failing spares the rest
    for run in (f"Run one job{t}", f"Run an array job{t}", f"Run the chunks{t}"):
        assert all_states[run]["Next"] == f"Collect the results{t}"
    for run in (f"Run one job{t}", f"Run an array job{t}"):  # a failed array is collected
        assert all_states[run]["Catch"][0] == {"ErrorEquals": ["States.ALL"],
                                               "ResultPath": "$.batch",
                                               "Next": f"Collect the results{t}"}
    collect = all_states[f"Collect the results{t}"]["Parameters"]["Payload"]
    assert collect["action"] == "collect" and collect["stage.$"] == "$.check.stage"
    assert collect["plan.$"] == "$.check" and collect["batch.$"] == "$.batch"


def test_array_stages_in_one_scope_share_one_set_of_states_and_go_on_by_name() -> None:
    all_states = states(rnaseq())
    t = " (trim branch)"  # trim, then count
    assert all_states["Plan trim"]["Next"] == all_states["Plan count"]["Next"]
    assert all_states[f"How many samples?{t}"]["Choices"][0]["Next"] == f"Which stage next?{t}"
    assert all_states[f"Collect the results{t}"]["Next"] == f"Which stage next?{t}"
    after = all_states[f"Which stage next?{t}"]
    assert after["Choices"] == [{"Variable": "$.check.stage", "StringEquals": "trim",
                                 "Next": "Plan count"}]
    assert after["Default"] == "trim branch done"


def test_the_block_summary_reads_the_failure_records_of_its_stages() -> None:
    summary = rnaseq()["States"]["Summarize samples"]["Parameters"]["Payload"]
    assert summary["action"] == "summarize" and summary["stages"] == ["qc", "trim", "count"]
    assert summary["sheet.$"] == "$.sheet.sheet"


def flow(strategy: str, max_samples: int = model.DEFAULT_MAX_SAMPLES) -> model.Workflow:
    wf = Workflow("w", bucket="s3://b/p")
    s = wf.foreach("sample_id", strategy=strategy,  # type: ignore[arg-type]
                   max_samples=max_samples)
    a = wf.job("a", image="i", command=["true"], outputs={"o": "a/{sample_id}"}, per=s)
    wf.job("b", image="i", command=["true"], inputs={"x": "a/{sample_id}"},
           outputs={"o": "b/{sample_id}"}, per=s, after=[a])
    return wf.build()


def test_auto_picks_inline_only_when_it_fits_the_declared_samples() -> None:
    most = fanout.inline_max_samples(2)
    assert 21 + most * (10 + 20 * 2) <= limits.HISTORY_EVENTS  # benchmarks.history measures it
    assert 21 + (most + 1) * (10 + 20 * 2) > limits.HISTORY_EVENTS
    assert fanout.choose(flow("auto", most)) == "inline"
    assert fanout.choose(flow("auto", most + 1)) == "array"
    assert fanout.choose(flow("auto")) == "array"


def codes(wf: model.Workflow) -> list[str]:
    return [d.code for d in validate(wf)]


def test_an_inline_map_too_large_for_its_samples_is_refused_with_the_numbers() -> None:
    (diag,) = [d for d in validate(flow("inline", 1000)) if d.code == "inline-too-large"]
    assert f"holds at most {fanout.inline_max_samples(2):,} samples" in diag.message
    assert "strategy=\"array\"" in diag.hint
    assert "inline-too-large" not in codes(flow("inline", 100))
    assert "inline-too-large" not in codes(flow("array", 1_000_000))


@pytest.mark.parametrize(("field", "value", "code"), [
    ("strategy", "fast", "bad-strategy"), ("max_samples", 0, "bad-max-samples"),
    ("max_samples", True, "bad-max-samples")])
def test_bad_fan_out_options_are_named(field: str, value: Any, code: str) -> None:
    wf = flow("array")
    assert wf.foreach is not None
    bad = dataclasses.replace(wf, foreach=dataclasses.replace(wf.foreach, **{field: value}))
    assert code in codes(bad)


@pytest.mark.parametrize("samples", [10, 100_000])
def test_the_definition_does_not_depend_on_the_samples(samples: int) -> None:
    base = compile_workflow(flow("array"))
    assert compile_workflow(flow("array", samples)) == base
