"""What one submitted Batch job runs with: job definition and SubmitJob overrides merged.

Precedence follows AWS Batch: values given to SubmitJob (container overrides, retry strategy,
timeout, parameters) win over the job definition's. ``Ref::name`` in the command is replaced
by the parameter's value. The retry rules themselves (``evaluateOnExit``) are in
:func:`should_retry`, first matching rule wins, a job with no matching rule is retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator_runtime import limits

MAX_ATTEMPTS = limits.BATCH_ATTEMPTS_MAX


@dataclass(frozen=True)
class RunSpec:
    image: str
    command: list[str]
    environment: dict[str, str]
    resource_requirements: list[dict[str, str]]
    vcpus: float
    attempts: int
    evaluate_on_exit: list[dict[str, str]] = field(default_factory=list)
    timeout_seconds: int | None = None

    @property
    def retry_strategy(self) -> dict[str, Any]:
        strategy: dict[str, Any] = {"attempts": self.attempts}
        if self.evaluate_on_exit:
            strategy["evaluateOnExit"] = self.evaluate_on_exit
        return strategy


def run_spec(
    container: Mapping[str, Any],
    definition_retry: Mapping[str, Any] | None,
    definition_timeout: Mapping[str, Any] | None,
    definition_parameters: Mapping[str, str],
    overrides: Mapping[str, Any] | None,
    retry: Mapping[str, Any] | None,
    timeout: Mapping[str, Any] | None,
    parameters: Mapping[str, str] | None,
) -> RunSpec:
    overrides = overrides or {}
    params = {**definition_parameters, **(parameters or {})}
    command = list(overrides.get("command") or container.get("command") or [])
    env = {e["name"]: e["value"] for e in container.get("environment") or []}
    env.update({e["name"]: e["value"] for e in overrides.get("environment") or []})
    requirements = list(overrides.get("resourceRequirements")
                        or container.get("resourceRequirements") or [])
    strategy = retry or definition_retry or {}
    seconds = (timeout or definition_timeout or {}).get("attemptDurationSeconds")
    return RunSpec(
        image=str(container.get("image", "")),
        command=[_substitute(arg, params) for arg in command],
        environment=env,
        resource_requirements=requirements,
        vcpus=_vcpus(requirements, container),
        attempts=max(1, min(MAX_ATTEMPTS, int(strategy.get("attempts") or 1))),
        evaluate_on_exit=list(strategy.get("evaluateOnExit") or []),
        timeout_seconds=int(seconds) if seconds else None,
    )


def _substitute(arg: str, params: Mapping[str, str]) -> str:
    for name, value in params.items():
        arg = arg.replace(f"Ref::{name}", value)
    return arg


def _vcpus(requirements: Sequence[Mapping[str, str]], container: Mapping[str, Any]) -> float:
    for req in requirements:
        if req.get("type") == "VCPU":
            return float(req["value"])
    return float(container.get("vcpus") or 1)


def _glob(pattern: str | None, value: str) -> bool:
    """Batch's patterns: an exact string, or a prefix followed by a final ``*``."""
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def should_retry(
    spec: RunSpec, attempt: int, exit_code: int | None, reason: str | None, status_reason: str
) -> bool:
    """Whether attempt number ``attempt`` (1-based), which failed, is followed by another."""
    if attempt >= spec.attempts:
        return False
    code = "" if exit_code is None else str(exit_code)
    for rule in spec.evaluate_on_exit:
        if (
            _glob(rule.get("onExitCode"), code)
            and _glob(rule.get("onReason"), reason or "")
            and _glob(rule.get("onStatusReason"), status_reason)
        ):
            return str(rule.get("action", "")).upper() == "RETRY"
    return True
