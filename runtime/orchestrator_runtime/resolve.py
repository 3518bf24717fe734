"""Turn a CheckRequest into one concrete stage: the URIs, values and names of (stage, sample).

Everything that can be wrong with a request is found here, before any S3 call, and reported
as :class:`BadCheckRequest` naming the stage, the field and the placeholder, so a typo in a
workflow file fails the first check with a sentence instead of a half-run job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from orchestrator_runtime import contracts

_JOB_FIELDS: dict[str, type | tuple[type, ...]] = {
    "image": str, "command": list, "environment": dict, "inputs": dict, "outputs": dict,
    "bucket": str, "allow_empty": bool, "shell": bool, "stdout": (str, type(None)),
}


class BadCheckRequest(ValueError):
    """contracts.ERR_BAD_REQUEST: the request cannot be resolved; the message says why."""


def as_value(value: Any, where: str) -> str:
    """A sample-sheet cell or parameter as the string placed into paths and commands."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    raise BadCheckRequest(
        f"{where} is a {type(value).__name__}; sample columns and params must be strings "
        f"or numbers, got {json.dumps(value, default=str)[:100]}"
    )


def _field(request: Mapping[str, Any], name: str, kind: type | tuple[type, ...],
           where: str = "CheckRequest") -> Any:
    if name not in request:
        raise BadCheckRequest(f"{where}.{name} is missing")
    value = request[name]
    if not isinstance(value, kind):
        raise BadCheckRequest(f"{where}.{name} has the wrong type ({type(value).__name__})")
    return value


def sample_id_of(request: Mapping[str, Any]) -> str | None:
    """The foreach column's value in this request's row; None for a once-stage."""
    row = request.get("sample")
    if row is None:
        return None
    if not isinstance(row, dict) or not row:
        raise BadCheckRequest("CheckRequest.sample must be a sample-sheet row (an object)")
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
    if not sample_id:
        raise BadCheckRequest(f"sample column {column!r} is empty in row {row}")
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
    def marker_uri(self) -> str:
        return contracts.marker_uri(self.job["bucket"], self.workflow, self.stage, self.sample)

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

    def task(self) -> contracts.Task:
        return contracts.Task(
            version=contracts.CONTRACT_VERSION, workflow=self.workflow, stage=self.stage,
            sample=self.sample, execution=self.execution, image=self.job["image"],
            command=self.job["command"], environment=self.job["environment"],
            shell=self.job["shell"], stdout=self.job["stdout"], values=self.values,
            inputs=self.inputs, outputs=self.outputs, allow_empty=self.job["allow_empty"],
            marker=self.marker_uri, fingerprint_basis=self.fingerprint_basis(),
        )


class _Resolver:
    def __init__(self, request: Mapping[str, Any]) -> None:
        self.workflow = cast(str, _field(request, "workflow", str))
        self.execution = cast(str, _field(request, "execution", str))
        self.stage = cast(str, _field(request, "stage", str))
        self.job = cast(contracts.JobSpec, _field(request, "job", dict))
        for name, kind in _JOB_FIELDS.items():
            _field(self.job, name, kind, f"stage {self.stage}: job")
        self._check_strings()
        self.sample_id = sample_id_of(request)
        where = f"stage {self.stage}"
        row = request.get("sample") or {}
        params = request.get("params") or {}
        defaults = request.get("param_defaults") or {}
        if not isinstance(params, dict) or not isinstance(defaults, dict):
            raise BadCheckRequest(f"{where}: CheckRequest.params and param_defaults must be "
                                  "objects")
        self.known = {k: as_value(v, f"param {k!r}") for k, v in {**defaults, **params}.items()}
        self.known.update({k: as_value(v, f"sample column {k!r}") for k, v in row.items()})
        self.rows: list[dict[str, Any]] = []
        if self.sample_id is None:
            samples = request.get("samples") or []
            if not isinstance(samples, list) or not all(isinstance(r, dict) for r in samples):
                raise BadCheckRequest(f"{where}: CheckRequest.samples must be a list of rows")
            self.rows = samples
        foreach = request.get("sample_column")
        self.columns = ({c for r in self.rows for c in r}
                        | ({foreach} if isinstance(foreach, str) and foreach else set())
                        ) - set(self.known)
        self.used: dict[str, str] = {}
        self.where = where if self.sample_id is None else f"{where}, sample {self.sample_id}"

    def _check_strings(self) -> None:
        job, where = self.job, f"stage {self.stage}: job"
        if not all(isinstance(c, str) for c in job["command"]) or not job["command"]:
            raise BadCheckRequest(f"{where}.command must be a non-empty list of strings")
        for name in ("environment", "inputs", "outputs"):
            mapping = cast(dict[str, Any], job[name])
            if not all(isinstance(v, str) for v in mapping.values()):
                raise BadCheckRequest(f"{where}.{name} values must be strings")
        if job["shell"] and len(job["command"]) != 1:
            raise BadCheckRequest(f"{where}.command has {len(job['command'])} entries but shell "
                                  "is true; a shell command is a single string")
        if job["stdout"] is not None and job["stdout"] not in job["outputs"]:
            raise BadCheckRequest(f"{where}.stdout names {job['stdout']!r}, which is not an output")

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
            rendered = contracts.render(template, dict(values))
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


def resolve(request: Mapping[str, Any]) -> Stage:
    """The stage a "pre"/"post" request is about; raises BadCheckRequest."""
    return _Resolver(request).resolve()
