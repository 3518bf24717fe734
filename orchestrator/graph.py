"""Pictures of a workflow: the job DAG, or the states of a compiled state machine.

Both are built as one neutral graph (nodes, nested clusters, edges) and then written as
Mermaid or Graphviz dot. Node ids are assigned in a fixed visiting order, so the same input
always gives the same text.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from orchestrator import model
from orchestrator.errors import OrchestratorError

Format = Literal["mermaid", "dot"]
Shape = Literal["box", "diamond", "round", "double"]

_MERMAID_SHAPES: dict[Shape, tuple[str, str]] = {
    "box": ("[", "]"), "diamond": ("{", "}"), "round": ("([", "])"), "double": ("[[", "]]"),
}
_DOT_SHAPES: dict[Shape, str] = {
    "box": "box", "diamond": "diamond", "round": "ellipse", "double": "box3d",
}
_STATE_SHAPES: dict[str, Shape] = {
    "Choice": "diamond", "Succeed": "round", "Fail": "round", "Parallel": "double", "Map": "double",
}


@dataclass(frozen=True)
class _Node:
    id: str
    label: str
    shape: Shape = "box"


@dataclass(frozen=True)
class _Edge:
    src: str
    dst: str
    label: str = ""
    dashed: bool = False


@dataclass
class _Cluster:
    id: str
    label: str
    nodes: list[_Node] = field(default_factory=list)
    clusters: list[_Cluster] = field(default_factory=list)


@dataclass
class _Graph:
    name: str
    root: _Cluster
    edges: list[_Edge] = field(default_factory=list)
    ids_given: int = 0

    def new_id(self, prefix: str) -> str:
        self.ids_given += 1
        return f"{prefix}{self.ids_given - 1}"


def job_graph(wf: model.Workflow, fmt: Format = "mermaid") -> str:
    """Jobs and their after= edges; expects a workflow that passed validation."""
    column = wf.foreach.column if wf.foreach is not None else "sample"
    ids: dict[str, str] = {}
    g = _Graph(wf.name, _Cluster("root", wf.name))
    for job in wf.jobs:
        if job.name in ids:
            continue
        ids[job.name] = g.new_id("j")
        label = f"{job.name} [per {column}]" if job.per_sample else job.name
        g.root.nodes.append(_Node(ids[job.name], label, "double" if job.per_sample else "box"))
    seen: set[tuple[str, str]] = set()
    for job in wf.jobs:
        for dep in job.after:
            edge = (dep, job.name)
            if dep in ids and edge not in seen:
                seen.add(edge)
                g.edges.append(_Edge(ids[dep], ids[job.name]))
    return _to_text(g, fmt)


def state_machine_graph(definition: dict[str, Any], fmt: Format = "mermaid") -> str:
    """States and transitions of an ASL definition; Parallel branches and Map iterations are
    drawn as clusters inside the scope of their state."""
    g = _Graph(str(definition.get("Comment", "state machine"))[:60], _Cluster("root", ""))
    _Scope(g, g.root, "").add(definition)
    return _to_text(g, fmt)


class _Scope:
    """The states of one States object (the machine, a branch, or a Map's processor)."""

    def __init__(self, g: _Graph, cluster: _Cluster, where: str) -> None:
        self.g, self.cluster, self.where = g, cluster, where

    def add(self, machine: dict[str, Any]) -> str:
        """Adds the states and returns the node id of StartAt."""
        states = machine.get("States")
        start = machine.get("StartAt")
        if not isinstance(states, dict) or start not in states:
            raise OrchestratorError(f"{self.where or 'definition'}: needs States and a StartAt "
                                    "that names one of them")
        for name, state in states.items():
            if not isinstance(state, dict):
                raise OrchestratorError(f"state {name!r} is {state!r}, not an object")
        order = self._visit_order(states, str(start))
        ids = {name: self.g.new_id("s") for name in order}
        for name in order:
            shape = _STATE_SHAPES.get(str(states[name].get("Type")), "box")
            self.cluster.nodes.append(_Node(ids[name], name, shape))
        for name in order:
            for target, label, dashed in _transitions(states[name]):
                if target not in ids:
                    raise OrchestratorError(
                        f"state {name!r} goes to {target!r}, which is not a state in its scope")
                self.g.edges.append(_Edge(ids[name], ids[target], label, dashed))
            self._children(name, states[name], ids[name])
        return ids[str(start)]

    @staticmethod
    def _visit_order(states: dict[str, Any], start: str) -> list[str]:
        order: dict[str, None] = {}
        queue = deque([start])
        while queue:
            name = queue.popleft()
            if name in order or name not in states:
                continue
            order[name] = None
            queue.extend(t for t, _, _ in _transitions(states[name]))
        return [*order, *sorted(set(states) - set(order))]

    def _children(self, name: str, state: dict[str, Any], node_id: str) -> None:
        subs: list[tuple[str, dict[str, Any]]] = []
        if state.get("Type") == "Parallel":
            subs = [(f"{name}: branch {i + 1}", b) for i, b in enumerate(state.get("Branches", []))]
        elif state.get("Type") == "Map":
            processor = state.get("ItemProcessor", state.get("Iterator"))
            mode = (processor or {}).get("ProcessorConfig", {}).get("Mode", "INLINE")
            suffix = " (distributed)" if mode == "DISTRIBUTED" else ""
            subs = [(f"{name}: each item{suffix}", processor)] if processor else []
        for label, machine in subs:
            cluster = _Cluster(self.g.new_id("c"), label)
            self.cluster.clusters.append(cluster)
            start = _Scope(self.g, cluster, label).add(machine)
            self.g.edges.append(_Edge(node_id, start))


def _transitions(state: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, label, dashed) for every way out of a state, in a fixed order."""
    out: list[tuple[str, str, bool]] = []
    for rule in state.get("Choices", []):
        out.append((str(rule.get("Next")), _rule_text(rule), False))
    if "Default" in state:
        out.append((str(state["Default"]), "default", False))
    if "Next" in state:
        out.append((str(state["Next"]), "", False))
    for catch in state.get("Catch", []):
        out.append((str(catch.get("Next")), ", ".join(catch.get("ErrorEquals", [])), True))
    return out


_COMPARISONS = {"Equals": "==", "GreaterThan": ">", "GreaterThanEquals": ">=",
                "LessThan": "<", "LessThanEquals": "<=", "Matches": "matches"}


def _rule_text(rule: dict[str, Any]) -> str:
    """A Choice rule as a short condition: ``$.check.complete == true``."""
    if "Condition" in rule:
        return str(rule["Condition"])
    for joiner in ("And", "Or"):
        if joiner in rule:
            return f" {joiner.lower()} ".join(f"({_rule_text(r)})" for r in rule[joiner])
    if "Not" in rule:
        return f"not ({_rule_text(rule['Not'])})"
    var = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        if key.startswith("Is"):
            return f"{var} is {'' if value else 'not '}{key[2:].lower()}"
        base = key.removesuffix("Path")
        for kind in ("String", "Numeric", "Boolean", "Timestamp"):
            base = base.removeprefix(kind)
        shown = str(value) if key.endswith("Path") else json.dumps(value)
        return f"{var} {_COMPARISONS.get(base, key)} {shown}"
    return var


def _to_text(g: _Graph, fmt: str) -> str:
    if fmt == "mermaid":
        return _mermaid(g)
    if fmt == "dot":
        return _dot(g)
    raise OrchestratorError(f"unknown graph format {fmt!r}; use 'mermaid' or 'dot'")


def _mermaid_text(text: str) -> str:
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                      ("|", "#124;")):
        text = text.replace(raw, code)
    return f'"{text}"'


def _mermaid(g: _Graph) -> str:
    lines = ["flowchart TD"]

    def cluster(c: _Cluster, depth: int) -> None:
        pad = "    " * depth
        for n in c.nodes:
            left, right = _MERMAID_SHAPES[n.shape]
            lines.append(f"{pad}{n.id}{left}{_mermaid_text(n.label)}{right}")
        for sub in c.clusters:
            lines.append(f"{pad}subgraph {sub.id} [{_mermaid_text(sub.label)}]")
            cluster(sub, depth + 1)
            lines.append(f"{pad}end")

    cluster(g.root, 1)
    for e in g.edges:
        arrow = "-.->" if e.dashed else "-->"
        label = f"|{_mermaid_text(e.label)}|" if e.label else ""
        lines.append(f"    {e.src} {arrow}{label} {e.dst}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(g: _Graph) -> str:
    lines = [f"digraph {_dot_text(g.name)} {{", "    rankdir=TB;", "    node [shape=box];"]

    def cluster(c: _Cluster, depth: int) -> None:
        pad = "    " * depth
        for n in c.nodes:
            lines.append(f"{pad}{n.id} [label={_dot_text(n.label)}, shape={_DOT_SHAPES[n.shape]}];")
        for sub in c.clusters:
            lines.append(f"{pad}subgraph cluster_{sub.id} {{")
            lines.append(f"{pad}    label={_dot_text(sub.label)};")
            cluster(sub, depth + 1)
            lines.append(f"{pad}}}")

    cluster(g.root, 1)
    for e in g.edges:
        attrs = ([f"label={_dot_text(e.label)}"] if e.label else []) + \
            (["style=dashed"] if e.dashed else [])
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {e.src} -> {e.dst}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
