"""Python workflows compiled to AWS Step Functions and AWS Batch.

The DSL is imported on first use (``from orchestrator import Workflow`` works as always), so
``orchestrator --help`` and the commands that never read a workflow do not pay for it.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.dsl import JobRef, Samples, Workflow

__all__ = ["JobRef", "Samples", "Workflow"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from orchestrator import dsl

        return getattr(dsl, name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
