"""The definition size validation estimates from the model (orchestrator.defsize) is an upper
bound of what the compiler writes, close enough to refuse a workflow before compiling it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

import pytest

from orchestrator import Workflow, defsize, model
from orchestrator.compiler import asl_text, build_machine, compile_workflow
from orchestrator.compiler.compile import deployed_size
from orchestrator.loader import load_file
from orchestrator.validate import validate
from orchestrator_runtime import limits

ROOT = Path(__file__).resolve().parents[2]
Strategy = Literal["inline", "array"] | None


def chain(strategy: Strategy, n: int, name: str = "stage", per: bool = True,
          max_samples: int = 10) -> model.Workflow:
    wf = Workflow("scale", bucket="s3://bucket/prefix")
    samples = (wf.foreach("sample_id", strategy=strategy, max_samples=max_samples)
               if strategy else None)
    prev: str | None = None
    for i in range(n):
        fan = per and samples is not None
        prev = wf.job(f"{name}{i:03d}", image="img", command=["tool {inputs.x}"], shell=True,
                      inputs={"x": f"in/{i}/{{sample_id}}" if fan else f"in/{i}"},
                      outputs={"y": f"out/{i}/{{sample_id}}" if fan else f"out/{i}"},
                      after=[prev] if prev else [], per=samples if fan else None).name
    return wf.build()


def two_blocks(strategy: Literal["inline", "array"]) -> model.Workflow:
    wf = Workflow("blocks", bucket="s3://b/p", description="two Map blocks")
    s = wf.foreach("sample_id", strategy=strategy, max_samples=10)
    wf.job("a", image="i", command=["c"], outputs={"o": "a/{sample_id}"}, per=s)
    wf.job("merge", image="i", command=["c"], outputs={"o": "m"}, after=["a"])
    wf.job("b", image="i", command=["c"], outputs={"o": "b/{sample_id}"}, after=["merge"], per=s)
    return wf.build()


def random_dag(strategy: Strategy, n: int, seed: int) -> model.Workflow:
    """Each job may follow any of the 6 before it; about 70% of them per sample."""
    rng = random.Random(seed)
    wf = Workflow("random", bucket="s3://bucket/prefix")
    s = wf.foreach("sample_id", strategy=strategy, max_samples=10) if strategy else None
    names: list[str] = []
    for i in range(n):
        name = f"job_{i}_" + "x" * rng.randrange(20)
        fan = s is not None and rng.random() < 0.7
        wf.job(name, image="i", command=["c"],
               outputs={"o": f"o{i}/{{sample_id}}" if fan else f"o{i}"},
               after=[x for x in names[-6:] if rng.random() < 0.4], per=s if fan else None)
        names.append(name)
    return wf.build()


def actual(wf: model.Workflow) -> int:
    return deployed_size(asl_text(build_machine(wf).to_asl()))


CLOSE = [pytest.param(wf, id=f"{label}") for label, wf in [
    *[(f"chain-{s}-{n}", chain(s, n)) for s in ("inline", "array", None) for n in (1, 5, 40)],
    ("chain-array-once", chain("array", 5, per=False)),
    ("chain-inline-once", chain("inline", 5, per=False)),
    ("long-names", chain("array", 5, name="a_rather_long_stage_name_" * 2)),
    ("two-blocks-inline", two_blocks("inline")), ("two-blocks-array", two_blocks("array")),
    *[(p.stem, load_file(str(p))[0]) for p in sorted((ROOT / "examples").glob("*.py"))],
    *[(p.stem, load_file(str(p))[0])
      for p in sorted((ROOT / "tests/golden/workflows").glob("*.py"))],
]]


@pytest.mark.parametrize("wf", CLOSE)
def test_estimate_bounds_the_compiled_size_within_ten_percent(wf: model.Workflow) -> None:
    size, estimate = actual(wf), defsize.estimate(wf)
    assert size <= estimate <= 1.10 * size, (size, estimate)


@pytest.mark.parametrize("strategy", ["inline", "array", None])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_estimate_bounds_random_dags_by_walking_their_plan(strategy: Strategy,
                                                           seed: int) -> None:
    wf = random_dag(strategy, 25, seed)
    size, estimate = actual(wf), defsize.estimate(wf)
    assert size <= estimate <= 1.10 * size, (size, estimate)


def test_a_too_large_workflow_is_refused_with_the_size_and_how_many_jobs_fit() -> None:
    wf = chain("array", 900)  # ~1.3 MB
    [d] = [d for d in validate(wf) if d.code == "definition-too-large"]
    size = int(d.message.split("up to ")[1].split(" ")[0].replace(",", ""))
    assert size > limits.DEFINITION_BYTES and f"{limits.DEFINITION_BYTES:,}" in d.message
    assert "900 jobs" in d.message and d.line == wf.source.line
    fits = int(d.hint.split("at most about ")[1].split(" ")[0])
    assert 600 < fits < 900 and "strategy" not in d.hint  # inline cannot hold the samples


def test_the_refusal_names_the_strategy_whose_definition_would_fit() -> None:
    # inline stages are a little smaller than array ones: at one sample an inline Map's
    # history holds ~700 stages, and some of those chains fit inline but not as arrays
    def over(strategy: Literal["inline", "array"], n: int) -> bool:
        return defsize.estimate(chain(strategy, n, max_samples=1)) > limits.DEFINITION_BYTES

    n = next(n for n in range(600, 800, 5) if over("array", n))
    assert not over("inline", n)
    [d] = [d for d in validate(chain("array", n, max_samples=1))
           if d.code == "definition-too-large"]
    assert 'strategy="inline"' in d.hint


def test_a_workflow_under_the_limit_is_not_refused() -> None:
    assert not [d for d in validate(chain("inline", 100)) if d.code == "definition-too-large"]


def test_a_workflow_the_compiler_could_not_plan_gets_its_own_diagnostics_not_a_traceback(
) -> None:
    # the estimate walks the compiler's plan; a cycle, an unknown dependency or a timeout
    # that is not a number would stop the planner, and other checks name them
    wf = Workflow("w", bucket="s3://b/p")
    wf.job("a", image="i", command=["c"], outputs={"o": "a"}, after=["b"])
    wf.job("b", image="i", command=["c"], outputs={"o": "b"}, after=["a"])
    wf.job("c", image="i", command=["c"], outputs={"o": "c"}, after=["nope"])
    wf.job("d", image="i", command=["c"], outputs={"o": "d"}, timeout="soon")
    codes = {d.code for d in validate(wf.build())}
    assert "definition-too-large" not in codes and len(codes) >= 2


@pytest.mark.parametrize("strategy", ["array", None])
def test_450_stages_fit_in_one_state_machine(strategy: Strategy) -> None:
    # the goal: a stage costs under 2 kB of deployed definition, so 400 and more fit in 1 MB
    wf = chain(strategy, 450)
    assert not [d for d in validate(wf) if d.code == "definition-too-large"]
    size = deployed_size(asl_text(compile_workflow(wf)))
    assert size < limits.DEFINITION_BYTES
    assert (size - actual(chain(strategy, 50))) / 400 < 2048
