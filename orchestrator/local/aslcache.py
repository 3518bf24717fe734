"""moto's Step Functions interpreter parses a definition each time it runs one.

``AmazonStateLanguageParser.parse`` runs an ANTLR parser written in Python over the whole
definition when a state machine is created (to validate it) and again at the start of every
execution: about 0.7 s for a 20-stage definition on this machine class, twice per local run,
the second time on the run's own clock. :func:`cached_parse` keeps the parse tree of each
definition it parsed without error and builds the evaluation components from it anew for
every caller: the tree is only read (ANTLR trees are not changed by visiting them), and each
execution still gets components of its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

KEPT: Final = 16  # definitions whose trees are kept (a run has one to a few)

Parse = Callable[[str], tuple[Any, Any]]

# Kept for the process, not per adapter: a warm engine (cli/engined.py) parses the definitions
# its runs used, so the runs it forks later find them here.
_TREES: Final[OrderedDict[str, Any]] = OrderedDict()
_LOCK: Final = threading.Lock()


def cached_parse(parse: Parse) -> Parse:
    """``parse`` that reads each definition's text once; later calls visit the kept tree."""

    def cached(definition: str) -> tuple[Any, Any]:
        with _LOCK:
            tree = _TREES.get(definition)
            if tree is not None:
                _TREES.move_to_end(definition)
        if tree is None:
            program, tree = parse(definition)  # raises on a bad definition: nothing kept
            _keep(definition, tree)
            return program, tree
        return Preprocessor().visit(tree), tree

    return cached


def _keep(definition: str, tree: Any) -> None:
    with _LOCK:
        _TREES[definition] = tree
        while len(_TREES) > KEPT:
            _TREES.popitem(last=False)


def kept() -> list[str]:
    """The definitions whose trees are kept, oldest first."""
    with _LOCK:
        return list(_TREES)


def learn(definitions: list[str]) -> int:
    """Parse and keep the definitions not kept yet (a bad one is skipped); returns how many
    were parsed."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parsed = 0
    for definition in definitions:
        with _LOCK:
            if definition in _TREES:
                continue
        try:
            _, tree = AmazonStateLanguageParser.parse(definition)
        except Exception:  # moto refuses it: a run would too, with the error where it belongs
            continue
        _keep(definition, tree)
        parsed += 1
    return parsed
