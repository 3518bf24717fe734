"""The Python API users write workflows with. It only records; validation comes later."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator import model


def _caller(depth: int = 2) -> model.Source:
    frame = sys._getframe(depth)
    return model.Source(frame.f_code.co_filename, frame.f_lineno)


@dataclass(frozen=True)
class JobRef:
    """What ``Workflow.job`` returns: pass it in ``after=[...]``."""

    name: str


@dataclass(frozen=True)
class Samples:
    """What ``Workflow.foreach`` returns: pass it as ``per=`` to fan a job out."""

    column: str


class Workflow:
    """A workflow under construction.

    >>> wf = Workflow("demo", bucket="s3://my-bucket/demo")
    >>> samples = wf.foreach("sample_id")
    >>> count = wf.job("count", image="python:3.12-slim", command=["wc", "-l", "{inputs.x}"],
    ...                inputs={"x": "raw/{sample_id}.txt"}, outputs={"n": "n/{sample_id}.txt"},
    ...                per=samples)
    """

    def __init__(self, name: str, *, bucket: str, description: str = "") -> None:
        self.name = name
        self.bucket = bucket
        self.description = description
        self._source = _caller()
        self._jobs: list[model.Job] = []
        self._foreach: model.Foreach | None = None
        self._params: list[model.Param] = []
        self._triggers: list[model.Trigger] = []

    def foreach(
        self, column: str, *, columns: Sequence[str] = (), max_concurrency: int | None = None
    ) -> Samples:
        """Fan out over sample-sheet rows; ``column`` names each row (e.g. ``sample_id``)."""
        self._foreach = model.Foreach(
            column=column,
            columns=tuple(columns),
            max_concurrency=model.DEFAULT_MAX_CONCURRENCY if max_concurrency is None
            else max_concurrency,
            source=_caller(),
        )
        return Samples(column)

    def param(self, name: str, default: str | None = None) -> str:
        """A run-level parameter, usable as ``{name}`` in commands and paths."""
        self._params.append(model.Param(name, default, _caller()))
        return name

    def on_upload(self, pattern: str) -> None:
        """Start one run per uploaded object whose key matches ``pattern`` under the prefix."""
        self._triggers.append(model.Trigger("key", _caller(), pattern=pattern))

    def on_sample_sheet(self, prefix: str, suffix: str = ".csv") -> None:
        """Start one run over all rows of a CSV sample sheet uploaded under ``prefix``."""
        self._triggers.append(model.Trigger("sheet", _caller(), prefix=prefix, suffix=suffix))

    def job(
        self,
        name: str,
        *,
        image: str,
        command: Sequence[str],
        inputs: Mapping[str, str] | None = None,
        outputs: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        cpus: float = 1,
        memory: int | str = "2 GiB",
        gpus: int = 0,
        retries: int = 0,
        retry_exit_codes: Iterable[str | int] = (),
        timeout: int | str = "1h",
        after: Iterable[JobRef | str] = (),
        per: Samples | None = None,
        allow_empty: bool = False,
        shell: bool = False,
        stdout: str | None = None,
    ) -> JobRef:
        """Declare a stage. ``retries`` are extra attempts made by AWS Batch.

        ``shell=True`` runs the single command string with ``/bin/sh -c`` (placeholders are
        shell-quoted); ``stdout="name"`` writes the command's standard output to that output.
        """
        self._jobs.append(
            model.Job(
                name=name,
                image=image,
                command=tuple(command) if not isinstance(command, str) else (command,),
                source=_caller(),
                environment=dict(env or {}),
                inputs=dict(inputs or {}),
                outputs=dict(outputs or {}),
                cpus=cpus,
                memory=memory,
                gpus=gpus,
                retries=retries,
                retry_exit_codes=tuple(str(c) for c in retry_exit_codes),
                timeout=timeout,
                after=tuple(a.name if isinstance(a, JobRef) else str(a) for a in after),
                per_sample=per is not None,
                allow_empty=allow_empty,
                shell=shell,
                stdout=stdout,
            )
        )
        return JobRef(name)

    def build(self) -> model.Workflow:
        """The frozen model. Not validated: see :func:`orchestrator.validate.validate`."""
        return model.Workflow(
            name=self.name,
            bucket=self.bucket,
            source=self._source,
            jobs=tuple(self._jobs),
            foreach=self._foreach,
            params=tuple(self._params),
            triggers=tuple(self._triggers),
            description=self.description,
        )
