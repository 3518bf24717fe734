"""The HTML run report: a pure builder over a small typed input (``ReportInput``), fed by
one adapter of job rows (``rows``): local run records and runs read from AWS."""

from orchestrator.report.build import build_report
from orchestrator.report.model import Attempt, JobRow, ReportInput
from orchestrator.report.prices import Prices

__all__ = ["Attempt", "JobRow", "Prices", "ReportInput", "build_report"]
