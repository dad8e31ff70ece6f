"""Parse a raw event into its contract, or raise InvalidEvent naming what is wrong.

The error names fields and problems only, never the payload's values, so a hostile or
sensitive event does not end up in logs or emails.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cache
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from rds_backup.errors import InvalidEvent

T = TypeVar("T")
MAX_PROBLEMS = 5


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def parse_event(raw: Any, model: type[T] | Any) -> T:
    """Validate ``raw`` against ``model`` (a model class or a union of them)."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"event must be a JSON object, got {type(raw).__name__}")
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
