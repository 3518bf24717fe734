"""The input data a local run needs: every raw input (one no job produces) must be in the
data folder or kept in the workspace from an earlier run, checked before anything starts."""

from __future__ import annotations

from pathlib import Path

from orchestrator import model
from orchestrator.errors import OrchestratorError
from orchestrator_runtime import contracts as c


class InputDataError(OrchestratorError):
    """Data a run needs is missing; raised before anything starts."""

    exit_code = 2


def produced(wf: model.Workflow) -> set[str]:
    return {t for j in wf.jobs for t in j.outputs.values()}


def values(row: dict[str, str] | None, params: dict[str, str]) -> dict[str, str]:
    return {**params, **(row or {})}


def raw_inputs(wf: model.Workflow, samples: list[dict[str, str]],
               params: dict[str, str]) -> list[tuple[str, str, str]]:
    """(relative path, job, input name) of every input no job produces, per sample."""
    made = produced(wf)
    out: list[tuple[str, str, str]] = []
    for job in wf.jobs:
        for name, template in job.inputs.items():
            if template in made or template.startswith("s3://"):
                continue
            uses_sample = any(p in (wf.foreach.all_columns if wf.foreach else ())
                              for p in c.placeholders(template))
            rows: list[dict[str, str] | None] = (
                list(samples) if job.per_sample or uses_sample else [None])
            for row in rows:
                path = c.fill(template, values(row, params))
                if (path, job.name, name) not in out:
                    out.append((path, job.name, name))
    return out


def check_inputs(wf: model.Workflow, samples: list[dict[str, str]], params: dict[str, str],
                 data_dir: Path | None, kept: Path) -> None:
    """Every raw input must be in the data folder or kept from an earlier run."""
    missing = []
    for path, job, name in raw_inputs(wf, samples, params):
        candidates = [p for p in ((data_dir / path) if data_dir else None,
                                  kept / wf.bucket_prefix / path) if p is not None]
        if not any(p.is_file() for p in candidates):
            shown = candidates[0] if data_dir else path
            missing.append(f"{shown} (input {name!r} of job {job})")
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputDataError("missing input data: " + "; ".join(missing[:5]) + more)
