"""The same state machine built through the AWS Step Functions Data Science SDK's step classes.

A baseline for the compiler's figures (benchmarks/run.py, row 1): every state of a compiled
definition is rebuilt as a ``stepfunctions.steps`` object (Task, Pass, Choice, Map, Parallel,
Succeed, Fail, with Retry and Catch blocks and choice rules), linked with ``next`` as a user of
the SDK would, and serialized with ``Graph(...).to_json()``. The SDK (2.3) predates a few ASL
fields the compiler writes (ResultSelector, ItemSelector, ItemProcessor, CausePath, a retrier's
MaxDelaySeconds and JitterStrategy): those are set on the step's field table after it is built,
so the SDK still serializes them, and a Map subclass writes its states as ItemProcessor (with
its ProcessorConfig) instead of the older Iterator. :func:`same_states` checks that the SDK's
document is the compiler's.

Run: python benchmarks/sdk_baseline.py [WORKFLOW.py]  (prints sizes and build times)
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")  # stepfunctions imports sagemaker
logging.getLogger("sagemaker").setLevel(logging.ERROR)
logging.getLogger("sagemaker.config").setLevel(logging.ERROR)

Json = dict[str, Any]
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _steps() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stepfunctions import steps
    return steps


def _fields(step: Any, doc: Json, skip: set[str]) -> None:
    """Copy the ASL fields of ``doc`` onto ``step`` (fields the SDK refuses included)."""
    for key, value in doc.items():
        if key not in skip:
            step.fields[_snake(key)] = value


def build(doc: Json) -> Any:
    """An SDK ``Graph`` of the machine ``doc`` (ASL), built state by state."""
    steps = _steps()
    return steps.Graph(_machine(steps, doc), comment=doc.get("Comment"))


LINKS = {"Type", "Next", "End", "Retry", "Catch", "Choices", "Default", "Branches",
         "ItemProcessor", "Iterator"}


def _map_class(steps: Any) -> Any:
    class Map(steps.Map):  # type: ignore[misc]
        """The SDK's Map, writing ItemProcessor (ASL since 2022) rather than Iterator."""

        def __init__(self, state_id: str, config: Json | None) -> None:
            super().__init__(state_id)
            self.config = config

        def to_dict(self) -> Json:
            out: Json = super().to_dict()
            out["ItemProcessor"] = out.pop("Iterator")
            if self.config is not None:
                out["ItemProcessor"]["ProcessorConfig"] = self.config
            return out

    return Map


def _machine(steps: Any, doc: Json) -> Any:
    """The start state of ``doc`` (a machine or a branch), every state linked."""
    made: dict[str, Any] = {}
    for name, state in doc["States"].items():
        kind = state["Type"]
        if kind == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            step = _map_class(steps)(name, processor.get("ProcessorConfig"))
            step.attach_iterator(_machine(steps, processor))
        else:
            step = {"Task": steps.Task, "Pass": steps.Pass, "Choice": steps.Choice,
                    "Parallel": steps.Parallel, "Succeed": steps.Succeed, "Fail": steps.Fail,
                    "Wait": steps.Wait}[kind](name)
        _fields(step, state, LINKS)
        if kind == "Parallel":
            for branch in state["Branches"]:
                step.add_branch(_machine(steps, branch))
        made[name] = step
    for name, state in doc["States"].items():
        step = made[name]
        if "Next" in state:
            step.next(made[state["Next"]])
        for retry in state.get("Retry", []):
            r = steps.Retry(error_equals=retry["ErrorEquals"])
            _fields(r, retry, {"ErrorEquals"})
            step.add_retry(r)
        for catch in state.get("Catch", []):
            c = steps.Catch(error_equals=catch["ErrorEquals"], next_step=made[catch["Next"]])
            _fields(c, catch, {"ErrorEquals", "Next"})
            step.add_catch(c)
        if state["Type"] == "Choice":
            for choice in state["Choices"]:
                rule = {k: v for k, v in choice.items() if k != "Next"}
                step.add_choice(_rule(steps, rule), made[choice["Next"]])
            if "Default" in state:
                step.default_choice(made[state["Default"]])
    return made[doc["StartAt"]]


def _rule(steps: Any, rule: Json) -> Any:
    from stepfunctions.steps import choice_rule

    if "Not" in rule:
        return choice_rule.NotRule(_rule(steps, rule["Not"]))
    for op in ("And", "Or"):
        if op in rule:
            return choice_rule.CompoundRule(op, [_rule(steps, r) for r in rule[op]])
    (op, value), = ((k, v) for k, v in rule.items() if k != "Variable")
    return choice_rule.Rule(rule["Variable"], op, value)


def timed_build(doc: Json, repeat: int = 1) -> tuple[float, str]:
    """(best seconds of ``repeat``, JSON text): build the SDK graph of ``doc``, serialize it.

    The SDK walks a chain of states recursively (one Python frame per state and more), so a
    machine of hundreds of stages needs a deeper recursion limit than the default 1,000.
    """
    _steps()  # the import is not timed
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50 * len(json.dumps(doc)) // 1000 + 1000))
    try:
        best, text = float("inf"), ""
        for _ in range(repeat):
            started = time.perf_counter()
            text = build(doc).to_json()
            best = min(best, time.perf_counter() - started)
        return best, text
    finally:
        sys.setrecursionlimit(limit)


def same_states(doc: Json, sdk_text: str) -> bool:
    """Whether the SDK's document is the compiler's (as JSON values: key order aside)."""
    return bool(json.loads(sdk_text) == doc)


def main() -> None:
    from orchestrator import loader
    from orchestrator.compiler import compile_workflow

    files = sys.argv[1:] or ["examples/rnaseq.py", "examples/diamond.py"]
    print(f"{'workflow':<12} {'compiler KB':>11} {'SDK KB':>8} {'SDK build s':>11} same")
    for f in files:
        for wf in loader.load_file(f):
            doc = compile_workflow(wf)
            seconds, text = timed_build(doc)
            print(f"{wf.name:<12} {len(json.dumps(doc)) / 1000:>11.1f} "
                  f"{len(text) / 1000:>8.1f} {seconds:>11.4f} {same_states(doc, text)}")


if __name__ == "__main__":
    main()
