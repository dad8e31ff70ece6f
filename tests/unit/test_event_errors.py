"""A malformed event's error names the field that is wrong, not a neighbouring one.

Every handler parses against its own model or union of models; for each sample and each
field in it, a wrong value must be reported under that field's name (issue 12, item 6).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from events import (
    BackupRequestedEvent,
    LambdaFailureEvent,
    RdsSnapshotEvent,
    ScheduledEvent,
    SnapshotQuotaEvent,
    load_sample,
    sample_names,
)
from events.parse import parse_event
from rds_backup.errors import InvalidEvent

# What each handler parses (handlers/*.py).
HANDLER_MODELS: dict[str, Any] = {
    "notify": RdsSnapshotEvent | LambdaFailureEvent | SnapshotQuotaEvent,
    "start_backup": ScheduledEvent | BackupRequestedEvent,
    "copy/export": RdsSnapshotEvent,
}
WRONG_VALUES: tuple[Any, ...] = ({"unexpected": "object"}, 10**30, "x" * 5000)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, (*path, index))
    else:
        yield path


def _cases() -> Iterator[Any]:
    for name in sample_names():
        for handler, model in HANDLER_MODELS.items():
            try:
                parse_event(load_sample(name), model)
            except InvalidEvent:
                continue  # not this handler's event
            for path in _leaves(load_sample(name)):
                yield pytest.param(name, model, path, id=f"{handler}:{name}:{path}")


def _with(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    inner: Any = changed
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    return changed


def _problem(event: dict[str, Any], model: Any) -> str | None:
    try:
        parse_event(event, model)
    except InvalidEvent as error:
        return str(error)
    return None


@pytest.mark.parametrize(("sample", "model", "path"), list(_cases()))
def test_a_wrong_value_is_reported_under_its_own_field_name(sample, model, path):
    # Given a valid sample event with one field given a wrong value
    field = next(str(key) for key in reversed(path) if not isinstance(key, int))
    for wrong in WRONG_VALUES:
        event = _with(load_sample(sample), path, wrong)

        # When the handler's model parses it
        problem = _problem(event, model)

        # Then the error names that field (values the field accepts are not errors)
        assert problem is None or field in problem, f"{path} = {type(wrong).__name__}: {problem}"


def test_an_event_of_a_kind_the_function_does_not_handle_says_which_kinds_it_expects():
    # Given an RDS event delivered to start_backup
    event = load_sample("rds-0042-snapshot-created")

    # When start_backup's union parses it
    with pytest.raises(InvalidEvent) as raised:
        parse_event(event, ScheduledEvent | BackupRequestedEvent)

    # Then the error names the detail-type and the expected ones, not a field of each model
    message = str(raised.value)
    assert "'RDS DB Snapshot Event' is none this function handles" in message
    assert "'Backup Requested'" in message
    assert "'Scheduled Event'" in message
    assert "SourceType" not in message
