"""Compile a workflow model to an Amazon States Language document."""

from orchestrator.compiler.compile import build_machine, compile_workflow, group, render

__all__ = ["build_machine", "compile_workflow", "group", "render"]
