"""State names the compiler gives each stage; validation checks them against the 80-char limit."""

from __future__ import annotations

MAX_STATE_NAME = 80


def check(job: str) -> str:
    return f"Check {job}"


def skip(job: str) -> str:
    return f"Skip {job}?"


def run(job: str) -> str:
    return f"Run {job}"


def verify(job: str) -> str:
    return f"Verify {job}"


def explain(job: str) -> str:
    return f"Explain {job} failure"


def failed(job: str) -> str:
    return f"{job} failed"


def stage_state_names(job: str) -> list[str]:
    return [f(job) for f in (check, skip, run, verify, explain, failed)]
