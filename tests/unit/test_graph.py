"""Mermaid and dot pictures of the job DAG and of compiled state machines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.graph import job_graph, state_machine_graph
from orchestrator.loader import load_one

ROOT = Path(__file__).resolve().parents[2]
MERMAID_NODE = re.compile(r'^\s+(\w+)(\[\[|\[|\{|\(\[)"([^"]*)"(\]\]|\]|\}|\]\))$')
MERMAID_EDGE = re.compile(r'^\s+(\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)$')
DOT_NODE = re.compile(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)", shape=\w+\];$')
DOT_EDGE = re.compile(r'^\s+(\w+) -> (\w+)(?: \[(.*)\])?;$')


def unescape(text: str | None) -> str | None:
    """Mermaid entity codes back to characters, as a renderer shows them."""
    if text is None:
        return None
    for code, raw in (("#quot;", '"'), ("#lt;", "<"), ("#gt;", ">"), ("#124;", "|"), ("#35;", "#")):
        text = text.replace(code, raw)
    return text


def mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str | None, bool]]]:
    """Nodes (id -> label) and edges (src label, dst label, edge label, dashed); fails on any
    line that is not a node, an edge, or a subgraph boundary."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD" and text.endswith("\n")
    nodes: dict[str, str] = {}
    raw_edges = []
    depth = 0
    for line in lines[1:]:
        if node := MERMAID_NODE.match(line):
            assert node.group(1) not in nodes, f"node id used twice: {line}"
            nodes[node.group(1)] = str(unescape(node.group(3)))
        elif edge := MERMAID_EDGE.match(line):
            raw_edges.append(edge.groups())
        elif re.match(r'^\s+subgraph \w+ \["[^"]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        else:
            pytest.fail(f"not a mermaid node, edge or subgraph line: {line!r}")
    assert depth == 0
    edges = [(nodes[a], nodes[b], unescape(label), arrow == "-.->")
             for a, arrow, label, b in raw_edges]
    return nodes, edges


def dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    lines = text.splitlines()
    assert lines[0].startswith("digraph ") and lines[0].endswith("{") and lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges = []
    depth = 0
    for line in lines[1:-1]:
        if node := DOT_NODE.match(line):
            nodes[node.group(1)] = node.group(2)
        elif edge := DOT_EDGE.match(line):
            edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
        elif re.match(r"^\s+subgraph cluster_\w+ \{$", line):
            depth += 1
        elif line.strip() == "}":
            depth -= 1
        else:
            assert re.match(r'^\s+(rankdir=TB|node \[shape=box\]|label=".*");$', line), line
    assert depth == 0
    return nodes, [(nodes[a], nodes[b], attrs) for a, b, attrs in edges]


def graphviz_accepts(text: str) -> None:
    if shutil.which("dot") is None:
        return  # structure is checked by dot(); graphviz is optional on test machines
    result = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# Job graphs -----------------------------------------------------------------------------


def test_diamond_has_exactly_its_four_edges() -> None:
    wf = load_one(ROOT / "examples" / "diamond.py")
    nodes, edges = mermaid(job_graph(wf))
    assert sorted(nodes.values()) == ["combine", "letters", "prepare", "words"]
    assert sorted((a, b) for a, b, _, _ in edges) == [
        ("letters", "combine"), ("prepare", "letters"), ("prepare", "words"),
        ("words", "combine")]


def test_diamond_dot_has_the_same_edges_and_is_valid() -> None:
    text = job_graph(load_one(ROOT / "examples" / "diamond.py"), "dot")
    _, edges = dot(text)
    assert sorted((a, b) for a, b, _ in edges) == [
        ("letters", "combine"), ("prepare", "letters"), ("prepare", "words"),
        ("words", "combine")]
    graphviz_accepts(text)


def test_per_sample_jobs_are_marked_with_the_column() -> None:
    nodes, edges = mermaid(job_graph(load_one(ROOT / "examples" / "rnaseq.py")))
    assert sorted(nodes.values()) == ["count [per sample_id]", "qc [per sample_id]",
                                      "report", "trim [per sample_id]"]
    assert len(edges) == 3


def test_job_graph_is_deterministic() -> None:
    path = ROOT / "examples" / "rnaseq.py"
    assert job_graph(load_one(path), "dot") == job_graph(load_one(path), "dot")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(OrchestratorError, match=r"'svg'.*mermaid.*dot"):
        job_graph(load_one(ROOT / "examples" / "diamond.py"), "svg")  # type: ignore[arg-type]


# State machine graphs -------------------------------------------------------------------


def task(next_: str | None, catch_to: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    state.update({"Next": next_} if next_ else {"End": True})
    if catch_to:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": catch_to}]
    return state


HAND_MADE: dict[str, Any] = {
    "Comment": 'a "small" machine',
    "StartAt": "Prepare",
    "States": {
        "Prepare": task("Both", catch_to="Failed"),
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": task(None)}},
                {"StartAt": "Right?", "States": {
                    "Right?": {"Type": "Choice", "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"},
                        {"And": [{"Variable": "$.s", "IsPresent": True},
                                 {"Variable": "$.s", "StringEqualsPath": "$.t"}],
                         "Next": "Big"}],
                        "Default": "Small"},
                    "Big": {"Type": "Pass", "End": True},
                    "Small": {"Type": "Succeed"},
                }},
            ],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
                              "States": {"Work": task(None)}},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "X"},
    },
}
ALL_STATES = {"Prepare", "Both", "Left", "Right?", "Big", "Small", "Each", "Work", "Done",
              "Failed"}


def test_hand_made_machine_renders_every_state_and_transition() -> None:
    nodes, edges = mermaid(state_machine_graph(HAND_MADE))
    assert set(nodes.values()) == ALL_STATES and len(nodes) == len(ALL_STATES)
    assert set(edges) == {
        ("Prepare", "Both", None, False),
        ("Prepare", "Failed", "States.ALL", True),
        ("Both", "Left", None, False),
        ("Both", "Right?", None, False),
        ("Both", "Each", None, False),
        ("Right?", "Big", "$.n > 3", False),
        ("Right?", "Big", "($.s is present) and ($.s == $.t)", False),
        ("Right?", "Small", "default", False),
        ("Each", "Work", None, False),
        ("Each", "Done", None, False),
    }


def test_branches_and_map_iterations_are_clusters() -> None:
    text = state_machine_graph(HAND_MADE, "dot")
    assert text.count("subgraph cluster_") == 3
    nodes, edges = dot(text)
    assert set(nodes.values()) == ALL_STATES
    assert ("Prepare", "Failed", 'label="States.ALL", style=dashed') in edges
    graphviz_accepts(text)


def test_quotes_in_names_are_escaped() -> None:
    machine = {"StartAt": 'say "hi"', "States": {'say "hi"': {"Type": "Succeed"}}}
    assert '#quot;' in state_machine_graph(machine)
    nodes, _ = mermaid(state_machine_graph(machine))
    assert list(nodes.values()) == ['say "hi"']
    dot_nodes, _ = dot(state_machine_graph(machine, "dot"))
    assert list(dot_nodes.values()) == ['say \\"hi\\"']


def test_compiled_rnaseq_definition_renders_every_state() -> None:
    path = ROOT / "state_machines" / "rnaseq.asl.json"
    definition = json.loads(path.read_text())

    def names(machine: dict[str, Any]) -> set[str]:
        found = set(machine["States"])
        for state in machine["States"].values():
            for sub in [*state.get("Branches", []), state.get("ItemProcessor") or {}]:
                found |= names(sub) if sub else set()
        return found

    text = state_machine_graph(definition, "dot")
    nodes, _ = dot(text)
    assert sorted(nodes.values()) == sorted(names(definition))
    graphviz_accepts(text)


def test_transition_to_a_missing_state_is_an_error() -> None:
    with pytest.raises(OrchestratorError, match="'A' goes to 'B'"):
        state_machine_graph({"StartAt": "A", "States": {"A": task("B")}})


def test_malformed_definition_is_an_error() -> None:
    with pytest.raises(OrchestratorError, match="StartAt"):
        state_machine_graph({"States": {}})
    with pytest.raises(OrchestratorError, match="'A' is 5"):
        state_machine_graph({"StartAt": "A", "States": {"A": 5}})


def test_state_machine_graph_is_deterministic() -> None:
    assert state_machine_graph(HAND_MADE) == state_machine_graph(HAND_MADE)
