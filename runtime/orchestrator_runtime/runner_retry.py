"""The job runner's share of the retry strategy: may this failed attempt be retried?

AWS Batch retries Spot reclaims and image-pull failures by itself; for everything else the
job's retry strategy retries one exit code only, :data:`contracts.RETRY_EXIT_CODE` (see
orchestrator/jobspec.py ``retry_strategy``). The runner ends with that code when the command
failed with one of the job's retry exit codes (``ORCH_RETRY_EXIT_CODES``) and the attempt
(``AWS_BATCH_JOB_ATTEMPT``, 1-based) is below the job's attempts (``ORCH_ATTEMPTS``);
otherwise with the failure's own code, so the last attempt shows the real exit code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from orchestrator_runtime import contracts

RETRY: Final = contracts.RETRY_EXIT_CODE
EXIT_INSTEAD_OF_RETRY: Final = 1  # a command that itself ended with RETRY, not to be retried


def _count(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value >= 1 else None


def exit_status(code: int, env: Mapping[str, str]) -> tuple[int, str]:
    """The code the container ends with after the runner's ``code``, and a line saying why
    ("" when it is ``code`` and nothing needs saying). Outside AWS Batch (no
    AWS_BATCH_JOB_ATTEMPT) the code is never changed."""
    attempt = _count(env.get(contracts.BATCH_ATTEMPT_ENV))
    if code == 0 or attempt is None:
        return code, ""
    allowed = _count(env.get(contracts.ATTEMPTS_ENV))
    patterns = [p for p in (env.get(contracts.RETRY_CODES_ENV) or "").split(",") if p]
    note = ""
    if allowed is not None and any(contracts.exit_code_matches(p, code) for p in patterns):
        if attempt < allowed:
            return RETRY, (f"exit code {code} is one of the job's retry exit codes and attempt "
                           f"{attempt} of {allowed} failed: exiting {RETRY} so that AWS Batch "
                           "starts the next attempt")
        note = (f"exit code {code} is one of the job's retry exit codes, but attempt {attempt} "
                f"was the last of {allowed}: not retried")
    if code == RETRY:
        return EXIT_INSTEAD_OF_RETRY, (
            f"the command ended with exit code {RETRY}, which asks AWS Batch for another "
            f"attempt; exiting {EXIT_INSTEAD_OF_RETRY} instead")
    return code, note
