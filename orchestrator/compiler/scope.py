"""The stages of one scope share every state but their first.

A scope is a list of states that jump to each other: the whole machine, a Parallel branch, a
map child. Each stage has one state of its own, which checks its outputs (``Check x``) or
plans its samples (``Plan x``, the ``array`` strategy) and records at ``$.check`` which stage
it is (its name and spec digest, static values of the ResultSelector). Running the Batch job,
verifying or collecting its outputs, explaining a failure and failing are done by states the
scope's stages share, which read ``$.check``; ``Which stage next?`` then continues to the
stage's successor by its name. So a stage costs one Task and two Choice rules of definition
(about 1.5 kB deployed), not six or eight states: 400 and more stages fit in 1 MB.

Failures: every caught error goes to the shared explain state with the stage's ``$.check``:
after the check ran, the error is at ``$.check.error`` beside the stage's name; when the check
itself failed, its error replaces ``$.check`` (the check function's own message names the
stage, and the history names the ``Check x`` state that failed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator import fanout, jobspec, model, names
from orchestrator.asl.states import (
    Catch,
    Choice,
    ChoiceRule,
    Fail,
    Json,
    Machine,
    Map,
    Pass,
    State,
    Task,
)
from orchestrator.compiler import stages
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits

CHECK = f"$.{c.CHECK_KEY}"  # the stage's own state's answer: who it is, what shared states need
STAGE = f"{CHECK}.stage"
ERROR = f"{CHECK}.error"  # an error caught after the stage's own state answered
BATCH = "$.batch"  # what an array stage's Batch task(s) returned, or the error they raised

Kind = Literal["check", "array"]


@dataclass(frozen=True)
class _Entry:
    job: model.Job
    kind: Kind
    next: str


class Scope:
    """Collects the stages emitted into one scope; :meth:`states` gives the shared ones."""

    def __init__(self, wf: model.Workflow, name: str = "") -> None:
        self.wf = wf
        self.arrays = fanout.choose(wf) == "array"  # per-sample stages are array stages
        self.names = names.shared(name)
        self._entries: list[_Entry] = []

    def stage(self, job: model.Job, next_: str) -> list[State]:
        """The stage's own state; the stage continues to ``next_`` when done or skipped."""
        kind: Kind = "array" if job.per_sample and self.arrays else "check"
        self._entries.append(_Entry(job, kind, next_))
        who: Json = {"stage": job.name, "spec": jobspec.spec_digest(self.wf, job)}
        catch = (Catch(next=self.names.explain, result_path=CHECK),)
        if kind == "array":
            return [Task(
                names.plan(job.name), resource=stages.LAMBDA_INVOKE,
                parameters=stages.invoke(_array_payload(self.wf, job, "plan")),
                # what the Choice, the Batch tasks and "collect" read
                result_selector={f"{k}.$": f"$.Payload.{k}" for k in (
                    "count", "failed", "blocked", "manifest", "chunks", "submit")} | who,
                result_path=CHECK, retry=(stages.LAMBDA_RETRY,), catch=catch,
                next=self.names.how_many, comment=stages.where(job))]
        return [Task(
            names.check(job.name), resource=stages.LAMBDA_INVOKE,
            parameters=stages.invoke(stages.check_payload(self.wf, job, "pre")),
            result_selector={"complete.$": "$.Payload.complete",
                             "submit.$": "$.Payload.submit"} | who,
            result_path=CHECK, retry=(stages.LAMBDA_RETRY,), catch=catch,
            next=self.names.skip, comment=stages.where(job))]

    def states(self) -> list[State]:
        """The states this scope's stages share (none when it has no stage)."""
        if not self._entries:
            return []
        default, rules = self._dispatch()
        after = self.names.after if rules else default
        out: list[State] = []
        if rules:
            out.append(Choice(self.names.after, rules=rules, default=default))
        checks = [e.job for e in self._entries if e.kind == "check"]
        if checks:
            out += self._check_states(checks[0], rules, default, after)
        arrays = [e.job for e in self._entries if e.kind == "array"]
        if arrays:
            out += self._array_states(arrays[0], after)
        return out + self._failure_states()

    def _dispatch(self) -> tuple[str, tuple[ChoiceRule, ...]]:
        """Where each stage goes next: the commonest successor by default, a rule for each
        stage that goes elsewhere."""
        default = Counter(e.next for e in self._entries).most_common(1)[0][0]
        return default, tuple(ChoiceRule(STAGE, "StringEquals", e.job.name, e.next)
                              for e in self._entries if e.next != default)

    def _check_states(self, job: model.Job, rules: tuple[ChoiceRule, ...], default: str,
                      after: str) -> list[State]:
        """Skip a complete stage (straight to its successor), else run its job and verify."""
        n = self.names
        to_explain = (Catch(next=n.explain, result_path=ERROR),)
        skip = Choice(n.skip, rules=(
            ChoiceRule(f"{CHECK}.complete", "BooleanEquals", False, n.run), *rules),
            default=default)
        run = Task(n.run, resource=stages.BATCH_SUBMIT_SYNC,
                   parameters=stages.submit_parameters(f"{CHECK}.submit"),
                   result_selector={"JobId.$": "$.JobId", "Status.$": "$.Status"},
                   result_path="$.job", retry=(stages.BATCH_RETRY,), catch=to_explain,
                   next=n.verify)
        verify = Task(n.verify, resource=stages.LAMBDA_INVOKE,
                      parameters=stages.invoke(_shared(stages.check_payload(
                          self.wf, job, "post", f"{CHECK}.submit"))),
                      result_path=None, retry=(stages.LAMBDA_RETRY,), catch=to_explain,
                      next=after)
        return [skip, run, verify]

    def _array_states(self, job: model.Job, after: str) -> list[State]:
        """How many samples need the stage: none, one job, one array job, or a Map over
        chunks of at most 10,000; then collect which samples now have their outputs."""
        n = self.names
        to_collect = (Catch(next=n.collect, result_path=BATCH),)
        how_many = Choice(n.how_many, rules=(
            ChoiceRule(f"{CHECK}.count", "NumericEquals", 0, after),
            ChoiceRule(f"{CHECK}.count", "NumericEquals", 1, n.run_one),
            ChoiceRule(f"{CHECK}.count", "NumericLessThanEquals", limits.BATCH_ARRAY_MAX,
                       n.run_array),
        ), default=n.run_chunks)
        submit = stages.submit_parameters(f"{CHECK}.submit")
        one = _run_task(n.run_one, submit, n.collect, to_collect)
        array = _run_task(n.run_array, submit | {
            "ArrayProperties": {"Size.$": f"{CHECK}.count"}}, n.collect, to_collect)
        chunk = _run_task(n.run_chunk, stages.submit_parameters(
            "$.plan.submit", "$.chunk.overrides") | {
            "ArrayProperties": {"Size.$": "$.chunk.size"}}, None,
            (Catch(next=n.chunk_ended, result_path="$"),))
        ended = Pass(n.chunk_ended, comment="A failed chunk fails only its samples")
        chunks = Map(
            n.run_chunks, items_path=f"{CHECK}.chunks",
            item_selector={"chunk.$": "$$.Map.Item.Value", "plan.$": CHECK},
            processor=Machine(chunk.name, (chunk, ended)), max_concurrency=0,
            result_path=BATCH, next=n.collect,
            comment=f"More than {limits.BATCH_ARRAY_MAX:,} samples: one array job per chunk",
        )
        collect = Task(
            n.collect, resource=stages.LAMBDA_INVOKE,
            parameters=stages.invoke(_shared(_array_payload(
                self.wf, job, "collect", f"{CHECK}.submit")) | {"plan.$": CHECK,
                                                                "batch.$": BATCH}),
            result_selector={"failed.$": "$.Payload.failed"}, result_path="$.collected",
            retry=(stages.LAMBDA_RETRY,), catch=(Catch(next=n.explain, result_path=ERROR),),
            next=after)
        return [how_many, one, array, chunks, collect]

    def _failure_states(self) -> list[State]:
        """Explain the caught error in one line (the check function reads ``$.check``), then
        fail the scope with it."""
        n = self.names
        payload: Json = {"action": "explain", "workflow": self.wf.name,
                         "execution.$": "$$.Execution.Id"}
        if any(e.kind == "check" and e.job.per_sample for e in self._entries):
            payload["sample.$"] = "$.sample"
        if self.wf.foreach is not None:
            payload["sample_column"] = self.wf.foreach.column
        explain = Task(
            n.explain, resource=stages.LAMBDA_INVOKE,
            parameters=stages.invoke(payload | {"check.$": CHECK}),
            result_selector={"Error.$": "$.Payload.error", "Cause.$": "$.Payload.cause"},
            result_path="$.failure", retry=(stages.LAMBDA_RETRY,),
            catch=(Catch(next=n.failed, result_path="$.failure"),), next=n.failed)
        return [explain, Fail(n.failed, error=c.ERR_STAGE_FAILED, cause_path="$.failure.Cause")]


def running_stage(state_input: Any) -> str | None:
    """The stage a shared state runs, read from its input (``$.check.stage``)."""
    check = state_input.get(c.CHECK_KEY) if isinstance(state_input, dict) else None
    stage = check.get("stage") if isinstance(check, dict) else None
    return stage if isinstance(stage, str) and stage else None


def _shared(payload: Json) -> Json:
    """A stage's request made by a shared state: the stage and spec read from ``$.check``."""
    out = {k: v for k, v in payload.items() if k not in ("stage", "spec")}
    return out | {"stage.$": STAGE, "spec.$": f"{CHECK}.spec"}


def _array_payload(wf: model.Workflow, job: model.Job, action: c.Action,
                   submitted: str | None = None) -> Json:
    payload = stages.check_payload(wf, job, action, submitted)
    payload.pop("sample.$", None)
    return payload | {"sheet.$": stages.SHEET_URI}


def _run_task(name: str, parameters: Json, next_: str | None, catch: tuple[Catch, ...]) -> Task:
    return Task(name, resource=stages.BATCH_SUBMIT_SYNC, parameters=parameters,
                result_selector={"JobId.$": "$.JobId"}, result_path=BATCH if next_ else "$",
                retry=(stages.BATCH_RETRY,), catch=catch, next=next_)
