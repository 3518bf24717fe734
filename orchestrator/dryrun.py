"""`orchestrator plan`: what a run would do, per stage and sample, without running anything.

Each (stage, sample) is judged by the code a run uses: the stage's "pre" request is built from
the compiler's own payload (:func:`orchestrator.compiler.stages.check_payload`, its JSONPath
fields filled with the run's samples, params, ``--force`` and ``--only``), resolved by
:func:`orchestrator_runtime.resolve.resolve` and judged by
:func:`orchestrator_runtime.outputs.judge` (with ``forced`` and ``selected``) on one batched
look at the bucket (:func:`orchestrator_runtime.s3util.inspect` and ``folders``, as the array
strategy's "plan" does). Only a stale stage's marker is read (one GET each) to say what
changed (:mod:`orchestrator_runtime.why`).

A stage whose own outputs are complete still runs when a stage that runs before it rewrites
one of its inputs (by resolved URI, so per sample): it is shown as running "after" that stage.
That assumes the rewritten input's bytes change; when they come out the same the run skips it,
so the count of jobs is what a run submits at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from orchestrator import fanout, jobspec, model
from orchestrator.compiler import stages as compiled
from orchestrator_runtime import contracts as c
from orchestrator_runtime import s3util, why
from orchestrator_runtime.outputs import StageInputsMissing, forced, judge, selected, stage_uris
from orchestrator_runtime.resolve import BadCheckRequest, Stage, resolve

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Status = Literal["complete", "missing", "stale", "upstream", "unselected", "blocked"]
STATUSES: Final[tuple[Status, ...]] = ("complete", "missing", "stale", "upstream",
                                       "unselected", "blocked")
SHOWN: Final = 3  # objects named in one reason
MARKER_READERS: Final = 8  # markers read at once
# The execution a planned request names: only task and plan locations derive from it, and a
# plan writes nothing.
PLAN_EXECUTION: Final = "arn:aws:states:us-east-1:000000000000:execution:{workflow}:plan"


@dataclass(frozen=True)
class Item:
    """The verdict on one stage for one sample (``sample`` is ``_once`` for a once-stage)."""

    stage: str
    sample: str
    status: Status
    runs: bool
    reason: str
    after: tuple[str, ...] = ()  # stages that run first and rewrite this one's inputs

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "sample": self.sample, "status": self.status,
                "runs": self.runs, "reason": self.reason, "after": list(self.after)}


@dataclass(frozen=True)
class Plan:
    workflow: str
    strategy: str
    samples: int
    stages: tuple[str, ...]
    per_sample: frozenset[str]
    items: tuple[Item, ...]
    only: tuple[str, ...] = ()
    force: tuple[str, ...] = ()

    def of(self, stage: str) -> list[Item]:
        return [i for i in self.items if i.stage == stage]

    @property
    def submits(self) -> dict[str, int]:
        """Jobs a run would submit, by stage (every stage, in order; array children count
        one each)."""
        return {s: sum(1 for i in self.of(s) if i.runs) for s in self.stages}

    @property
    def total(self) -> int:
        return sum(self.submits.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow, "strategy": self.strategy, "samples": self.samples,
            "only": list(self.only), "force": list(self.force),
            "submits": {"total": self.total, "by_stage": self.submits},
            "stages": [{"stage": s, "per_sample": s in self.per_sample,
                        "runs": self.submits[s],
                        "counts": {st: n for st in STATUSES
                                   if (n := sum(1 for i in self.of(s) if i.status == st))}}
                       for s in self.stages],
            "items": [i.to_json() for i in self.items],
        }


def requests(wf: model.Workflow, execution_input: Mapping[str, Any]) -> list[c.CheckRequest]:
    """The "pre" request of every (stage, sample) a run started with ``execution_input``
    (as :func:`orchestrator.samples.execution_input` builds it) checks, in stage order: the
    compiler's payload with the input's values where the state machine reads them."""
    rows = [dict(r) for r in execution_input.get(c.SAMPLES_KEY) or []]
    given: dict[str, Any] = {
        "execution": PLAN_EXECUTION.format(workflow=wf.name),
        "samples": rows, "sheet": rows,  # array: the once-stage reads the sheet's rows
        "params": dict(execution_input.get(c.PARAMS_KEY) or {}),
        "force": list(execution_input.get(c.FORCE_KEY) or []),
        "only": list(execution_input.get(c.ONLY_KEY) or []),
    }
    out: list[c.CheckRequest] = []
    for job in wf.jobs:
        payload = compiled.check_payload(wf, job, "pre")
        # the spec the check function would read from the job definition, given inline
        payload |= {"job": jobspec.job_spec(wf, job),
                    "param_defaults": jobspec.param_defaults(wf)}
        for row in (rows if job.per_sample else [None]):
            out.append(_fill(payload, {**given, "sample": row}))
    return out


def _fill(payload: Mapping[str, Any], given: Mapping[str, Any]) -> c.CheckRequest:
    request: dict[str, Any] = {}
    for key, value in payload.items():
        if not key.endswith(".$"):
            request[key] = value
            continue
        name = key[:-2]
        if name not in given:
            raise AssertionError(f"plan: the compiled payload's {key} is not filled")
        request["samples" if name == "sheet" else name] = given[name]
    return request  # type: ignore[return-value]


@dataclass
class _Judged:
    request: c.CheckRequest
    stage: Stage | None
    status: Status
    reason: str
    own_runs: bool
    absent_inputs: list[str] = field(default_factory=list)
    marker: str = ""  # URI of the marker to read (stale stages only)
    asked: tuple[str, ...] = ()  # the stages --force named
    after: set[str] = field(default_factory=set)
    runs: bool = False


def plan(s3: S3Client, wf: model.Workflow, execution_input: Mapping[str, Any], *,
         force: Sequence[str] = ()) -> Plan:
    """What a run of ``wf`` started with ``execution_input`` would skip and run. ``force`` is
    what the user asked to force (the input's list also holds the stages after those)."""
    judged = [_resolve(r, force) for r in requests(wf, execution_input)]
    stages = [j.stage for j in judged if j.stage is not None and j.status != "unselected"]
    seen = s3util.inspect(s3, [u for st in stages for u in stage_uris(st)])
    markers = s3util.folders(s3, [st.marker_folder for st in stages])
    for j in judged:
        if j.stage is not None and j.status != "unselected":
            _judge(j, j.stage, seen, markers[j.stage.marker_folder])
    _explain_stale(s3, judged, seen)
    _propagate(judged)
    items = tuple(_item(j) for j in judged)
    samples = execution_input.get(c.SAMPLES_KEY) or []
    return Plan(wf.name, fanout.choose(wf), len(samples), tuple(j.name for j in wf.jobs),
                frozenset(j.name for j in wf.jobs if j.per_sample), items,
                tuple(execution_input.get(c.ONLY_KEY) or ()), tuple(force))


def _resolve(request: c.CheckRequest, asked: Sequence[str]) -> _Judged:
    try:
        stage = resolve(request)
    except BadCheckRequest as exc:
        return _Judged(request, None, "blocked", f"cannot run: {exc}", own_runs=False)
    if not selected(request, stage.sample_id):
        return _Judged(request, stage, "unselected", "the run names other samples (--only)",
                       own_runs=False)
    return _Judged(request, stage, "complete", "", own_runs=False, asked=tuple(asked))


def _judge(j: _Judged, stage: Stage, seen: Mapping[str, s3util.ObjectInfo | None],
           names: list[str]) -> None:
    base = stage.job["bucket"].rstrip("/") + "/"
    try:
        own = judge(stage, seen, names)
    except StageInputsMissing:
        j.absent_inputs = [u for uris in stage.inputs.values() for u in uris if seen[u] is None]
        j.status = "blocked"
        j.reason = f"input(s) missing: {_names(j.absent_inputs, base)}"
        return
    verdict = forced(j.request, own)
    j.own_runs = not verdict.complete
    if verdict.complete:
        j.status, j.reason = "complete", "outputs current"
    elif own.complete:
        j.status = "stale"
        j.reason = (f"forced (--force {stage.stage})" if stage.stage in j.asked or not j.asked
                    else f"forced: runs after a forced stage (--force {', '.join(j.asked)})")
    elif own.status == "missing":
        absent = [u for u in stage.outputs.values() if seen[u] is None]
        empty = [u for u in own.missing if u not in absent]
        parts = []
        if absent and len(absent) == len(stage.outputs):
            parts.append("no outputs yet")
        elif absent:
            parts.append(f"output(s) missing: {_names(absent, base)}")
        if empty:
            parts.append(f"output(s) empty: {_names(empty, base)}")
        j.status, j.reason = "missing", "; ".join(parts)
    else:
        j.status = "stale"
        parsed = {n: p for n in names if (p := c.parse_marker_name(n)) is not None}
        if not parsed:
            j.reason = ("outputs present but no marker vouches for them (made outside a run, "
                        "or a run stopped before writing it)")
            return
        digest = c.outputs_digest({n: _etag(seen, u) for n, u in stage.outputs.items()})
        # The marker that vouched for the outputs as they are now, else any: what made them.
        name = next((n for n, (_, d) in sorted(parsed.items()) if d == digest),
                    sorted(parsed)[0])
        j.marker = stage.marker_folder + name


def _explain_stale(s3: S3Client, judged: Iterable[_Judged],
                   seen: Mapping[str, s3util.ObjectInfo | None]) -> None:
    """Read each stale stage's marker (one GET each, a few at a time) and say what changed."""
    stale = [j for j in judged if j.marker and j.stage is not None]

    def body(j: _Judged) -> Any:
        try:
            return s3util.get_json(s3, j.marker)
        except ValueError:
            return None

    with ThreadPoolExecutor(max_workers=max(1, min(MARKER_READERS, len(stale)))) as pool:
        bodies = list(pool.map(body, stale))
    for j, doc in zip(stale, bodies, strict=True):
        st = j.stage
        assert st is not None
        inputs = {n: [_etag(seen, u) for u in uris] for n, uris in st.inputs.items()}
        outputs = {n: (info.etag if (info := seen[u]) is not None else None)
                   for n, u in st.outputs.items()}
        j.reason = why.stale_reason(st, inputs, outputs, doc if isinstance(doc, dict) else {})


def _propagate(judged: list[_Judged]) -> None:
    """Mark what runs: a stage's own verdict, or a stage that runs first rewrites an input."""
    producer: dict[str, _Judged] = {}
    for j in judged:
        if j.stage is not None and j.status != "unselected":
            for uri in j.stage.outputs.values():
                producer[uri] = j
    for j in judged:
        j.runs = j.own_runs
    changed = True
    while changed:
        changed = False
        for j in judged:
            if j.stage is None or j.status == "unselected":
                continue
            ups = {p.stage.stage for u in _input_uris(j.stage)
                   if (p := producer.get(u)) is not None and p.runs and p is not j
                   and p.stage is not None}
            if ups - j.after:
                j.after |= ups
                changed = True
            if j.status == "blocked":
                made = all((p := producer.get(u)) is not None and p.runs
                           for u in j.absent_inputs)
                if not (made and j.absent_inputs) or j.runs:
                    continue
            if ups and not j.runs:
                j.runs = True
                changed = True
    for j in judged:
        if j.status == "blocked" and not j.runs and j.stage is not None:
            unmade = [u for u in j.absent_inputs
                      if (p := producer.get(u)) is None or not p.runs]
            base = j.stage.job["bucket"].rstrip("/") + "/"
            j.reason = (f"input(s) missing: {_names(unmade, base)}; no stage of the run "
                        "makes them")


def _item(j: _Judged) -> Item:
    sample = (j.stage.sample if j.stage is not None
              else c.sample_label(_sample_id(j.request)))
    after = tuple(sorted(j.after))
    status, reason = j.status, j.reason
    if j.runs and not j.own_runs:
        status, reason = "upstream", ("outputs current, but its input(s) will be rewritten"
                                      if j.status != "blocked" else "its input(s) are not made "
                                      "yet")
    elif j.runs and after:
        reason = f"{reason}; after {', '.join(after)}"
    return Item(j.request["stage"], sample, status, j.runs, reason, after)


def _sample_id(request: c.CheckRequest) -> str | None:
    row = request.get("sample")
    column = request.get("sample_column")
    if not isinstance(row, dict) or not column:
        return None
    value = row.get(column)
    return None if value is None else str(value)


def _input_uris(stage: Stage) -> list[str]:
    return [u for uris in stage.inputs.values() for u in uris]


def _etag(seen: Mapping[str, s3util.ObjectInfo | None], uri: str) -> str:
    info = seen[uri]
    return info.etag if info is not None else ""


def _names(uris: Sequence[str], base: str) -> str:
    def rel(u: str) -> str:
        return u[len(base):] if u.startswith(base) else u

    shown = ", ".join(rel(u) for u in uris[:SHOWN])
    return shown + (f" and {len(uris) - SHOWN} more" if len(uris) > SHOWN else "")


# --- grouping for people ----------------------------------------------------------------------

GROUPS_SHOWN: Final = 8  # distinct (status, reason) rows per stage before the rest is folded


@dataclass(frozen=True)
class Row:
    stage: str
    samples: str
    verdict: str
    reason: str


def verdict_text(item: Item) -> str:
    return {
        "complete": "complete (skip)",
        "missing": "missing (run)",
        "stale": "stale (run)",
        "upstream": f"will run (after {', '.join(item.after)})",
        "unselected": "not selected",
        "blocked": "will run" if item.runs else "cannot run",
    }[item.status]


def rows(p: Plan, label: Callable[[Sequence[str], int], str] | None = None) -> list[Row]:
    """The plan as table rows: per stage, samples with the same verdict and reason together
    (at most GROUPS_SHOWN rows per stage; the rest folded by verdict)."""
    name = label or _samples_label
    out: list[Row] = []
    for stage in p.stages:
        items = p.of(stage)
        groups: dict[tuple[str, str], list[str]] = {}
        for i in items:
            groups.setdefault((verdict_text(i), i.reason), []).append(i.sample)
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))  # then sheet order
        shown, rest = ordered[:GROUPS_SHOWN], ordered[GROUPS_SHOWN:]
        for (verdict, reason), samples in shown:
            out.append(Row(stage, name(samples, len(items)), verdict, reason))
        folded: dict[str, list[str]] = {}
        for (verdict, _), samples in rest:
            folded.setdefault(verdict, []).extend(samples)
        for verdict, samples in folded.items():
            out.append(Row(stage, name(samples, len(items)), verdict,
                           "various reasons (--json lists each)"))
    return out


def _samples_label(samples: Sequence[str], total: int) -> str:
    if samples == [c.ONCE]:
        return "(once)"
    if len(samples) == total and total > 1:
        return f"all {total}"
    if len(samples) <= SHOWN:
        return ", ".join(samples)
    return f"{len(samples)} ({', '.join(samples[:2])}, ...)"


def summary(p: Plan) -> str:
    """``a run would submit 4 jobs (count: 3, report: 1)``, plus what cannot run."""
    by = ", ".join(f"{s}: {n}" for s, n in p.submits.items() if n)
    line = (f"a run would submit {p.total} job{'s' if p.total != 1 else ''}"
            + (f" ({by})" if by else ": everything is complete"))
    blocked = [i for i in p.items if i.status == "blocked" and not i.runs]
    if blocked:
        first = blocked[0]
        line += (f"; {len(blocked)} stage run(s) cannot start and would fail the run "
                 f"(first: {first.stage} {first.sample}: {first.reason})")
    return line
