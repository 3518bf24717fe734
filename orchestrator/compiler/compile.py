"""Model -> ASL document. Pure: no AWS calls, no clock, no environment, no files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator import blocks, dag, fanout, model, names
from orchestrator.asl.check import check
from orchestrator.asl.states import (
    Json,
    Machine,
    Parallel,
    Pass,
    State,
    Succeed,
)
from orchestrator.blocks import Block, Node, label
from orchestrator.compiler import array, distributed, inline
from orchestrator.compiler.scope import Scope
from orchestrator.errors import Diagnostic, WorkflowError
from orchestrator_runtime import contracts as c
from orchestrator_runtime import limits


def arn_chars(service: str, resource_chars: int) -> int:
    """The longest ARN of ``service`` whose resource part is ``resource_chars`` long."""
    return (len("arn:") + limits.ARN_PARTITION_CHARS + 1 + len(service) + 1
            + limits.ARN_REGION_CHARS + 1 + limits.ACCOUNT_ID_CHARS + 1 + resource_chars)


# The longest value each kind of ${Key} can take once the stack fills it in.
FUNCTION_ARN_CHARS = arn_chars("lambda", len("function:") + limits.LAMBDA_FUNCTION_NAME_CHARS)
JOB_QUEUE_ARN_CHARS = arn_chars("batch", len("job-queue/") + limits.BATCH_NAME_CHARS)
JOB_DEFINITION_ARN_CHARS = arn_chars(
    "batch", len("job-definition/") + limits.BATCH_NAME_CHARS + 1 + limits.BATCH_REVISION_DIGITS)


def substituted_chars(key: str) -> int:
    """The most characters ``${key}`` can become (an ARN)."""
    if key == c.SUB_CHECK_FUNCTION:
        return FUNCTION_ARN_CHARS
    if key == c.SUB_JOB_QUEUE:
        return JOB_QUEUE_ARN_CHARS
    return JOB_DEFINITION_ARN_CHARS


class DefinitionTooLarge(WorkflowError):
    """The compiled definition would exceed Step Functions' size limit once deployed."""

    def __init__(self, wf: model.Workflow, size: int) -> None:
        self.size = size
        super().__init__([Diagnostic(
            "definition-too-large",
            f"the state machine of workflow {wf.name!r} is up to {size:,} bytes once ARNs are "
            f"filled in; Step Functions allows {limits.DEFINITION_BYTES:,}",
            wf.source.file, wf.source.line,
            "split the workflow into smaller ones (each stage costs about 1.5 kB of definition, "
            "whatever its command)",
        )])


def deployed_size(definition_json: str) -> int:
    """Bytes of a rendered definition once every ``${Key}`` is replaced by its ARN, at the
    longest that ARN can be."""
    keys = c.substitution_keys(definition_json)
    return len(definition_json.encode()) + sum(
        substituted_chars(k) - len(c.substitution(k)) for k in keys)


def check_size(wf: model.Workflow, definition_json: str) -> None:
    """Raise :class:`DefinitionTooLarge` when the deployed definition would be too large."""
    size = deployed_size(definition_json)
    if size > limits.DEFINITION_BYTES:
        raise DefinitionTooLarge(wf, size)


class Emitter:
    def __init__(self, wf: model.Workflow, weights: dict[Node, float]) -> None:
        self.wf = wf
        self.weights = weights
        self.scope = Scope(wf)  # where stages go: the top-level machine until a branch

    @contextmanager
    def scoped(self, name: str) -> Iterator[Scope]:
        """Stages emitted inside go to a new scope, named ``name``, which it yields (its
        shared states are complete once the block ends)."""
        outer, self.scope = self.scope, Scope(self.wf, name)
        try:
            yield self.scope
        finally:
            self.scope = outer

    def emit(self, p: dag.Plan[Node], next_: str) -> tuple[str, list[State]]:
        """States of plan ``p`` continuing to ``next_``; returns (first state, states)."""
        if isinstance(p, dag.Leaf):
            if isinstance(p.name, Block):
                return self.block(p.name, next_)
            sts = self.scope.stage(self.wf.job(p.name), next_)
            return sts[0].name, sts
        if isinstance(p, dag.Seq):
            out: list[State] = []
            for item in reversed(p.items):
                next_, sts = self.emit(item, next_)
                out = sts + out
            return next_, out
        return self.parallel(p, next_)

    def parallel(self, p: dag.Par[Node], next_: str) -> tuple[str, list[State]]:
        branches = [self.branch(b) for b in p.branches]
        name = _parallel_name(p)
        state = Parallel(name, branches=tuple(branches), next=next_, result_path=None,
                         comment="Independent stages run at the same time")
        if fanout.choose(self.wf) == "map":
            state = distributed.hand_on(self.wf, state, [
                any(isinstance(n, Block) for n in dag.leaves(b)) for b in p.branches])
        return name, [state]

    def block(self, b: Block, next_: str) -> tuple[str, list[State]]:
        strategy = fanout.choose(self.wf)
        if strategy == "array":
            return array.block(self, b, next_)
        if strategy == "map":
            return distributed.block(self, b, next_)
        return inline.block(self, b, next_)

    def branch(self, p: dag.Plan[Node]) -> Machine:
        first = blocks.branch_name(p, label)
        done = Succeed(names.branch_done(first))
        with self.scoped(names.branch_scope(first)) as scope:
            start, sts = self.emit(p, done.name)
        return Machine(start, (*sts, *scope.states(), done))


def _parallel_name(p: dag.Par[Node]) -> str:
    return blocks.parallel_name(p, label)


def build_machine(wf: model.Workflow) -> Machine:
    plan, w = blocks.top_plan(wf)
    by_sheet = fanout.reads_sheet(wf)
    count = "$.sheet.count" if by_sheet else f"States.ArrayLength($.{c.SAMPLES_KEY})"
    done = Pass(names.DONE, parameters={"workflow": wf.name, "samples.$": count})
    em = Emitter(wf, w)
    start, sts = em.emit(plan, done.name)
    sts += em.scope.states()
    defaults: Json = {c.PARAMS_KEY: {}, c.SAMPLES_KEY: [], c.FORCE_KEY: [], c.ONLY_KEY: []}
    guard: list[State] = []
    if by_sheet:
        defaults["sheet"] = ""  # or the s3:// URI of a sample sheet (CSV or JSON lines)
        guard = (distributed.prelude if fanout.choose(wf) == "map" else array.prelude)(
            wf, start)
        start = guard[0].name
    elif wf.foreach is not None:
        guard = inline.guard(wf, start)
        start = guard[0].name
    read = Pass(names.READ_INPUT, next=names.APPLY_DEFAULTS, parameters={
        "defaults": defaults, "input.$": "$"},
        comment="samples and params may be omitted from the execution input")
    merge = Pass(names.APPLY_DEFAULTS, next=start, output_path="$.merged", parameters={
        "merged.$": "States.JsonMerge($.defaults, $.input, false)"})
    comment = f"{wf.name}: {wf.description}" if wf.description else wf.name
    return Machine(read.name, (read, merge, *guard, *sts, done),
                   comment=f"{comment} (generated by orchestrator; do not edit)")


def compile_workflow(wf: model.Workflow) -> dict[str, Any]:
    """The ASL document of a valid workflow (validate first: see orchestrator.validate)."""
    doc = build_machine(wf).to_asl()
    check(doc)
    check_size(wf, asl_text(doc))
    return doc


def asl_text(doc: dict[str, Any]) -> str:
    """Deterministic JSON, as committed and as deployed: key order as built, one state per
    line (nested machines' states too, indented by depth), no other whitespace, trailing
    newline. Indentation would cost about 60% of the definition's 1 MB; one state per line
    keeps a diff readable state by state."""
    return _render(doc, 0) + "\n"


MAX_INDENT = 8  # deeper machines are not indented further: a line's cost stays bounded


def _render(value: Any, depth: int, states: bool = False) -> str:
    """``value`` compact, except the objects and lists on the way to a ``States`` object,
    whose members go one per line (so each state is one line)."""
    if not (states or _holds_states(value)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    pad, inner = " " * min(depth, MAX_INDENT), " " * min(depth + 1, MAX_INDENT)
    if isinstance(value, list):
        lines = [inner + _render(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(lines) + "\n" + pad + "]"
    lines = [inner + json.dumps(k, ensure_ascii=False) + ":" + _render(v, depth + 1, k == "States")
             for k, v in value.items()]
    return "{\n" + ",\n".join(lines) + "\n" + pad + "}"


def _holds_states(value: Any) -> bool:
    if isinstance(value, dict):
        return "States" in value or any(_holds_states(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_states(v) for v in value)
    return False
