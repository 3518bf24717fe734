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


def cached_parse(parse: Parse) -> Parse:
    """``parse`` that reads each definition's text once; later calls visit the kept tree."""
    trees: OrderedDict[str, Any] = OrderedDict()
    lock = threading.Lock()

    def cached(definition: str) -> tuple[Any, Any]:
        with lock:
            tree = trees.get(definition)
            if tree is not None:
                trees.move_to_end(definition)
        if tree is None:
            program, tree = parse(definition)  # raises on a bad definition: nothing kept
            with lock:
                trees[definition] = tree
                while len(trees) > KEPT:
                    trees.popitem(last=False)
            return program, tree
        return Preprocessor().visit(tree), tree

    return cached
