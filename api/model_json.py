"""A response model's JSON written straight from the dict the hub built for it, not validated.

Validating a profile into `SubjectProfilePublic` and dumping it took a fifth of the profile
route's time under load, to re-check values the access policy had just shaped from gold. What
validation did besides checking is done here: the model's fields in the model's order (what a
dict holds beyond them is dropped) and `LocalDatetime` values in district time. pydantic-core
writes the JSON, so values are formatted as `model_dump_json` formats them, byte for byte
(`tests/unit/test_model_json.py`). The route keeps the model as its `response_model`: the
OpenAPI document still describes what it sends.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import pydantic_core
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from api.schemas import in_district_time

# What gives a field's value its served form; None: the value as it is.
Shape = Callable[[Any], Any]


def _local_datetime(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else in_district_time(value)


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
        return _local_datetime
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_shape(annotation)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            shape_item = model_shape(item)
            return lambda values: None if values is None else [shape_item(v) for v in values]
        if _is_local_datetime(item, []):
            return lambda values: None if values is None else [_local_datetime(v) for v in values]
    return None


@cache
def model_shape(model: type[BaseModel]) -> Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None]:
    """What makes a dict holding `model`'s fields into the dict its JSON is written from."""
    order = tuple(model.model_fields)
    fields = model.model_fields.items()
    shapes = [(name, field_shape) for name, field in fields if (field_shape := _shape_of(field))]

    def shape(data: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if data is None:
            return None
        # A dict of just the model's fields in its order is not built again: the access policy
        # builds most of a profile's dicts so. The one given is never changed.
        if not isinstance(data, dict) or tuple(data) != order:
            served = {name: data[name] for name in order}
        elif shapes:
            served = data.copy()
        else:
            return data
        for name, to_served in shapes:
            served[name] = to_served(served[name])
        return served

    return shape


def model_json(model: type[BaseModel], data: Mapping[str, Any]) -> bytes:
    """The JSON `model.model_validate(data).model_dump_json()` gives, for data the model accepts
    as it is (no coercion), without validating it."""
    return pydantic_core.to_json(model_shape(model)(data))
