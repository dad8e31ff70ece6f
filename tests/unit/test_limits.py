"""The pure parts of rds_backup/limits/: the queue's order and telling the manual snapshot
quota from the copy limit by the text of SnapshotQuotaExceeded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rds_backup import limits
from rds_backup.limits import COPY_LIMIT_TEXT, MANUAL_QUOTA_TEXT, order_key
from rds_backup.model import tags


def owned(
    database: str,
    run: str,
    size: int | None = None,
    made: datetime | None = None,
    hours: float | None = None,
) -> Any:
    raw: dict[str, Any] = {}
    if size is not None:
        raw["AllocatedStorage"] = size
    if made is not None:
        raw["SnapshotCreateTime"] = made
    return tags.Owned(
        identifier=f"rds-backup-{database}-{run}",
        arn="",
        region="us-west-2",
        database=database,
        run=run,
        role=tags.Role.COPY,
        exports=("target",),
        status="available",
        tags={} if hours is None else {tags.EXPECTED_EXPORT_HOURS: f"{hours:.3f}"},
        raw=raw,
    )


def ordered(*snapshots: Any) -> list[str]:
    """The databases in the export queue's order (limits.waiting_exports' sort)."""
    rate = limits.hours_per_gib(snapshots)
    return [s.database for s in sorted(snapshots, key=lambda s: order_key(s, rate))]


def test_given_two_runs_when_ordered_then_the_older_run_comes_first_whatever_the_size():
    older = owned("small", "20261124-0300", size=20)
    newer = owned("huge", "20261125-0300", size=5000)

    assert sorted([newer, older], key=order_key) == [older, newer]


def test_given_one_run_when_ordered_then_the_largest_database_first():
    small, large = owned("a", "20261125-0300", size=20), owned("b", "20261125-0300", size=800)

    assert sorted([small, large], key=order_key) == [large, small]


def test_given_equal_databases_when_ordered_on_many_nights_then_the_first_place_rotates():
    firsts = {
        min(
            (owned(db, f"202611{day:02d}-0300", size=100) for db in ("a", "b", "c", "d")),
            key=order_key,
        ).database
        for day in range(1, 29)
    }

    assert len(firsts) >= 3  # no database always comes first (or last)


@pytest.mark.parametrize(
    ("message", "copy_limit", "manual_quota"),
    [
        ("Cannot copy more than 20 snapshots across regions", True, False),
        ("Cannot copy more than 5 snapshots across regions", True, False),
        ("Cannot create more than 100 manual snapshots", False, True),
        ("You have reached the maximum number of manual DB snapshots", False, True),
        ("The request cannot be processed because it would exceed the maximum", False, False),
    ],
)
def test_given_a_snapshot_quota_message_when_read_then_its_kind_is_known_or_left_to_used_max(
    message: str, copy_limit: bool, manual_quota: bool
) -> None:
    assert bool(COPY_LIMIT_TEXT.search(message)) is copy_limit
    assert bool(MANUAL_QUOTA_TEXT.search(message)) is manual_quota


def test_the_slots_are_aws_documented_limits():
    assert limits.EXPORT_SLOTS == 5
    assert limits.COPY_SLOTS == 20


def test_given_a_usage_when_full_then_no_free_room():
    assert limits.Usage("us-west-2", 100, 100).free == 0
    assert limits.Usage("us-west-2", 120, 100).free == 0
    assert limits.Usage("us-west-2", 7, 100).free == 93


def test_order_key_without_create_time_falls_back_to_the_run_time():
    key = order_key(owned("a", "20261125-0300"))

    assert key[0] == key[2] == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_given_earlier_nights_durations_when_ordered_then_the_longest_expected_first():
    # given: the smaller database's exports took longer on earlier nights (more rows per GiB)
    slow = owned("slow", "20261125-0300", size=100, hours=5.0)
    big = owned("big", "20261125-0300", size=300, hours=2.0)

    # when / then
    assert ordered(big, slow) == ["slow", "big"]


def test_given_no_history_when_ordered_then_its_size_is_turned_into_hours_at_the_others_rate():
    # given: 1 h per 100 GiB for the two with history; the new 250 GiB one is expected 2.5 h
    a = owned("a", "20261125-0300", size=100, hours=1.0)
    b = owned("b", "20261125-0300", size=300, hours=3.0)
    new = owned("new", "20261125-0300", size=250)

    # when / then
    assert limits.hours_per_gib([a, b, new]) == pytest.approx(0.01)
    assert ordered(a, new, b) == ["b", "new", "a"]


def test_given_a_bad_expected_duration_tag_when_ordered_then_it_counts_as_no_history():
    broken = owned("broken", "20261125-0300", size=500)
    broken.tags[tags.EXPECTED_EXPORT_HOURS] = "soon"

    assert limits.expected_hours(broken) is None
    assert ordered(owned("known", "20261125-0300", size=100, hours=1.0), broken) == [
        "broken",
        "known",
    ]
