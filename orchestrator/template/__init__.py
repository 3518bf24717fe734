"""Model(s) + compiled definitions -> the SAM template (pure), and its deterministic YAML."""

from orchestrator.template.build import build_template, template_yaml
from orchestrator.template.cfn import TemplateError
from orchestrator.template.description import (
    definition_uri,
    describe,
    substitution_keys,
)
from orchestrator.template.ids import machine_output_key

__all__ = ["TemplateError", "build_template", "definition_uri", "describe", "machine_output_key",
           "substitution_keys", "template_yaml"]
