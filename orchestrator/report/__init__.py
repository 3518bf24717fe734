"""The HTML run report: a pure builder over a small typed input (``ReportInput``), fed by
one adapter per back end (local run records today; the AWS job-state table later)."""

from orchestrator.report.build import build_report
from orchestrator.report.model import Attempt, JobRow, ReportInput
from orchestrator.report.prices import Prices

__all__ = ["Attempt", "JobRow", "Prices", "ReportInput", "build_report"]
