"""Every state name the compiler generates, made by one function that knows the limit.

:func:`state` keeps a name that fits Step Functions' limit and shortens one that does not:
the first characters, then ``" ~"`` and eight hex digits of the SHA-256 of the whole name.
So every generated name fits, the same workflow always gets the same names, and two
different names stay different (no job name, column or fixed name contains ``"~"``, so a
shortened name cannot equal one that was left alone). Validation has nothing to check here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from orchestrator_runtime import limits

MARK = " ~"
DIGEST = 8

READ_INPUT = "Read input"
APPLY_DEFAULTS = "Apply defaults"
DONE = "Done"
ANY_SAMPLES = "Any samples?"
NO_SAMPLES = "No samples"


def state(text: str) -> str:
    """``text`` when it fits; otherwise its head and a digest of all of it."""
    if len(text) <= limits.STATE_NAME_CHARS:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:DIGEST]
    return text[:limits.STATE_NAME_CHARS - len(MARK) - DIGEST] + MARK + digest


def check(job: str) -> str:
    """A stage's own state (check its outputs, or plan its samples under ``array``): the one
    state each stage has; the rest of a stage is shared by every stage of its scope."""
    return state(f"Check {job}")


def plan(job: str) -> str:
    return state(f"Plan {job}")


def parallel(first_jobs: Sequence[str]) -> str:
    """A Parallel state, named after the first job of each branch."""
    return state("Parallel " + " + ".join(first_jobs))


def branch_done(first_job: str) -> str:
    return state(f"{first_job} branch done")


class Block(NamedTuple):
    """Names of a Map block's states. The fixed ones have three or more words (or end in
    '?'), so they can never equal a job's "Run x" / "x failed" states (job names have no
    spaces)."""

    map: str
    body: str
    ok: str
    failed: str
    summarize: str
    any_failed: str
    fail: str
    survivors: str  # map strategy: later steps read the sheet of the samples that went on


def block(column: str, number: int | None) -> Block:
    """``number`` tells the blocks of a workflow apart when it has several (None: one)."""
    tag = f" ({number})" if number is not None else ""
    return Block(state(f"For each {column}{tag}"), state(f"Sample pipeline{tag}"),
                 state(f"Sample pipeline{tag} succeeded"), state(f"Sample pipeline{tag} failed"),
                 state(f"Summarize samples{tag}"), state(f"Any sample{tag} failed?"),
                 state(f"Some samples failed{tag}"), state(f"Keep surviving samples{tag}"))


class Shared(NamedTuple):
    """The states every stage of one scope (the machine, a Parallel branch, a map child)
    shares: each stage's own state records which stage it is, and these read that. The names
    have three words or more (job names have no spaces), and ``tag`` tells scopes apart."""

    skip: str
    run: str
    verify: str
    how_many: str
    run_one: str
    run_array: str
    run_chunks: str
    run_chunk: str
    chunk_ended: str
    collect: str
    after: str
    explain: str
    failed: str


SHARED = Shared(
    "Skip the job?", "Run the job", "Verify the outputs", "How many samples?", "Run one job",
    "Run an array job", "Run the chunks", "Run one chunk", "The chunk ended",
    "Collect the results", "Which stage next?", "Explain the failure", "The stage failed")


def shared(scope: str) -> Shared:
    """The shared states of the scope called ``scope`` ("" for the top-level machine)."""
    tag = f" ({scope})" if scope else ""
    return Shared(*(state(base + tag) for base in SHARED))


def is_shared(name: str) -> bool:
    """Whether ``name`` is a state that several stages share (which stage it is running is
    in its input, at ``check.stage``)."""
    return any(name == base or name.startswith(base + " (") for base in SHARED)


def branch_scope(first_job: str) -> str:
    """A Parallel branch's scope: the branch named after what it starts with."""
    return f"{first_job} branch"


READ_SHEET = "Read sample sheet"
EXPLAIN_SHEET = "Explain sample sheet"
BAD_SHEET = "Bad sample sheet"
KEEP_SHEET = "Keep sheet location"
