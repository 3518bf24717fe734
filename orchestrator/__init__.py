"""Python workflows compiled to AWS Step Functions and AWS Batch."""

from orchestrator.dsl import JobRef, Samples, Workflow

__all__ = ["JobRef", "Samples", "Workflow"]
__version__ = "0.1.0"
