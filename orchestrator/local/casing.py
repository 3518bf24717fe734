"""ASL's PascalCase parameters <-> the AWS API's camelCase, driven by botocore's shapes.

Step Functions service integrations take ``JobName``/``ContainerOverrides`` and answer with
``JobId``/``Attempts``; the API underneath says ``jobName``/``jobId``. Only names of
structure members are converted: keys of maps (``Tags``, ``Parameters``) are user data and
stay as they are. Conversion is in place, as moto's interpreter expects.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape


@cache
def operation(service: str, action: str) -> OperationModel:
    """The model of ``action`` given as ASL writes it (``submitJob``) or in snake case."""
    model = botocore.session.get_session().get_service_model(service)
    names = {xform_name(name): name for name in model.operation_names}
    wanted = xform_name(action)
    if wanted not in names:
        raise KeyError(f"{service} has no operation {action!r}")
    return model.operation_model(names[wanted])


def to_api(value: Any, shape: Shape | None) -> None:
    """Rename structure members to the API's spelling, matching names case-insensitively."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        for key in list(value):
            name = members.get(key.lower())
            if name is None:
                continue
            item = value.pop(key)
            to_api(item, shape.members[name])
            value[name] = item
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for item in value:
            to_api(item, shape.member)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for item in value.values():
            to_api(item, shape.value)


def to_sfn(value: Any, shape: Shape | None) -> None:
    """Rename structure members the way Step Functions reports them: ``jobId`` -> ``JobId``."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key in list(value):
            if key not in shape.members:
                continue
            item = value.pop(key)
            to_sfn(item, shape.members[key])
            value[key[:1].upper() + key[1:]] = item
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for item in value:
            to_sfn(item, shape.member)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for item in value.values():
            to_sfn(item, shape.value)
