"""One class per ASL state type; Retry and Catch are values. Everything renders to plain dicts.

States are frozen: the compiler builds sequences back to front, so every state knows its
``next`` when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


# What a Retrier means when a field is absent (Amazon States Language, "Retrying after an
# error").
ASL_INTERVAL_SECONDS = 1
ASL_MAX_ATTEMPTS = 3
ASL_BACKOFF_RATE = 2.0


@dataclass(frozen=True)
class Retry:
    errors: tuple[str, ...]
    interval_seconds: int = 2
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False

    def to_asl(self) -> Json:
        """Fields equal to the language's defaults (IntervalSeconds 1, MaxAttempts 3,
        BackoffRate 2.0) are left out: every byte counts against the definition's limit."""
        out: Json = {"ErrorEquals": list(self.errors)}
        if self.interval_seconds != ASL_INTERVAL_SECONDS:
            out["IntervalSeconds"] = self.interval_seconds
        if self.max_attempts != ASL_MAX_ATTEMPTS:
            out["MaxAttempts"] = self.max_attempts
        if self.backoff_rate != ASL_BACKOFF_RATE:
            out["BackoffRate"] = self.backoff_rate
        if self.max_delay_seconds is not None:
            out["MaxDelaySeconds"] = self.max_delay_seconds
        if self.jitter:
            out["JitterStrategy"] = "FULL"
        return out


@dataclass(frozen=True)
class Catch:
    next: str
    errors: tuple[str, ...] = ("States.ALL",)
    result_path: str | None = "$.error"

    def to_asl(self) -> Json:
        return {"ErrorEquals": list(self.errors), "ResultPath": self.result_path,
                "Next": self.next}


@dataclass(frozen=True)
class State:
    name: str

    def to_asl(self) -> Json:
        raise NotImplementedError


def _flow(next_: str | None) -> Json:
    return {"Next": next_} if next_ else {"End": True}


@dataclass(frozen=True)
class Task(State):
    resource: str
    parameters: Json
    next: str | None = None
    result_selector: Json | None = None
    result_path: str | None = "$"
    retry: tuple[Retry, ...] = ()
    catch: tuple[Catch, ...] = ()
    comment: str = ""

    def to_asl(self) -> Json:
        out: Json = {"Type": "Task"}
        if self.comment:
            out["Comment"] = self.comment
        out["Resource"] = self.resource
        out["Parameters"] = self.parameters
        if self.result_selector is not None:
            out["ResultSelector"] = self.result_selector
        if self.result_path != "$":
            out["ResultPath"] = self.result_path
        if self.retry:
            out["Retry"] = [r.to_asl() for r in self.retry]
        if self.catch:
            out["Catch"] = [c.to_asl() for c in self.catch]
        return out | _flow(self.next)


@dataclass(frozen=True)
class Pass(State):
    next: str | None = None
    parameters: Json | None = None
    result_path: str | None = "$"
    output_path: str | None = None
    comment: str = ""
    input_path: str = "$"

    def to_asl(self) -> Json:
        out: Json = {"Type": "Pass"}
        if self.comment:
            out["Comment"] = self.comment
        if self.input_path != "$":
            out["InputPath"] = self.input_path
        if self.parameters is not None:
            out["Parameters"] = self.parameters
        if self.result_path != "$":
            out["ResultPath"] = self.result_path
        if self.output_path is not None:
            out["OutputPath"] = self.output_path
        return out | _flow(self.next)


@dataclass(frozen=True)
class ChoiceRule:
    variable: str
    test: str  # comparison operator, e.g. "BooleanEquals"
    value: Any
    next: str

    def to_asl(self) -> Json:
        return {"Variable": self.variable, self.test: self.value, "Next": self.next}


@dataclass(frozen=True)
class Choice(State):
    rules: tuple[ChoiceRule, ...]
    default: str
    comment: str = ""

    def to_asl(self) -> Json:
        out: Json = {"Type": "Choice"}
        if self.comment:
            out["Comment"] = self.comment
        return out | {"Choices": [r.to_asl() for r in self.rules], "Default": self.default}


@dataclass(frozen=True)
class Succeed(State):
    def to_asl(self) -> Json:
        return {"Type": "Succeed"}


@dataclass(frozen=True)
class Fail(State):
    error: str
    cause: str = ""
    cause_path: str = ""

    def to_asl(self) -> Json:
        out: Json = {"Type": "Fail", "Error": self.error}
        if self.cause_path:
            out["CausePath"] = self.cause_path
        elif self.cause:
            out["Cause"] = self.cause
        return out


@dataclass(frozen=True)
class Parallel(State):
    branches: tuple[Machine, ...]
    next: str | None = None
    result_path: str | None = None
    catch: tuple[Catch, ...] = ()
    comment: str = ""
    result_selector: Json | None = None

    def to_asl(self) -> Json:
        out: Json = {"Type": "Parallel"}
        if self.comment:
            out["Comment"] = self.comment
        out["Branches"] = [b.to_asl() for b in self.branches]
        if self.result_selector is not None:
            out["ResultSelector"] = self.result_selector
        out["ResultPath"] = self.result_path
        if self.catch:
            out["Catch"] = [c.to_asl() for c in self.catch]
        return out | _flow(self.next)


def _map_head(comment: str) -> Json:
    out: Json = {"Type": "Map"}
    if comment:
        out["Comment"] = comment
    return out


@dataclass(frozen=True)
class Map(State):
    items_path: str
    item_selector: Json
    processor: Machine
    max_concurrency: int
    next: str | None = None
    result_path: str | None = "$"
    comment: str = ""

    def to_asl(self) -> Json:
        out = _map_head(self.comment)
        processor = {"ProcessorConfig": {"Mode": "INLINE"}} | self.processor.to_asl()
        out |= {
            "ItemsPath": self.items_path,
            "ItemSelector": self.item_selector,
            "MaxConcurrency": self.max_concurrency,
            "ItemProcessor": processor,
        }
        if self.result_path != "$":
            out["ResultPath"] = self.result_path
        return out | _flow(self.next)


@dataclass(frozen=True)
class DistributedMap(State):
    """A Map in DISTRIBUTED mode: each item is a child execution (ExecutionType STANDARD,
    the only type with the ``.sync`` integrations) with its own history.

    ``reader``, ``writer``: the ItemReader and ResultWriter objects as ASL writes them.
    ``rebind``: context paths the children must read from their input instead (inside a
    child, ``$$.Execution.Id`` names the child, not the run), each path's string value
    replaced throughout the processor's states.
    """

    reader: Json
    item_selector: Json
    processor: Machine
    max_concurrency: int
    writer: Json
    tolerated_failure_count: int = 0
    rebind: tuple[tuple[str, str], ...] = ()
    next: str | None = None
    result_path: str | None = "$"
    comment: str = ""

    def to_asl(self) -> Json:
        out = _map_head(self.comment)
        processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}
        processor |= _rebound(self.processor.to_asl(), dict(self.rebind))
        out |= {
            "ItemReader": self.reader,
            "ItemSelector": self.item_selector,
            "MaxConcurrency": self.max_concurrency,
            "ToleratedFailureCount": self.tolerated_failure_count,
            "ItemProcessor": processor,
            "ResultWriter": self.writer,
        }
        if self.result_path != "$":
            out["ResultPath"] = self.result_path
        return out | _flow(self.next)


def _rebound(value: Any, paths: dict[str, str]) -> Any:
    if isinstance(value, str):
        return paths.get(value, value)
    if isinstance(value, dict):
        return {k: _rebound(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebound(v, paths) for v in value]
    return value


@dataclass(frozen=True)
class Machine:
    """A scope of states: the whole state machine, a Parallel branch or a Map processor."""

    start_at: str
    states: tuple[State, ...]
    comment: str = ""
    extra: Json = field(default_factory=dict)  # top-level only, e.g. TimeoutSeconds

    def to_asl(self) -> Json:
        out: Json = {}
        if self.comment:
            out["Comment"] = self.comment
        out["StartAt"] = self.start_at
        out["States"] = {s.name: s.to_asl() for s in self.states}
        return out | self.extra
