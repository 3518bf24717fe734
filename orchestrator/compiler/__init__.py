"""Compile a workflow model to an Amazon States Language document."""

from orchestrator.compiler.compile import asl_text, build_machine, compile_workflow

__all__ = ["asl_text", "build_machine", "compile_workflow"]
