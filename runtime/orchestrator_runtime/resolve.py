"""Turn a CheckRequest into one concrete stage: the URIs, values and names of (stage, sample).

The request's shape (fields present and typed, a consistent job spec) was checked where it
entered, by the check function's request model. What only resolution can find (an unknown
placeholder, a sample value that is not a string or number, a path leaving the prefix) is
found here, before any S3 call, and reported as :class:`BadCheckRequest` naming the stage, the
field and the placeholder, so a typo fails the first check with a sentence instead of a
half-run job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator_runtime import contracts, samplesheet


class BadCheckRequest(ValueError):
    """contracts.ERR_BAD_REQUEST: the request cannot be resolved; the message says why."""


def as_value(value: Any, where: str) -> str:
    """A sample-sheet cell or parameter as the string placed into paths and commands."""
    text = samplesheet.cell_text(value)
    if text is not None:
        return text
    raise BadCheckRequest(
        f"{where} is a {type(value).__name__}; sample columns and params must be strings "
        f"or numbers, got {json.dumps(value, default=str)[:100]}"
    )


def sample_id_of(request: contracts.CheckRequest) -> str | None:
    """The foreach column's value in this request's row; None for a once-stage."""
    row = request.get("sample")
    if row is None:
        return None
    if not isinstance(row, Mapping):
        raise BadCheckRequest(f"the sample row is {json.dumps(row, default=str)[:60]}, not an "
                              "object")
    if not row:
        raise BadCheckRequest("CheckRequest.sample is an empty row; it must hold the foreach "
                              "column")
    column = request.get("sample_column")
    if not column:
        if len(row) != 1:
            raise BadCheckRequest(
                "CheckRequest.sample_column is missing and the sample row has several columns "
                f"({', '.join(sorted(row))}); the compiler must name the foreach column"
            )
        column = next(iter(row))
    if column not in row:
        raise BadCheckRequest(
            f"the sample row has no column {column!r} (the foreach column); "
            f"columns: {', '.join(sorted(row))}"
        )
    sample_id = as_value(row[column], f"sample column {column!r}")
    problem = samplesheet.id_problem(sample_id)
    if problem:
        raise BadCheckRequest(f"sample column {column!r} {problem}")
    return sample_id


@dataclass(frozen=True)
class Stage:
    """One stage for one sample (or once), fully resolved."""

    workflow: str
    stage: str
    execution: str  # execution ARN
    sample_id: str | None
    job: contracts.JobSpec
    values: dict[str, str]  # only the placeholder values the job uses
    inputs: dict[str, list[str]]
    outputs: dict[str, str]

    @property
    def sample(self) -> str:
        return contracts.sample_label(self.sample_id)

    @property
    def execution_name(self) -> str:
        return self.execution.rsplit(":", 1)[-1]

    @property
    def marker_folder(self) -> str:
        return contracts.marker_folder(self.job["bucket"], self.workflow, self.stage,
                                       self.sample)

    @property
    def task_uri(self) -> str:
        return contracts.task_uri(self.job["bucket"], self.execution_name, self.stage,
                                  self.sample)

    @property
    def job_name(self) -> str:
        return contracts.job_name(self.workflow, self.stage, self.sample_id)

    @property
    def label(self) -> str:
        """``stage align, sample S2`` (or ``stage report``) for messages."""
        if self.sample_id is None:
            return f"stage {self.stage}"
        return f"stage {self.stage}, sample {self.sample_id}"

    def fingerprint_basis(self) -> dict[str, Any]:
        return contracts.fingerprint_basis(
            self.job["image"], self.job["command"], self.job["environment"], self.values,
            self.inputs, self.outputs,
        )

    def task(self) -> contracts.RunnerTask:
        return contracts.RunnerTask(
            version=contracts.CONTRACT_VERSION, workflow=self.workflow, stage=self.stage,
            sample=self.sample, execution=self.execution, image=self.job["image"],
            command=self.job["command"], environment=self.job["environment"],
            shell=self.job["shell"], stdout=self.job["stdout"], values=self.values,
            inputs=self.inputs, outputs=self.outputs, allow_empty=self.job["allow_empty"],
            marker=self.marker_folder, fingerprint_basis=self.fingerprint_basis(),
        )


class _Resolver:
    def __init__(self, request: contracts.CheckRequest) -> None:
        # The request was checked where it entered (the check function's request model):
        # the fields a "pre"/"post" needs are present and typed, the job spec consistent.
        self.workflow = request["workflow"]
        self.execution = request["execution"]
        self.stage = request["stage"]
        self.job = request["job"]
        self.sample_id = sample_id_of(request)
        where = f"stage {self.stage}"
        row = request.get("sample") or {}
        params = request.get("params") or {}
        defaults = request.get("param_defaults") or {}
        self.known = {k: as_value(v, f"param {k!r}") for k, v in {**defaults, **params}.items()}
        self.known.update({k: as_value(v, f"sample column {k!r}") for k, v in row.items()})
        self.rows: list[Any] = []
        if self.sample_id is None:
            self.rows = request.get("samples") or []
        foreach = request.get("sample_column")
        self.columns = ({c for r in self.rows if isinstance(r, dict) for c in r}
                        | ({foreach} if foreach else set())) - set(self.known)
        self.used: dict[str, str] = {}
        self.where = where if self.sample_id is None else f"{where}, sample {self.sample_id}"

    def _unknown(self, field: str, name: str) -> BadCheckRequest:
        if "." in name:
            declared = [f"{{inputs.{n}}}" for n in self.job["inputs"]] + [
                f"{{outputs.{n}}}" for n in self.job["outputs"]]
            return BadCheckRequest(
                f"{self.where}: {field} uses unknown placeholder {{{name}}}; the job declares "
                f"{', '.join(declared) or 'no inputs or outputs'}. Declare it or fix the spelling"
            )
        known = ", ".join(sorted(self.known | dict.fromkeys(self.columns, ""))) or "none"
        return BadCheckRequest(
            f"{self.where}: {field} uses unknown placeholder {{{name}}}; known names: {known}. "
            "Add it as a sample-sheet column or a param, or fix the spelling"
        )

    def check_template(self, field: str, template: str) -> None:
        """A command or environment template: plain names, {inputs.X}, {outputs.Y[.parent]}."""
        for name in contracts.placeholders(template):
            head, _, rest = name.partition(".")
            if head == "inputs" and rest in self.job["inputs"]:
                continue
            if head == "outputs" and rest.removesuffix(".parent") in self.job["outputs"]:
                continue
            if rest:
                raise self._unknown(field, name)
            self._use(field, name, gather_ok=False)

    def _use(self, field: str, name: str, *, gather_ok: bool) -> bool:
        """Record a plain name as used; True when it is a per-sample column to gather."""
        if name in self.known:
            self.used[name] = self.known[name]
            return False
        if name in self.columns:
            if gather_ok:
                return True
            raise BadCheckRequest(
                f"{self.where}: {field} uses sample column {{{name}}}, but this stage runs once "
                "for all samples; only input paths may gather one object per sample"
            )
        raise self._unknown(field, name)

    def path(self, field: str, template: str, values: Mapping[str, str]) -> str:
        try:
            rendered = contracts.fill(template, dict(values))
            return contracts.resolve_path(self.job["bucket"], rendered)
        except (KeyError, ValueError) as exc:
            used = {n: values.get(n) for n in contracts.placeholders(template)}
            raise BadCheckRequest(f"{self.where}: {field} {template!r}: {exc} "
                                  f"(placeholder values: {used})") from exc

    def input_uris(self, name: str, template: str) -> list[str]:
        field = f"input {name!r}"
        gather = [n for n in contracts.placeholders(template)
                  if self._use(field, n, gather_ok=True)]
        if not gather:
            return [self.path(field, template, self.known)]
        if not self.rows:
            raise BadCheckRequest(
                f"{self.where}: {field} gathers one object per sample ({{{gather[0]}}}) but "
                "the execution input has no samples"
            )
        uris = []
        for i, row in enumerate(self.rows):
            if not isinstance(row, dict):
                raise BadCheckRequest(f"{self.where}: {field}: sample row {i} is not an object "
                                      f"but {json.dumps(row, default=str)[:60]}")
            missing = [c for c in gather if c not in row]
            if missing:
                raise BadCheckRequest(f"{self.where}: {field}: sample row {i} has no column "
                                      f"{missing[0]!r}")
            values = {**self.known, **{c: as_value(row[c], f"column {c!r}") for c in gather}}
            uris.append(self.path(field, template, values))
        return uris

    def resolve(self) -> Stage:
        for pos, part in enumerate(self.job["command"]):
            self.check_template(f"command[{pos}]", part)
        for key, value in self.job["environment"].items():
            self.check_template(f"environment {key!r}", value)
        inputs = {n: self.input_uris(n, t) for n, t in self.job["inputs"].items()}
        outputs = {}
        for name, template in self.job["outputs"].items():
            field = f"output {name!r}"
            for placeholder in contracts.placeholders(template):
                self._use(field, placeholder, gather_ok=False)
            outputs[name] = self.path(field, template, self.known)
        return Stage(
            workflow=self.workflow, stage=self.stage, execution=self.execution,
            sample_id=self.sample_id,
            job=self.job, values=dict(sorted(self.used.items())), inputs=inputs,
            outputs=outputs,
        )


def resolve(request: contracts.CheckRequest) -> Stage:
    """The stage a checked "pre"/"post" request is about; raises BadCheckRequest when its
    placeholders and sample values do not resolve."""
    return _Resolver(request).resolve()
