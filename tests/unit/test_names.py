"""Generated state names: one function makes them, every one fits, the same workflow always
gets the same names, and different states never share one."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import Workflow, model, names
from orchestrator.compiler import compile_workflow
from orchestrator.validate import validate
from orchestrator_runtime import limits

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
BUCKET = "s3://my-bucket/p"


def all_states(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, state) of every state at every depth."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, s in doc["States"].items():
        out.append((name, s))
        for b in s.get("Branches", []):
            out += all_states(b)
        if "ItemProcessor" in s:
            out += all_states(s["ItemProcessor"])
    return out


def all_names(doc: dict[str, Any]) -> list[str]:
    return [name for name, _ in all_states(doc)]


def test_a_name_that_fits_is_kept() -> None:
    text = "x" * limits.STATE_NAME_CHARS
    assert names.state(text) == text
    assert names.check("align") == "Check align"
    assert names.shared("align branch").run == "Run the job (align branch)"


def test_a_long_name_is_shortened_deterministically_and_stays_distinct() -> None:
    a = names.state("Explain " + "a" * 100 + "1 failure")
    b = names.state("Explain " + "a" * 100 + "2 failure")
    assert len(a) == len(b) == limits.STATE_NAME_CHARS
    assert a.startswith("Explain aaaa") and a != b
    assert a == names.state("Explain " + "a" * 100 + "1 failure")


def test_a_long_job_beside_an_independent_job_compiles() -> None:
    # Regression: this validated, then compile failed on "Parallel <64 chars> + 1 more"
    # (83 characters), a name the validator never saw.
    wf = Workflow("w", bucket=BUCKET)
    long = "a" * 64
    wf.job(long, image=IMAGE, command=["true"], outputs={"o": "o1"})
    wf.job("b", image=IMAGE, command=["true"], outputs={"o": "o2"})
    built = wf.build()
    assert validate(built) == []
    doc = compile_workflow(built)
    assert f"Check {long}" in all_names(doc)
    assert all(len(n) <= limits.STATE_NAME_CHARS for n in all_names(doc))


def test_nested_parallels_starting_with_the_same_long_job_get_different_names() -> None:
    # x and y run side by side, z after both, w beside all of them: the outer and the inner
    # Parallel both start with x. Shortened to "Parallel x + 1 more", they used to clash.
    wf = Workflow("w", bucket=BUCKET)
    x, y, z, w = ("x" * 40, "y" * 40, "z" * 40, "w" * 40)
    for name, after in ((x, []), (y, []), (z, [x, y]), (w, [])):
        wf.job(name, image=IMAGE, command=["true"], outputs={"o": name}, after=after)
    doc = compile_workflow(wf.build())
    parallels = [n for n, state in all_states(doc) if state["Type"] == "Parallel"]
    assert len(parallels) == len(set(parallels)) == 2


def test_a_long_sample_column_names_a_map_that_fits() -> None:
    wf = Workflow("w", bucket=BUCKET)
    samples = wf.foreach("c" * 90)
    wf.job("a", image=IMAGE, command=["true"], outputs={"o": "o/{" + "c" * 90 + "}"},
           per=samples)
    built = wf.build()
    assert [d.code for d in validate(built) if d.severity == "error"] == []
    assert all(len(n) <= limits.STATE_NAME_CHARS for n in all_names(compile_workflow(built)))


name_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_-")


@st.composite
def workflows(draw: st.DrawFn) -> model.Workflow:
    wf_name = draw(st.text("abcdefgh", min_size=1, max_size=20))
    room = limits.BATCH_NAME_CHARS - len(wf_name) - 1  # job-definition name <wf>-<job>
    count = draw(st.integers(1, 7))
    jobs = draw(st.lists(
        st.builds(lambda first, rest: first + rest, st.sampled_from("abcxyz"),
                  st.text(name_chars, max_size=room - 1)),
        min_size=count, max_size=count, unique=True))
    column = draw(st.sampled_from(["sample_id", "s" * 70, "c" * 100]))
    wf = Workflow(wf_name, bucket=BUCKET)
    samples = wf.foreach(column)
    for i, job in enumerate(jobs):
        per = draw(st.booleans())
        after = draw(st.lists(st.sampled_from(jobs[:i]), unique=True) if i else st.just([]))
        out = f"{i}/{{{column}}}" if per else str(i)
        wf.job(job, image=IMAGE, command=["true"], outputs={"o": out},
               per=samples if per else None, after=after)
    return wf.build()


@settings(max_examples=120, deadline=None)
@given(wf=workflows())
def test_every_valid_workflow_compiles_with_names_that_fit(wf: model.Workflow) -> None:
    if any(d.severity == "error" for d in validate(wf)):
        return
    doc = compile_workflow(wf)  # raises DefinitionError on a long or duplicate name
    found = all_names(doc)
    assert all(len(n) <= limits.STATE_NAME_CHARS for n in found)
    assert len(found) == len(set(found))
    assert compile_workflow(wf) == doc


def test_a_branch_that_starts_with_a_parallel_has_its_own_end_state() -> None:
    # Regression: the outer branch (x and y, then z) and the inner branch of x were both
    # named "x branch done", so this small workflow failed to compile.
    wf = Workflow("w", bucket=BUCKET)
    for name, after in (("x", []), ("y", []), ("z", ["x", "y"]), ("w", [])):
        wf.job(name, image=IMAGE, command=["true"], outputs={"o": name}, after=after)
    doc = compile_workflow(wf.build())
    done = sorted(n for n, state in all_states(doc) if state["Type"] == "Succeed")
    assert done == ["Parallel x + y branch done", "w branch done", "x branch done",
                    "y branch done"]
