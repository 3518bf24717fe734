"""The retry promise: Spot reclaims and image-pull failures are always retried; a failing
command is retried only for its retry_exit_codes, and at most `retries` times.

Three pieces keep it: the RetryStrategy the compiler and the template give every job
(jobspec.retry_strategy), the runner's exit code (runner_retry.exit_status) and AWS Batch's
reading of evaluateOnExit, which the local engine implements (batch_spec.should_retry). The
last test runs all three together over every mix of failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import jobspec, model
from orchestrator.local.batch_spec import RunSpec, run_spec, should_retry
from orchestrator_runtime import contracts as c
from orchestrator_runtime.runner_retry import exit_status

SPOT = "Host EC2 (instance i-0123456789abcdef0) terminated."
PULL = "CannotPullContainerError: pull image manifest has been retried 1 time(s)"
EXITED = "Essential container in task exited"
RETRY = c.RETRY_EXIT_CODE


def job(retries: int = 0, codes: tuple[str, ...] = ()) -> model.Job:
    return model.Job(name="j", source=model.Source("wf.py", 1), image="img", command=("true",),
                     retries=retries, retry_exit_codes=codes)


def spec_of(j: model.Job) -> RunSpec:
    """The strategy as the local engine reads it from SubmitJob (camelCase, like the API)."""
    strategy = jobspec.retry_strategy(j)
    rules = [{k[0].lower() + k[1:]: v for k, v in rule.items()}
             for rule in strategy["EvaluateOnExit"]]
    return run_spec({"image": "img", "command": ["true"]}, None, None, {}, None,
                    {"attempts": strategy["Attempts"], "evaluateOnExit": rules}, None, None)


def env(attempt: int, j: model.Job) -> dict[str, str]:
    return {c.BATCH_ATTEMPT_ENV: str(attempt), **jobspec.retry_environment(j)}


# The runner's exit code ----------------------------------------------------------------

@pytest.mark.parametrize(("code", "attempt", "retries", "codes", "expected"), [
    (0, 1, 2, ("3",), 0),  # success stays success
    (3, 1, 2, ("3",), RETRY),  # a listed code with attempts left: ask Batch to retry
    (3, 2, 2, ("3",), RETRY),
    (3, 3, 2, ("3",), 3),  # the last of 3 attempts: the real code, no retry
    (3, 5, 2, ("3",), 3),  # beyond (after Spot reclaims used attempts): never more
    (137, 1, 2, ("13*",), RETRY),  # a glob, as Batch's onExitCode reads it
    (1, 1, 2, ("13*", "3"), 1),  # not listed: keeps its code, not retried
    (3, 1, 0, ("3",), 3),  # retries=0: no command retry at all
    (5, 1, 1, ("5",), RETRY),  # the runner's own codes (5: S3 failed) retry when listed
])
def test_the_runner_asks_for_a_retry_only_when_the_job_allows_one(
        code: int, attempt: int, retries: int, codes: tuple[str, ...], expected: int) -> None:
    final, why = exit_status(code, env(attempt, job(retries, codes)))
    assert final == expected
    if final == RETRY:
        assert f"exit code {code}" in why and f"attempt {attempt} of {retries + 1}" in why


def test_a_command_that_ends_with_the_retry_code_by_itself_is_not_retried() -> None:
    final, why = exit_status(RETRY, env(1, job(0)))
    assert final != RETRY and str(RETRY) in why
    assert exit_status(RETRY, env(1, job(2, (str(RETRY),))))[0] == RETRY  # listed: it is


def test_outside_batch_the_exit_code_is_never_changed() -> None:
    for code in (3, RETRY):
        assert exit_status(code, jobspec.retry_environment(job(2, ("3",)))) == (code, "")


def test_the_console_script_exits_with_the_retry_code(tmp_path: Path) -> None:
    task = {"version": c.CONTRACT_VERSION, "workflow": "wf", "stage": "st", "sample": "S1",
            "execution": "x", "image": "img", "command": ["exit 3"], "environment": {},
            "shell": True, "stdout": None, "values": {}, "inputs": {}, "outputs": {},
            "allow_empty": False, "marker": f"{tmp_path}/m/"}
    task["fingerprint_basis"] = c.fingerprint_basis("img", ["exit 3"], {}, {}, {}, {})
    (tmp_path / "task.json").write_text(json.dumps(task))
    runner = [sys.executable, "-m", "orchestrator_runtime.runner", "--task",
              str(tmp_path / "task.json")]
    base = {"PATH": "/usr/bin:/bin"}
    first = subprocess.run(runner, env={**base, **env(1, job(1, ("3",)))}, capture_output=True)
    last = subprocess.run(runner, env={**base, **env(2, job(1, ("3",)))}, capture_output=True)
    assert (first.returncode, last.returncode) == (RETRY, 3)
    assert b"attempt 1 of 2" in first.stderr and b"not retried" in last.stderr


# AWS Batch's reading of evaluateOnExit (the local engine) -------------------------------

def test_rules_are_read_in_order_and_the_first_match_decides() -> None:
    spec = run_spec({}, None, None, {}, None, {"attempts": 5, "evaluateOnExit": [
        {"onExitCode": "1*", "action": "exit"}, {"onExitCode": "12", "action": "RETRY"}]},
        None, None)
    assert not should_retry(spec, 1, 12, None, EXITED)  # "1*" comes first: EXIT
    assert should_retry(spec, 1, 2, None, EXITED)  # no rule matches: Batch retries


def test_a_rule_needs_all_of_its_conditions() -> None:
    spec = run_spec({}, None, None, {}, None, {"attempts": 3, "evaluateOnExit": [
        {"onExitCode": "3", "onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"}]}, None, None)
    assert should_retry(spec, 1, 3, None, SPOT)
    assert not should_retry(spec, 1, 3, None, EXITED)


def test_no_attempt_beyond_the_strategy_s_attempts() -> None:
    spec = spec_of(job(0))
    assert spec.attempts == 1 + jobspec.INFRA_RESERVE
    assert should_retry(spec, spec.attempts - 1, None, None, SPOT)
    assert not should_retry(spec, spec.attempts, None, None, SPOT)


@pytest.mark.parametrize("retries", [0, 2])
def test_every_job_retries_spot_reclaims_and_image_pulls(retries: int) -> None:
    spec = spec_of(job(retries))
    assert spec.attempts >= 2  # retries=0 too: that was the broken promise (Attempts 1)
    assert should_retry(spec, 1, None, None, SPOT)
    assert should_retry(spec, 1, None, PULL, "Task failed to start")
    assert not should_retry(spec, 1, 1, None, EXITED)  # a failing command: EXIT
    assert not should_retry(spec, 1, None, "OutOfMemoryError: Container killed", EXITED)


# All three together ---------------------------------------------------------------------

Outcome = Literal["spot", "pull", "fail"]


def simulate(j: model.Job, outcomes: list[Outcome], code: int) -> tuple[int, int]:
    """Attempts as AWS Batch would make them, each ending as ``outcomes`` says (then the
    command fails with ``code``); returns (attempts made, times the command ran)."""
    spec, ran = spec_of(j), 0
    for attempt in range(1, spec.attempts + 1):
        outcome = outcomes[attempt - 1] if attempt <= len(outcomes) else "fail"
        if outcome == "fail":
            ran += 1
            exit_code, reason, status = exit_status(code, env(attempt, j))[0], None, EXITED
        elif outcome == "spot":
            exit_code, reason, status = None, None, SPOT
        else:
            exit_code, reason, status = None, PULL, "Task failed to start"
        if not should_retry(spec, attempt, exit_code, reason, status):
            return attempt, ran
    return spec.attempts, ran


@settings(max_examples=300, deadline=None)
@given(retries=st.integers(0, 9), listed=st.booleans(),
       outcomes=st.lists(st.sampled_from(["spot", "pull", "fail"]), max_size=10))
def test_the_promise_holds_for_any_mix_of_failures(
        retries: int, listed: bool, outcomes: list[Outcome]) -> None:
    j = job(retries, ("3",) if listed else ())
    attempts, ran = simulate(j, outcomes, 3)
    allowed = retries + 1 if listed else 1
    assert ran <= allowed  # never more than the user allowed
    assert attempts <= jobspec.total_attempts(j) <= 10
    lost = len(outcomes[:attempts]) - outcomes[:attempts].count("fail")
    if lost < jobspec.total_attempts(j):  # infrastructure failures alone never end a job
        assert ran >= 1                    # while the reserve lasts: the command runs
    if lost == 0:
        assert ran == allowed  # no infrastructure trouble: exactly the user's count


def test_retries_give_the_command_exactly_its_attempts() -> None:
    assert simulate(job(2, ("3",)), [], 3) == (3, 3)  # retries=2: 3 attempts, not 6
    assert simulate(job(2, ("3",)), [], 1) == (1, 1)  # an unlisted code: no retry
    assert simulate(job(0, ()), [], 3) == (1, 1)
    assert simulate(job(0, ()), ["spot"], 3) == (2, 1)  # the reclaim is retried
    assert simulate(job(0, ()), ["spot", "pull", "spot"], 3) == (4, 1)
