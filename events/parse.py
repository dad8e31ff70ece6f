"""Parse a raw event into its contract, or raise InvalidEvent naming what is wrong.

The error names fields and problems only, never the payload's values, so a hostile or
sensitive event does not end up in logs or emails.
"""

from __future__ import annotations

import types
from collections.abc import Hashable
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from rds_backup.errors import InvalidEvent

T = TypeVar("T")
MAX_PROBLEMS = 5


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _detail_types(member: Any) -> tuple[str, ...]:
    """The ``detail-type`` values a model accepts (its ``Literal``), or () for any."""
    field = getattr(member, "model_fields", {}).get("detail_type")
    return tuple(get_args(field.annotation)) if field is not None else ()


def _member_for(raw: dict[str, Any], model: Any) -> Any:
    """For a union, the one member whose ``detail-type`` the event names.

    Validating against the whole union reports every member's mismatches, so a wrong
    field in a failure record was hidden behind "SourceType: Field required" of the RDS
    model: choosing the member first makes the error name the field that is wrong.
    """
    if get_origin(model) not in (Union, types.UnionType):
        return model
    members = get_args(model)
    wanted = raw.get("detail-type")
    for member in members:
        if wanted in _detail_types(member):
            return member
    expected = sorted({value for member in members for value in _detail_types(member)})
    shown = str(wanted)[:64] if isinstance(wanted, str) else type(wanted).__name__
    raise InvalidEvent(
        f"event detail-type {shown!r} is none this function handles; expected one of "
        + ", ".join(repr(value) for value in expected)
    )


def parse_event(raw: Any, model: type[T] | Any) -> T:
    """Validate ``raw`` against ``model`` (a model class or a union of them)."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"event must be a JSON object, got {type(raw).__name__}")
    model = _member_for(raw, model)
    try:
        parsed: T = _adapter(cast(Hashable, model)).validate_python(raw)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        ]
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = f" (+{len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        kind = str(raw.get("detail-type", "?"))[:64]
        raise InvalidEvent(f"event {kind!r} does not match its contract: {shown}{more}") from None
    return parsed
