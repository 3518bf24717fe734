"""The two-stage per-sample workflow (a, b, then a merge over samples) that the fan-out
strategies' end-to-end tests run: its stages, as a template for a ``foreach`` line, its data
and the rows of a run by stage."""

from __future__ import annotations

from pathlib import Path

from orchestrator.local.engine import RunResult

STAGES = """
a = wf.job("a", image="img", command=[{a!r}], shell=True,
           inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "a/{{sample_id}}.txt"}},
           per=samples, timeout="5m")
b = wf.job("b", image="img", command=["cp {{inputs.y}} {{outputs.z}}"], shell=True,
           inputs={{"y": "a/{{sample_id}}.txt"}}, outputs={{"z": "b/{{sample_id}}.txt"}},
           per=samples, after=[a], timeout="5m")
wf.job("merge", image="img", command=["cat", "{{inputs.z}}"], stdout="all",
       inputs={{"z": "b/{{sample_id}}.txt"}}, outputs={{"all": "merged.txt"}}, after=[b],
       timeout="5m")
"""
COPY = "cp {inputs.x} {outputs.y}"
FAILING = ("if grep -q bad {inputs.x}; then echo '{sample_id} is bad' >&2; exit 3; fi; "
           "cp {inputs.x} {outputs.y}")


def write_data(data: Path, samples: list[str], bad: str = "") -> None:
    """``in/<sample>.txt`` for each sample (``"<sample> bad"`` for ``bad``), and the sheet."""
    (data / "in").mkdir(parents=True, exist_ok=True)
    for s in samples:
        (data / "in" / f"{s}.txt").write_text(f"{s} bad\n" if s == bad else f"{s}\n")
    (data / "samples.csv").write_text("sample_id\n" + "\n".join(samples) + "\n")


def by_stage(result: RunResult, stage: str) -> dict[str, dict[str, object]]:
    """The run's rows of ``stage``, by sample."""
    return {str(r["sample"]): r for r in result.rows if r["stage"] == stage}
