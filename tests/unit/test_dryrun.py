"""`orchestrator plan`'s pure parts (orchestrator/dryrun.py): the requests it judges are the
compiled "pre" payloads filled from the execution input, and many samples fold into few rows."""

from __future__ import annotations

from pathlib import Path

from orchestrator import dryrun, loader
from orchestrator.dryrun import Item, Plan
from orchestrator.samples import execution_input

ROOT = Path(__file__).resolve().parents[2]


def test_requests_are_the_compiled_payloads_filled_from_the_execution_input() -> None:
    wf = loader.load_one(ROOT / "examples" / "rnaseq.py")
    rows = [{"sample_id": "S1", "condition": "a"}, {"sample_id": "S2", "condition": "b"}]
    doc = execution_input(wf, samples=rows, force=["count"], only=["S2"])
    reqs = dryrun.requests(wf, doc)
    assert [(r["stage"], (r.get("sample") or {}).get("sample_id")) for r in reqs] == [
        ("qc", "S1"), ("qc", "S2"), ("trim", "S1"), ("trim", "S2"), ("count", "S1"),
        ("count", "S2"), ("report", None)]
    report = reqs[-1]
    assert report["samples"] == rows and report["sample"] is None  # gathers every row
    assert report["force"] == ["count", "report"]  # what the run's input says: and after
    assert report["only"] == ["S2"] and report["params"] == {}
    assert not [k for r in reqs for k in r if k.endswith(".$")]


def item(stage: str, sample: str, status: dryrun.Status = "complete",
         reason: str = "outputs current", after: tuple[str, ...] = ()) -> Item:
    return Item(stage, sample, status, status not in ("complete", "unselected", "blocked"),
                reason, after)


def test_many_samples_fold_into_a_row_per_verdict_and_reason() -> None:
    ids = [f"S{i}" for i in range(1000)]
    items = [item("qc", s) for s in ids if s not in ("S7", "S9")]
    items += [item("qc", "S7", "stale", "command changed"),
              item("qc", "S9", "stale", "input reads: bytes of raw/S9.fq changed")]
    items += [item("report", "_once", "upstream", "outputs current, but its input(s) will be "
                   "rewritten", ("qc",))]
    plan = Plan("wf", "array", 1000, ("qc", "report"), frozenset({"qc"}), tuple(items))
    assert [(r.stage, r.samples, r.verdict, r.reason) for r in dryrun.rows(plan)] == [
        ("qc", "998 (S0, S1, ...)", "complete (skip)", "outputs current"),
        ("qc", "S7", "stale (run)", "command changed"),
        ("qc", "S9", "stale (run)", "input reads: bytes of raw/S9.fq changed"),
        ("report", "(once)", "will run (after qc)",
         "outputs current, but its input(s) will be rewritten")]
    assert dryrun.summary(plan) == "a run would submit 3 jobs (qc: 2, report: 1)"


def test_past_eight_reasons_a_stage_folds_the_rest_by_verdict() -> None:
    items = tuple(item("qc", f"S{i}", "stale", f"input reads: bytes of raw/S{i}.fq changed")
                  for i in range(20))
    plan = Plan("wf", "inline", 20, ("qc",), frozenset({"qc"}), items)
    shown = dryrun.rows(plan)
    assert len(shown) == dryrun.GROUPS_SHOWN + 1
    assert (shown[-1].samples, shown[-1].reason) == ("12 (S8, S9, ...)",
                                                    "various reasons (--json lists each)")
    assert plan.to_json()["submits"] == {"total": 20, "by_stage": {"qc": 20}}


def test_a_stage_that_cannot_start_is_said_in_the_summary() -> None:
    plan = Plan("wf", "inline", 2, ("a", "merge"), frozenset({"a"}), (
        item("a", "S2", "missing", "no outputs yet"),
        item("a", "S1", "unselected", "the run names other samples (--only)"),
        item("merge", "_once", "blocked", "input(s) missing: a/S1.txt")))
    assert dryrun.summary(plan) == (
        "a run would submit 1 job (a: 1); 1 stage run(s) cannot start and would fail the run "
        "(first: merge _once: input(s) missing: a/S1.txt)")
