"""ASL's PascalCase parameters <-> the AWS API's camelCase, driven by botocore's shapes.

Step Functions service integrations take ``JobName``/``ContainerOverrides`` and answer with
``JobId``/``Attempts``; the API underneath says ``jobName``/``jobId``. Only names of
structure members are converted: keys of maps (``Tags``, ``Parameters``) are user data and
stay as they are. Conversion is in place, as moto's interpreter expects.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _rename(value: Any, shape: Shape | None, name_of: Callable[[StructureShape, str], str | None],
            spell: Callable[[str], str]) -> None:
    """Walk ``value`` along ``shape``; each structure key found by ``name_of`` (its member
    name, or None to leave it) is renamed to ``spell(member)``. Map keys are user data."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key in list(value):
            member = name_of(shape, key)
            if member is None:
                continue
            item = value.pop(key)
            _rename(item, shape.members[member], name_of, spell)
            value[spell(member)] = item
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for item in value:
            _rename(item, shape.member, name_of, spell)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for item in value.values():
            _rename(item, shape.value, name_of, spell)


def _case_insensitive(shape: StructureShape, key: str) -> str | None:
    return {name.lower(): name for name in shape.members}.get(key.lower())


def _exact(shape: StructureShape, key: str) -> str | None:
    return key if key in shape.members else None


def to_api(value: Any, shape: Shape | None) -> None:
    """Rename structure members to the API's spelling, matching names case-insensitively."""
    _rename(value, shape, _case_insensitive, lambda member: member)


def to_sfn(value: Any, shape: Shape | None) -> None:
    """Rename structure members the way Step Functions reports them: ``jobId`` -> ``JobId``."""
    _rename(value, shape, _exact, lambda member: member[:1].upper() + member[1:])
