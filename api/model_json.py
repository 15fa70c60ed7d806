"""A response model's JSON written straight from the dict the hub built in the model's served
form, not validated.

Validating a profile into `SubjectProfilePublic` and dumping it took a fifth of the profile
route's time under load, to re-check values the access policy had just shaped from gold; walking
the dict again to put its times in district time and its keys in order took half as much again.
So the access policy builds the served form itself: each dict holds just its model's fields in the
model's order, and each `LocalDatetime` value is in district time (`field_shapes` tells it which
fields need what). pydantic-core writes that as `model_dump_json` writes the validated model, byte
for byte (`tests/unit/test_model_json.py`). The route keeps the model as its `response_model`: the
OpenAPI document still describes what it sends.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import pydantic_core
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from api.schemas import in_district_time

# What gives a held value (not None) its served form.
Shape = Callable[[Any], Any]


def _without_none(annotation: Any) -> Any:
    """`X` of `X | None`; the annotation itself otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_local_datetime(annotation: Any, metadata: list[Any]) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *more = typing.get_args(annotation)
        metadata = [*metadata, *more]
    if annotation is not dt.datetime:
        return False
    if not any(isinstance(m, AfterValidator) and m.func is in_district_time for m in metadata):
        # Only the district's time is served; a datetime of another kind needs its own shape here.
        raise TypeError("a datetime field that is not a LocalDatetime")
    return True


def _shape_of(field: FieldInfo) -> Shape | None:
    annotation = _without_none(field.annotation)
    if _is_local_datetime(annotation, field.metadata):
        return in_district_time
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if _is_local_datetime(item, []):
            return lambda values: [None if v is None else in_district_time(v) for v in values]
    # A nested model's dicts are built by whoever builds the served form, with that model's shapes.
    return None


@cache
def field_shapes(model: type[BaseModel]) -> dict[str, Shape]:
    """The fields of `model` whose held values need a shape to be served, with it: a
    `LocalDatetime` is put in district time (a naive one is taken as district time)."""
    return {name: shape for name, field in model.model_fields.items() if (shape := _shape_of(field))}


@cache
def field_order(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


def served_json(data: dict[str, Any]) -> bytes:
    """The JSON of a dict in its model's served form: what the validated model would dump."""
    return pydantic_core.to_json(data)
