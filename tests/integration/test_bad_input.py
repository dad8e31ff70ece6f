"""Bad input, fuzzed: every handler either refuses an event with InvalidEvent or skips it
with a logged reason. Never another crash type, never an AWS call that changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import load_sample
from handlers import cleanup, copy_snapshot, export_snapshot, notify, reconcile, start_backup
from rds_backup.aws import get_aws
from rds_backup.errors import InvalidEvent
from tests.integration.chain import CONTEXT
from tests.support import CallRecorder, rds_event

HANDLERS = {
    "start_backup": (start_backup.handler, ["scheduled", "backup-requested"]),
    "copy_snapshot": (copy_snapshot.handler, ["rds-0042-snapshot-created"]),
    "export_snapshot": (export_snapshot.handler, ["rds-0060-copy-finished"]),
    "notify": (
        notify.handler,
        ["rds-0161-export-completed", "rds-0159-export-failed", "lambda-invocation-failure"],
    ),
    "reconcile": (reconcile.handler, ["scheduled"]),
    "cleanup": (cleanup.handler, ["scheduled"]),
}
MUTATING = ("Create", "Copy", "Start", "Delete", "Send", "Put", "Update", "Modify", "Add")
HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "'; DROP TABLE snapshots; --",
        "\r\nBcc: evil@example.com",
        "../../etc/passwd",
        "\x00\x1b[31m",
        "${jndi:ldap://x}",
        "{{7*7}}",
        "A" * 100_000,
        "rds-backup-orders-20261125-0300\n",
        "arn:aws:rds:us-east-1:999999999999:snapshot:x",
    ]
)
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.text(max_size=50),
    HOSTILE,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    return found


def mutate(event: dict, path: tuple, replacement: Any, delete: bool) -> dict:
    target = event
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = replacement
    return event


@st.composite
def broken_events(draw, sample: str) -> dict:
    event = load_sample(sample)
    path = draw(st.sampled_from(paths(event)))
    return mutate(event, path, draw(WRONG), draw(st.booleans()))


@pytest.fixture
def calls(world):
    aws = get_aws()
    recorder = CallRecorder()
    for region in ("us-east-1", "us-west-2"):
        recorder.attach(aws, "rds", region)
    recorder.attach(aws, "ses", "us-east-1")
    recorder.attach(aws, "dynamodb", "us-east-1")
    return recorder


# Still-valid mutations of these may legitimately act: a start snapshots, a handler
# failure is emailed. Every other sample names a snapshot that does not exist here.
MAY_ACT = {"scheduled", "backup-requested", "lambda-invocation-failure"}


def assert_nothing_changed(calls: CallRecorder, since: int = 0) -> None:
    changed = [name for _, name, _ in calls.calls[since:] if name.startswith(MUTATING)]
    assert changed == []


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("name", sorted(HANDLERS))
@FUZZ
@given(data=st.data())
def test_given_a_broken_sample_when_handled_then_invalid_or_skipped_and_nothing_changes(
    calls, name, data
):
    handler, samples = HANDLERS[name]
    sample = data.draw(st.sampled_from(samples))
    event = data.draw(broken_events(sample))
    before = len(calls.calls)

    refused: InvalidEvent | None = None
    try:
        result = handler(event, CONTEXT)
    except InvalidEvent as error:
        refused = error
    if refused is not None:
        assert len(calls.calls) == before  # refused before any AWS call
        assert "A" * 1000 not in str(refused)  # values are not echoed back
    else:
        assert isinstance(result, dict)
    if sample not in MAY_ACT or name in {"reconcile", "cleanup"}:
        assert_nothing_changed(calls, since=before)


@pytest.mark.parametrize("name", sorted(HANDLERS))
@FUZZ
@given(
    junk=st.one_of(
        st.none(),
        st.integers(),
        st.text(),
        st.lists(st.integers()),
        st.dictionaries(st.text(max_size=10), WRONG, max_size=5),
    )
)
def test_given_junk_instead_of_an_event_when_handled_then_it_is_refused(calls, name, junk):
    with pytest.raises(InvalidEvent):
        HANDLERS[name][0](junk, CONTEXT)

    assert calls.calls == []


@pytest.mark.parametrize(
    ("handler", "event_id", "region"),
    [
        (copy_snapshot.handler, "RDS-EVENT-0042", "us-east-1"),
        (export_snapshot.handler, "RDS-EVENT-0060", "us-west-2"),
        (notify.handler, "RDS-EVENT-0161", "us-west-2"),
    ],
)
@pytest.mark.parametrize(
    "twist",
    ["other account", "unknown event id", "truncated", "automated snapshot"],
)
def test_given_an_out_of_scope_event_when_handled_then_skipped_without_any_call(
    calls, handler, event_id, region, twist
):
    event = rds_event(event_id, region)
    detail = event["detail"]
    if twist == "other account":
        detail["SourceArn"] = detail["SourceArn"].replace("123456789012", "999999999999")
    elif twist == "unknown event id":
        detail["EventID"] = "RDS-EVENT-0999"
    elif twist == "truncated":
        del detail["SourceArn"]
    else:
        detail["SourceArn"] = detail["SourceArn"].replace(":rds-backup-", ":rds:rds-backup-")

    try:
        result = handler(event, CONTEXT)
    except InvalidEvent:
        assert twist == "truncated"
    else:
        assert "skipped" in result
    assert calls.calls == []
