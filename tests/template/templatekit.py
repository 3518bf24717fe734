"""Shared by the template tests: the examples, their definitions, the generated template."""

from __future__ import annotations

import dataclasses
import glob
import json
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from orchestrator import loader, model
from orchestrator.compiler import compile_workflow
from orchestrator.template import build_template, template_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "*.py")))


@cache
def examples() -> tuple[model.Workflow, ...]:
    return tuple(wf for f in EXAMPLES for wf in loader.load_file(f))


def definitions(wfs: tuple[model.Workflow, ...]) -> dict[str, dict[str, Any]]:
    return {wf.name: compile_workflow(wf) for wf in wfs}


def generate(wfs: tuple[model.Workflow, ...]) -> dict[str, Any]:
    """The template as plain JSON values (what CloudFormation reads)."""
    doc: dict[str, Any] = json.loads(json.dumps(build_template(wfs, definitions(wfs))))
    return doc


def text(wfs: tuple[model.Workflow, ...]) -> str:
    return template_yaml(build_template(wfs, definitions(wfs)))


def parse(yaml_text: str) -> dict[str, Any]:
    """YAML with CloudFormation short forms, read by cfn-lint's own decoder."""
    doc: dict[str, Any] = json.loads(json.dumps(cfn_yaml.loads(yaml_text)))
    return doc


def with_job(wf: model.Workflow, name: str, **changes: Any) -> model.Workflow:
    jobs = tuple(dataclasses.replace(j, **changes) if j.name == name else j for j in wf.jobs)
    return dataclasses.replace(wf, jobs=jobs)


def resources(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == kind}


def statements(doc: dict[str, Any], *, conditional: bool = False
               ) -> list[tuple[str, dict[str, Any]]]:
    """(role id, statement) for every inline policy statement of every role; statements
    under a condition (Fn::If) only with ``conditional``, as their 'true' branch."""
    out = []
    for rid, role in resources(doc, "AWS::IAM::Role").items():
        for pol in role["Properties"].get("Policies", []):
            for s in pol["PolicyDocument"]["Statement"]:
                if "Fn::If" in s:
                    if conditional:
                        out.append((rid, s["Fn::If"][1]))
                else:
                    out.append((rid, s))
    return out
