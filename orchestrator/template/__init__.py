"""Model(s) + compiled definitions -> the SAM template (pure), and its deterministic YAML."""

from orchestrator.template.build import build_template, render_template
from orchestrator.template.cfn import TemplateError
from orchestrator.template.ids import machine_output_key
from orchestrator.template.machines import definition_uri, placeholders

__all__ = ["TemplateError", "build_template", "definition_uri", "machine_output_key",
           "placeholders", "render_template"]
