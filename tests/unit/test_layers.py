"""Imports point down the layers docs/architecture.md (and shared/DESIGN.md) draw:

    runtime  <-  model  <-  checks / compiler / template / graph  <-  aws / local / dryrun  <-  cli
    runtime  <-  lambdas  (thin handlers; only the local engine calls them)

A module may import its own layer and any lower rank. Layers of the same rank are siblings and
do not import each other (the compiler does not ask validation, checks do not ask the
compiler). Every module must be placed in the table below: a new one fails this test until
someone decides where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {  # import name -> folder
    "orchestrator": ROOT / "orchestrator",
    "orchestrator_runtime": ROOT / "runtime" / "orchestrator_runtime",
    "orchestrator_lambdas": ROOT / "lambdas",
}

RANK = {"runtime": 0, "lambdas": 1, "model": 1, "checks": 2, "compiler": 2, "template": 2,
        "graph": 2, "report": 2, "aws": 3, "local": 3, "dryrun": 3, "cli": 4}


def _in(package: str, *names: str) -> dict[str, str]:
    return {f"{package}.{n}" if n else package: "" for n in names}


def _layer(layer: str, *groups: dict[str, str]) -> dict[str, str]:
    return {m: layer for g in groups for m in g}


LAYERS: dict[str, str] = {
    **_layer("runtime", _in(
        "orchestrator_runtime", "", "actions", "arrays", "contracts", "envcache", "events",
        "explain", "jobstate", "limits", "manifests", "mapresults", "outputs", "resolve",
        "runner",
        "runner_errors", "runner_io", "runner_manifest", "runner_retry", "runner_task",
        "runner_template", "s3util", "samplesheet", "specs", "triggers", "why")),
    **_layer("lambdas", _in(
        "orchestrator_lambdas", "", "check_outputs", "check_outputs.app", "job_events",
        "job_events.app", "s3_trigger", "s3_trigger.app")),
    **_layer("model", _in(
        "orchestrator", "", "errors", "units", "model", "dsl", "loader", "samples", "names",
        "jobspec", "runs", "runstatus", "asl", "asl.states", "asl.check", "atomic", "fanout", "dag",
        "blocks",
        "defsize")),
    **_layer("checks", _in("orchestrator", "validate"), _in(
        "orchestrator.checks", "", "arguments", "common", "commands", "dependencies", "fanout",
        "names",
        "paths", "placeholders", "quotas", "resources", "triggers")),
    **_layer("compiler", _in("orchestrator.compiler", "", "array", "compile", "scope",
                             "distributed", "inline", "stages")),
    **_layer("template", _in(
        "orchestrator.template", "", "access", "batch", "build", "cfn", "description",
        "functions", "ids", "machines", "refs", "yamltext")),
    **_layer("graph", _in("orchestrator", "graph")),
    **_layer("report", _in("orchestrator.report", "", "build", "model", "prices", "rows", "stats")),
    **_layer("aws", _in(
        "orchestrator.aws", "", "batch_infra", "capacity", "collect", "deploy", "doctor",
        "errors", "executions", "facts", "runs", "sdk", "stack", "start")),
    **_layer("local", _in(
        "orchestrator.local", "", "adapter", "batch", "batch_job", "batch_spec", "botodata",
        "bucket", "casing", "display", "dynamofix", "engine", "events", "inputs", "lambdas",
        "mapfix", "prepare", "progress", "publish", "reaper", "resources", "runlock", "runrecord",
        "runreport", "runs", "s3store", "settle", "warmstart", "workspace", "zygote",
        "inprocess", "modeltrack", "aslcache", "sfnfix", "warmengine", "wire", "gcphases")),
    **_layer("dryrun", _in("orchestrator", "dryrun")),
    **_layer("cli", _in(
        "orchestrator.cli", "", "__main__", "aws", "batch", "build", "doctor", "local",
        "opsout", "outpaths", "plan", "report", "runsource", "sam_stage", "status", "tui",
        "tuiapp", "engined")),
}


def modules() -> dict[str, Path]:
    """Every module of the three packages, by import name."""
    out: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the three packages that ``module`` imports, anywhere in the file
    (function bodies and TYPE_CHECKING blocks included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def violations(graph: dict[str, set[str]], layers: dict[str, str]) -> list[str]:
    """Every import that points up (to a higher rank) or sideways (to a sibling layer)."""
    out: list[str] = []
    for module, targets in sorted(graph.items()):
        mine = layers[module]
        for target in sorted(targets):
            theirs = layers.get(target)
            if theirs is None or theirs == mine or RANK[theirs] < RANK[mine]:
                continue
            way = "up" if RANK[theirs] > RANK[mine] else "sideways"
            out.append(f"{module} ({mine}) imports {target} ({theirs}): points {way}")
    return out


def test_every_module_has_a_layer() -> None:
    found = set(modules())
    assert sorted(found - set(LAYERS)) == [], "place these modules in LAYERS"
    assert sorted(set(LAYERS) - found) == [], "these modules no longer exist"
    assert set(LAYERS.values()) <= set(RANK)


def test_imports_point_down_the_layers() -> None:
    mods = modules()
    graph = {m: imports(m, p, set(mods)) for m, p in mods.items()}
    assert violations(graph, LAYERS) == []


@pytest.mark.parametrize(("importer", "imported", "way"), [
    ("orchestrator.compiler.compile", "orchestrator.validate", "sideways"),
    ("orchestrator.checks.names", "orchestrator.compiler.stages", "sideways"),
    ("orchestrator.template.batch", "orchestrator.local.resources", "up"),
    ("orchestrator_runtime.contracts", "orchestrator.model", "up"),
    ("orchestrator.model", "orchestrator_lambdas.job_events.app", "sideways"),
])
def test_an_arrow_the_wrong_way_is_reported(importer: str, imported: str, way: str) -> None:
    [found] = violations({importer: {imported}}, LAYERS)
    assert f"points {way}" in found and importer in found and imported in found


def test_relative_and_from_imports_resolve_to_modules(tmp_path: Path) -> None:
    src = tmp_path / "x.py"
    src.write_text("from . import names\nfrom ..compiler import stages\n"
                   "from orchestrator import model, dsl\nimport orchestrator.validate\n"
                   "def f():\n    from orchestrator.errors import Diagnostic\n")
    known = set(modules())
    found = imports("orchestrator.checks.x", src, known)
    assert found == {"orchestrator.checks.names", "orchestrator.compiler.stages",
                     "orchestrator.model", "orchestrator.dsl", "orchestrator.validate",
                     "orchestrator.errors"}
