"""Failures inside Map and Parallel states, reported as Step Functions reports them.

Two moto defects hide or mangle per-item failures:

* a Map iteration or Parallel branch that fails with a ``States.*`` error (``States.TaskFailed``
  from a failed Batch job, ``States.NoChoiceMatched``, ...) makes moto raise ValueError
  ("Custom Error Names MUST NOT begin with the prefix 'States.'"), so the state fails with
  ``States.Runtime``, which no ``Catch`` can match; :func:`error_name` names it correctly;
* a Distributed Map ignores its failure threshold: failed children become ``null`` results
  of a SUCCEEDED state. :func:`enforce_tolerance` fails the state with
  ``States.ExceedToleratedFailureThreshold`` when the failed items exceed the tolerated count
  and percentage (0 and 0 unless the definition says otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def error_name(error_name: str | None) -> ErrorName:
    """Drop-in for moto's ``CustomErrorName(error_name=...)`` that accepts ``States.*``."""
    if error_name is not None and error_name.startswith("States."):
        try:
            return StatesErrorName.from_name(error_name)
        except ValueError:
            pass
    return CustomErrorName(error_name=error_name)


MapRun = Callable[[Any, Any, Any], None]


def enforce_tolerance(original: MapRun) -> MapRun:
    """Wrap ``DistributedIterationComponent._map_run`` with the failure threshold check."""

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        counter = eval_input.map_run_record.item_counter
        failed = counter.failed.get() + counter.timed_out.get()
        items = len(env.stack[-1])
        over_count = failed > (eval_input.tolerated_failure_count or 0)
        over_share = failed * 100.0 / max(items, 1) > (eval_input.tolerated_failure_percentage
                                                        or 0)
        if failed and over_count and over_share:
            env.stack.pop()
            name = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
            raise FailureEventException(FailureEvent(
                env=env,
                error_name=StatesErrorName(
                    typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=cast(EventDetails, {"mapRunFailedEventDetails": {
                    "error": name,
                    "cause": f"{THRESHOLD_CAUSE}: {failed} of {items} items failed"}}),
            ))

    return map_run
