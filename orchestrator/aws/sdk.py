"""Step Functions Data Science SDK interop, for notebook users.

:func:`to_sdk_workflow` returns a ``stepfunctions.workflow.Workflow`` whose definition is
exactly the compiled ASL (placeholders filled in), so ``create()``, ``execute()``,
``render_graph()`` and ``list_executions()`` work on it.

Why not rebuild the states with the SDK's classes (``stepfunctions.steps.Task`` ...): they
accept only the fields the SDK knew in 2.3.0 and raise ``TypeError`` on others, and our
definitions use ``ResultSelector``, ``ItemSelector``, ``CausePath`` and Retry's
``MaxDelaySeconds``/``JitterStrategy``. The SDK's own ``FrozenGraph`` (what
``Workflow.attach`` uses) holds a definition as a plain dict and serializes it unchanged;
this module wraps the definition in it.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orchestrator import model
from orchestrator.aws.errors import UsageError
from orchestrator.template.description import substitution_keys
from orchestrator_runtime import contracts as c

if TYPE_CHECKING:
    from stepfunctions.workflow import Workflow


def substitute(definition: dict[str, Any], substitutions: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``definition`` with every ``${Key}`` replaced, as DefinitionSubstitutions
    does; a placeholder without a value is an error naming it."""
    missing = [p for p in substitution_keys(definition) if p not in substitutions]
    if missing:
        raise UsageError("no value for " + ", ".join(c.substitution(m) for m in missing)
                         + ": pass them in substitutions (see orchestrator.aws.stack."
                         "definition_substitutions for a deployed stack)")

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return c.substitute(value, substitutions)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {fill(k): fill(v) for k, v in value.items()}
        return value

    filled: dict[str, Any] = fill(copy.deepcopy(definition))
    return filled


def to_sdk_workflow(wf: model.Workflow, definition: dict[str, Any], role_arn: str,
                    substitutions: Mapping[str, str], client: Any = None) -> Workflow:
    """A ``stepfunctions.workflow.Workflow`` named after ``wf`` running ``definition``.

    ``client`` is the boto3 Step Functions client the SDK uses (its default otherwise).
    """
    with warnings.catch_warnings():  # sagemaker 2 (the SDK's dependency) warns on import
        warnings.simplefilter("ignore")
        from stepfunctions.steps import FrozenGraph
        from stepfunctions.workflow import Workflow

    graph = FrozenGraph(definition=substitute(definition, substitutions))
    return Workflow(name=wf.name, definition=graph, role=role_arn, client=client)
