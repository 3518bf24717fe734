"""moto keeps every model object it ever made; the engine lets them go.

``moto.core.common_models.BaseModel.__new__`` appends each new instance to its class's
``instances_tracked`` list, for the moto server's dashboard, and only a full reset empties
it. Every DynamoDB item written, and every item a Query copies into its answer, every S3
key, SQS message and Batch job stays reachable for the engine's whole life. A run of N
samples makes O(N) writes and O(N) progress reads of O(N) rows each, so the engine's memory
grew as N² (1.37 GB at 1,000 samples x 2 stages) and every full garbage collection walked it
all. The engine never shows the dashboard: :func:`untracked_new` makes models as moto does,
without keeping them, and the lists are emptied when it is installed.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import BaseModel
from moto.core.model_instances import reset_model_data


def untracked_new(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__`` without the append to ``instances_tracked``."""
    return super(BaseModel, cls).__new__(cls)


def forget_tracked() -> None:
    """Let go of every instance moto tracked so far."""
    reset_model_data()
