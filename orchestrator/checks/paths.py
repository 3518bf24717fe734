"""The workflow's bucket and the declared paths: well-formed, and no object written twice."""

from __future__ import annotations

import re
from collections.abc import Iterator

from orchestrator import model
from orchestrator.checks.common import Check, error, resolved
from orchestrator.errors import Diagnostic
from orchestrator_runtime import contracts

# S3 general purpose bucket names: 3-63 of lowercase letters, digits, '.', '-'; alphanumeric
# at both ends.
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _bucket_problem(bucket: str) -> str:
    if not BUCKET_RE.fullmatch(bucket):
        return f"{bucket!r} is not a valid S3 bucket name"
    if ".." in bucket:
        return f"bucket name {bucket!r} has two dots in a row"
    return ""


def bucket(wf: model.Workflow) -> Iterator[Diagnostic]:
    hint = "write the bucket as s3://my-bucket or s3://my-bucket/some/prefix"
    value = wf.bucket
    if not isinstance(value, str) or not value.startswith("s3://"):
        yield error("bad-bucket", wf.source,
                    f"workflow {wf.name!r}: bucket {value!r} is not an s3:// URI", hint)
        return
    name, _, prefix = value[5:].partition("/")
    problem = _bucket_problem(name)
    if not problem and any(p in (".", "..") for p in prefix.split("/")):
        problem = f"the prefix {prefix!r} has '.' or '..' in it"
    if not problem and "" in prefix.split("/")[:-1]:
        problem = f"the prefix {prefix!r} has an empty part ('//')"
    if problem:
        yield error("bad-bucket", wf.source, f"workflow {wf.name!r}: bucket {value!r}: {problem}",
                    hint)


def _path_problem(path: object) -> str:
    if not isinstance(path, str):
        return f"is {path!r}, not a path string"
    if not path:
        return "is empty"
    if path.startswith("s3://"):
        name, _, key = path[5:].partition("/")
        if "{" not in name and _bucket_problem(name):
            return f"{path!r}: {_bucket_problem(name)}"
        return "" if key.strip("/") else f"{path!r} names a bucket but no object key"
    if path.startswith(("/", "\\")):
        return f"{path!r} starts with '/'; paths are relative to the workflow's bucket"
    if ".." in path.split("/"):
        return f"{path!r} uses '..', which would leave the workflow's bucket prefix"
    if "://" in path:
        return f"{path!r} is a URI but not an s3:// one"
    return ""


def _output_problem(path: str) -> str:
    """An output names one object: a key ending in '/' (or '.', '..') names a folder."""
    last = path.rsplit("/", 1)[-1]
    if path.endswith(("/", "\\")) or last in (".", ".."):
        return f"{path!r} names a folder, not an object"
    return ""


def paths(wf: model.Workflow) -> Iterator[Diagnostic]:
    for job in wf.jobs:
        for kind, declared in (("input", job.inputs), ("output", job.outputs)):
            for name, path in declared.items():
                problem = _path_problem(path)
                if not problem and kind == "output" and isinstance(path, str):
                    problem = _output_problem(path)
                    if problem:
                        yield error(
                            "output-is-folder", job.source,
                            f"job {job.name!r}: output {name} {problem}; each output is one "
                            "S3 object the job writes",
                            "name the file, e.g. 'results/{sample_id}/counts.tsv'; for many "
                            "files write an archive (tar) as the output",
                        )
                        continue
                if problem:
                    yield error(
                        "bad-path", job.source, f"job {job.name!r}: {kind} {name} {problem}",
                        "write a path relative to the bucket, like 'qc/{sample_id}.tsv', or "
                        "a full s3://bucket/key",
                    )


def outputs_written_once(wf: model.Workflow) -> Iterator[Diagnostic]:
    first: dict[str, tuple[model.Job, str]] = {}
    for job in wf.jobs:
        for name, path in job.outputs.items():
            uri = resolved(wf, path) if isinstance(path, str) else None
            if uri is None:
                continue
            if uri not in first:
                first[uri] = (job, name)
                continue
            other, other_name = first[uri]
            yield error(
                "duplicate-output", job.source,
                f"job {job.name!r}: output {name} writes {path}, which output {other_name} of "
                f"job {other.name!r} (line {other.source.line}) also writes",
                "give each output its own path; a job that needs another's output reads it "
                "as an input",
            )


def per_sample_outputs_differ(wf: model.Workflow) -> Iterator[Diagnostic]:
    if wf.foreach is None:
        return
    column = wf.foreach.column
    for job in wf.jobs:
        if not job.per_sample:
            continue
        for name, path in job.outputs.items():
            if isinstance(path, str) and column not in contracts.placeholders(path):
                head, _, tail = path.rpartition("/")
                example = f"{head}/{{{column}}}/{tail}" if head else f"{{{column}}}/{tail}"
                yield error(
                    "shared-per-sample-output", job.source,
                    f"job {job.name!r} runs per sample, but output {name} ({path}) does not "
                    f"use {{{column}}}, so different samples would write the same object",
                    f"put {{{column}}} in the path, e.g. {example!r}",
                )


def outputs_are_not_folders(wf: model.Workflow) -> Iterator[Diagnostic]:
    """An output whose path is the folder of another declared path cannot be one object."""
    declared: list[tuple[str, model.Job, str]] = []
    for job in wf.jobs:
        for kind, paths_of in (("input", job.inputs), ("output", job.outputs)):
            for name, path in paths_of.items():
                uri = resolved(wf, path) if isinstance(path, str) else None
                if uri is not None:
                    declared.append((uri, job, f"{kind} {name}"))
    for job in wf.jobs:
        for name, path in job.outputs.items():
            uri = resolved(wf, path) if isinstance(path, str) else None
            inner = next(((j, what) for u, j, what in declared
                          if uri is not None and u.startswith(uri + "/")), None)
            if inner is not None:
                yield error(
                    "output-is-folder", job.source,
                    f"job {job.name!r}: output {name} ({path}) is the folder of {inner[1]} of "
                    f"job {inner[0].name!r}; an output is one S3 object",
                    "declare each file the job writes as its own output",
                )


CHECKS: tuple[Check, ...] = (bucket, paths, outputs_written_once, per_sample_outputs_differ,
                             outputs_are_not_folders)
