"""The Python API users write workflows with. It only records; validation comes later."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from orchestrator import model


def _caller(depth: int = 2) -> model.Source:
    frame = sys._getframe(depth)
    return model.Source(frame.f_code.co_filename, frame.f_lineno)


@dataclass(frozen=True)
class JobRef:
    """What ``Workflow.job`` returns: pass it in ``after=[...]``."""

    name: str
    owner: object = field(default=None, compare=False, repr=False)  # the Workflow it is from


@dataclass(frozen=True)
class Samples:
    """What ``Workflow.foreach`` returns: pass it as ``per=`` to fan a job out."""

    column: str
    owner: object = field(default=None, compare=False, repr=False)


def _mapping(value: object, what: str, example: str,
             problems: list[tuple[str, str]]) -> dict[str, str]:
    """``value`` as a dict, or {} with a problem recorded when it is not a mapping. Keys and
    values are kept as given: the checks report those that are not strings."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    problems.append((f"{what}={value!r:.60} is not a dict of names to paths",
                     f"write {what}={example}"))
    return {}


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
        self, column: str, *, columns: Sequence[str] = (), max_concurrency: int | None = None,
        strategy: Literal["auto", "inline", "array", "map"] = "auto",
        max_samples: int = model.DEFAULT_MAX_SAMPLES,
        tolerated_failure_percentage: float = 0,
    ) -> Samples:
        """Fan out over sample-sheet rows; ``column`` names each row (e.g. ``sample_id``).

        ``strategy``: "array" runs each per-sample stage as Batch array jobs over only the
        samples that need it (any number of samples); "inline" runs each sample's stages in
        an inline Map (samples do not wait for each other, but a run holds a few hundred
        samples at most); "map" runs each sample's stages in its own child execution of a
        Distributed Map over the sheet in S3 (no barrier between stages, any number of
        samples); "auto" picks inline only when it fits ``max_samples``, else array (map is
        only ever chosen explicitly). ``tolerated_failure_percentage`` (map only): the share
        of samples that may fail without failing the run (0: any failed sample fails it,
        once the others have finished).
        """
        self._foreach = model.Foreach(
            column=column,
            columns=tuple(columns),
            max_concurrency=model.DEFAULT_MAX_CONCURRENCY if max_concurrency is None
            else max_concurrency,
            strategy=strategy,
            max_samples=max_samples,
            tolerated_failure_percentage=tolerated_failure_percentage,
            source=_caller(),
        )
        return Samples(column, self)

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
        problems: list[tuple[str, str]] = []
        self._jobs.append(
            model.Job(
                name=name,
                image=image,
                command=tuple(command) if not isinstance(command, str) else (command,),
                source=_caller(),
                environment=_mapping(env, "env", "{'THREADS': '4'}", problems),
                inputs=_mapping(inputs, "inputs", "{'reads': 'raw/{sample_id}.fq.gz'}",
                                problems),
                outputs=_mapping(outputs, "outputs", "{'bam': 'aligned/{sample_id}.bam'}",
                                 problems),
                cpus=cpus,
                memory=memory,
                gpus=gpus,
                retries=retries,
                retry_exit_codes=self._exit_codes(retry_exit_codes, problems),
                timeout=timeout,
                after=self._after(after, problems),
                per_sample=self._per(per, problems),
                allow_empty=allow_empty,
                shell=shell,
                stdout=stdout,
                problems=tuple(problems),
            )
        )
        return JobRef(name, self)

    def _after(self, after: object, problems: list[tuple[str, str]]) -> tuple[str, ...]:
        if isinstance(after, str | JobRef):
            shown = after if isinstance(after, str) else after.name
            problems.append((f"after={after!r:.60} is a single value, not a list of jobs",
                             f"write after=[{shown}] (a list, even of one job)"))
            return ()
        if not isinstance(after, Iterable):
            problems.append((f"after={after!r:.60} is not a list of jobs",
                             "write after=[job, ...] with what wf.job returned"))
            return ()
        names: list[str] = []
        for item in after:
            if isinstance(item, JobRef) and item.owner is not None and item.owner is not self:
                problems.append((
                    f"after= lists job {item.name!r} of another Workflow "
                    f"({getattr(item.owner, 'name', '?')!r})",
                    "a job can only run after jobs of its own workflow"))
            elif isinstance(item, JobRef):
                names.append(item.name)
            else:
                names.append(item)  # names that are not strings: unknown-dependency
        return tuple(names)

    def _per(self, per: object, problems: list[tuple[str, str]]) -> bool:
        if per is None:
            return False
        if not isinstance(per, Samples):
            problems.append((f"per={per!r:.60} is not what wf.foreach returned",
                             "write samples = wf.foreach('sample_id') and pass per=samples"))
        elif per.owner is not None and per.owner is not self:
            problems.append((
                f"per= is the foreach of another Workflow ({getattr(per.owner, 'name', '?')!r})",
                "pass the value this workflow's own wf.foreach returned"))
        return True

    @staticmethod
    def _exit_codes(codes: object, problems: list[tuple[str, str]]) -> tuple[str, ...]:
        if isinstance(codes, str | int) or not isinstance(codes, Iterable):
            problems.append((f"retry_exit_codes={codes!r:.60} is not a list of exit codes",
                             f"write retry_exit_codes=[{codes!r:.20}]"))
            return ()
        return tuple(str(c) for c in codes)

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
