"""The frozen intermediate representation every other module reads.

Values are stored as the user wrote them (``memory="4 GiB"``, ``timeout="1h"``) so that
validation can report a bad value with its line; :mod:`orchestrator.units` parses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from orchestrator import units
from orchestrator_runtime import limits

DEFAULT_MAX_CONCURRENCY = limits.INLINE_MAP_CONCURRENCY  # more would not run at once
# The most samples a run is expected to have unless foreach(max_samples=...) says otherwise:
# "auto" compiles to the array strategy unless an inline Map fits this many.
DEFAULT_MAX_SAMPLES = 10_000
STRATEGIES = ("auto", "inline", "array", "map")


@dataclass(frozen=True)
class Source:
    file: str
    line: int


@dataclass(frozen=True)
class Job:
    name: str
    image: str
    command: tuple[str, ...]
    source: Source
    environment: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    cpus: float = 1
    memory: int | str = 2048
    gpus: int = 0
    retries: int = 0  # extra attempts: AWS Batch attempts = retries + 1
    retry_exit_codes: tuple[str, ...] = ()  # exit-code patterns Batch retries besides infra
    timeout: int | str = "1h"
    after: tuple[str, ...] = ()
    per_sample: bool = False
    allow_empty: bool = False
    shell: bool = False
    stdout: str | None = None  # name of an output that receives the command's stdout
    # Arguments the DSL could not record as given: (message, hint), reported by validation.
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def memory_mib(self) -> int:
        return units.memory_mib(self.memory)

    @property
    def timeout_seconds(self) -> int:
        return units.duration_seconds(self.timeout)

    @property
    def attempts(self) -> int:
        return self.retries + 1


@dataclass(frozen=True)
class Foreach:
    """Fan-out over the rows of a sample sheet given in the execution input."""

    column: str
    source: Source
    columns: tuple[str, ...] = ()  # further sheet columns jobs may use as placeholders
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    strategy: Literal["auto", "inline", "array", "map"] = "auto"
    max_samples: int = DEFAULT_MAX_SAMPLES
    # strategy "map": the share of samples (percent) that may fail without failing the run
    tolerated_failure_percentage: float = 0

    @property
    def all_columns(self) -> tuple[str, ...]:
        return (self.column, *[c for c in self.columns if c != self.column])


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None
    source: Source


@dataclass(frozen=True)
class Trigger:
    """Start a run when an object lands in the workflow's bucket prefix."""

    kind: Literal["key", "sheet"]
    source: Source
    pattern: str = ""  # kind "key": e.g. "raw/{sample_id}.fastq.gz"
    prefix: str = ""  # kind "sheet"
    suffix: str = ".csv"


@dataclass(frozen=True)
class Workflow:
    name: str
    bucket: str  # s3://bucket/prefix
    source: Source
    jobs: tuple[Job, ...] = ()
    foreach: Foreach | None = None
    params: tuple[Param, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    description: str = ""

    def job(self, name: str) -> Job:
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(name)

    @property
    def bucket_name(self) -> str:
        return self.bucket[5:].split("/", 1)[0]

    @property
    def bucket_prefix(self) -> str:
        """Key prefix inside the bucket, without slashes at either end ("" for the root)."""
        rest = self.bucket[5:].split("/", 1)
        return rest[1].strip("/") if len(rest) > 1 else ""
