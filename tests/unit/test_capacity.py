"""Capacity planning: snapshots per region against the quota, export hours per night against
5 slots x 20 h, and EXPORT_EVERY_DAYS spreading exports evenly over the fleet."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rds_backup.model import capacity
from rds_backup.model.capacity import (
    WARNING_PREFIX,
    export_due,
    exports_hours_per_night,
    next_export_due,
    plan,
    recommended_export_every_days,
    snapshots_held_per_region,
)
from rds_backup.settings import Settings, parse_settings

VALID = {
    "SOURCE_REGION": "eu-west-1",
    "TARGET_REGION": "eu-central-1",
    "DB_IDENTIFIER": "orders",
    "SOURCE_BUCKET": "acme-backups-euw1",
    "TARGET_BUCKET": "acme-backups-euc1",
    "KMS_KEY_ID": "mrk-1234abcd12ab34cd56ef1234567890ab",
    "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/rds-s3-export",
    "ADMIN_EMAIL": "dba@example.com",
}


def fleet(count: int) -> str:
    return ",".join(f"db{i:03d}" for i in range(count))


def settings(**env: str | int | float) -> Settings:
    return parse_settings(VALID | {k: str(v) for k, v in env.items()})


# --- snapshots per region ------------------------------------------------------------------


def test_given_the_defaults_when_planned_then_one_database_fits_without_warning() -> None:
    result = plan(settings())

    assert result.snapshots_per_region == 16
    assert result.quota == 100
    assert result.exports_hours_per_night == 1.5
    assert result.export_capacity_hours == 100
    assert result.recommended_export_every_days == 1
    assert result.warnings == []


def test_given_seven_databases_at_15_days_when_planned_then_112_snapshots_exceed_100() -> None:
    result = plan(settings(DB_IDENTIFIER=fleet(7)))

    assert result.snapshots_per_region == 7 * 16 == 112
    (warning,) = result.warnings
    assert "112" in warning
    assert "100" in warning
    assert "Manual DB instance snapshots" in warning
    assert "MANUAL_SNAPSHOT_QUOTA=112" in warning
    assert "RETENTION_DAYS to 13" in warning  # 7 x (13 + 1) = 98 <= 100


def test_given_six_databases_when_planned_then_96_snapshots_fit() -> None:
    result = plan(settings(DB_IDENTIFIER=fleet(6)))

    assert result.snapshots_per_region == 96
    assert result.warnings == []


def test_given_a_raised_quota_when_planned_then_the_same_fleet_fits() -> None:
    result = plan(settings(DB_IDENTIFIER=fleet(7), MANUAL_SNAPSHOT_QUOTA=200))

    assert result.quota == 200
    assert result.warnings == []


def test_given_kept_generations_when_counted_then_each_adds_one_snapshot_per_database() -> None:
    env = {"DB_IDENTIFIER": fleet(2), "KEEP_DAILY": 7, "KEEP_WEEKLY": 4, "KEEP_MONTHLY": 12}

    assert snapshots_held_per_region(settings(**env)) == 2 * (15 + 1 + 7 + 4 + 12)


def test_given_min_keep_beyond_retention_when_counted_then_min_keep_bounds_it() -> None:
    assert snapshots_held_per_region(settings(RETENTION_DAYS=3, MIN_KEEP=2)) == 4
    assert snapshots_held_per_region(settings(RETENTION_DAYS=3, MIN_KEEP=10)) == 10


def test_given_the_same_database_twice_in_any_case_when_counted_then_it_counts_once() -> None:
    assert snapshots_held_per_region(settings(DB_IDENTIFIER="Orders,orders,billing")) == 32


def test_given_a_fleet_too_large_for_any_retention_when_planned_then_only_the_quota_is_the_fix():
    (warning,) = plan(settings(DB_IDENTIFIER=fleet(60), RETENTION_DAYS=1)).warnings

    assert "raise the quota" in warning
    assert "lower RETENTION_DAYS" not in warning


# --- export hours per night ----------------------------------------------------------------


def test_given_100_moderate_databases_when_planned_then_150_hours_need_every_2_days() -> None:
    env = {"DB_IDENTIFIER": fleet(100), "MANUAL_SNAPSHOT_QUOTA": 2000}
    result = plan(settings(**env))

    assert result.exports_hours_per_night == 150
    assert result.recommended_export_every_days == 2
    (warning,) = result.warnings
    assert "150" in warning
    assert "100 h" in warning
    assert "EXPORT_EVERY_DAYS=2" in warning


def test_given_the_recommended_spreading_when_planned_then_no_export_warning() -> None:
    env = {"DB_IDENTIFIER": fleet(100), "MANUAL_SNAPSHOT_QUOTA": 2000, "EXPORT_EVERY_DAYS": 2}
    result = plan(settings(**env))

    assert result.exports_hours_per_night == 75
    assert result.warnings == []


def test_given_source_exports_when_planned_then_each_database_takes_two_slots() -> None:
    env = {
        "DB_IDENTIFIER": fleet(40),
        "STORE_TO_SOURCE_S3": "true",
        "MANUAL_SNAPSHOT_QUOTA": 2000,
    }
    result = plan(settings(**env))

    assert result.exports_hours_per_night == 40 * 1.5 * 2
    assert result.recommended_export_every_days == 2
    assert "STORE_TO_SOURCE_S3" in result.warnings[0]


def test_given_about_66_databases_when_planned_then_the_nightly_limit_is_at_the_boundary() -> None:
    fits = settings(DB_IDENTIFIER=fleet(66))
    over = settings(DB_IDENTIFIER=fleet(67))

    assert recommended_export_every_days(fits) == 1  # 99 h
    assert recommended_export_every_days(over) == 2  # 100.5 h


def test_given_an_uneven_split_when_hours_are_computed_then_the_busiest_night_counts() -> None:
    # 3 databases every 2 nights: 2 one night, 1 the other.
    s = settings(DB_IDENTIFIER=fleet(3), EXPORT_EVERY_DAYS=2, EXPORT_HOURS_ESTIMATE=40)

    assert exports_hours_per_night(s) == 80


def test_given_one_export_longer_than_a_whole_night_when_planned_then_nothing_fits() -> None:
    env = {
        "DB_IDENTIFIER": fleet(2),
        "EXPORT_HOURS_ESTIMATE": 60,
        "STORE_TO_SOURCE_S3": "true",
        "EXPORT_DEADLINE_HOURS": 72,
    }
    result = plan(settings(**env))

    assert result.recommended_export_every_days > capacity.MAX_EXPORT_EVERY_DAYS
    (warning,) = result.warnings
    assert "no EXPORT_EVERY_DAYS" in warning
    assert "STORE_TO_SOURCE_S3=false" in warning


def test_given_a_deadline_shorter_than_an_export_when_planned_then_it_is_warned() -> None:
    (warning,) = plan(settings(EXPORT_HOURS_ESTIMATE=6, EXPORT_DEADLINE_HOURS=4)).warnings

    assert "EXPORT_DEADLINE_HOURS=4" in warning


# --- which nights a database is exported -----------------------------------------------------


def test_given_nightly_exports_when_asked_then_every_database_is_always_due() -> None:
    s = settings(DB_IDENTIFIER=fleet(5))

    assert all(export_due(s, f"db{i:03d}", date(2026, 11, d)) for i in range(5) for d in (1, 2))
    assert next_export_due(s, "db003", date(2026, 11, 26)) == date(2026, 11, 27)


def test_given_every_3_days_when_asked_then_offsets_follow_the_sorted_lower_cased_list() -> None:
    s = settings(DB_IDENTIFIER="Orders,billing,audit", EXPORT_EVERY_DAYS=3)
    night = date(2026, 11, 26)
    days = (night - date(1970, 1, 1)).days
    # sorted: audit (offset 0), billing (1), orders (2)
    due = {db for db in ("audit", "billing", "orders") if export_due(s, db, night)}

    assert due == {["audit", "billing", "orders"][(-days) % 3]}
    assert export_due(s, "ORDERS", night) == export_due(s, "orders", night)


def test_given_a_datetime_when_asked_then_its_utc_date_decides() -> None:
    s = settings(DB_IDENTIFIER=fleet(2), EXPORT_EVERY_DAYS=2)
    late_in_new_york = datetime(2026, 11, 26, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert export_due(s, "db000", late_in_new_york) == export_due(s, "db000", date(2026, 11, 27))
    assert export_due(s, "db000", datetime(2026, 11, 27, 3, 0)) == export_due(
        s, "db000", datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    )


def test_given_an_unconfigured_database_when_asked_then_it_is_always_due() -> None:
    s = settings(DB_IDENTIFIER=fleet(4), EXPORT_EVERY_DAYS=4)

    assert export_due(s, "adhoc", date(2026, 11, 26))


def test_given_a_tag_selected_database_when_asked_then_it_is_due_exactly_every_n_nights() -> None:
    s = settings(DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly", EXPORT_EVERY_DAYS=4)
    nights = [date(2026, 11, 26) + timedelta(days=k) for k in range(8)]

    for db in ("orders", "billing", "ledger"):
        due = [night for night in nights if export_due(s, db, night)]
        assert len(due) == 2
        assert due[1] - due[0] == timedelta(days=4)
        assert export_due(s, db.upper(), due[0])


def test_given_every_4_days_when_the_next_night_is_asked_then_it_is_the_next_due_night() -> None:
    s = settings(DB_IDENTIFIER=fleet(5), EXPORT_EVERY_DAYS=4)
    after = date(2026, 11, 26)
    for i in range(5):
        db = f"db{i:03d}"
        following = next_export_due(s, db, after)

        assert after < following <= after + timedelta(days=4)
        assert export_due(s, db, following)
        assert not any(
            export_due(s, db, after + timedelta(days=k))
            for k in range(1, 4)
            if after + timedelta(days=k) < following
        )


# No deadline: what is checked is the spread, not speed (a loaded 2-core machine made one
# example take 680 ms once, 44 ms on the rerun).
@hypothesis_settings(deadline=None)
@given(
    count=st.integers(min_value=1, max_value=60),
    every=st.integers(min_value=1, max_value=31),
    start=st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 1, 1)),
)
def test_given_every_n_days_when_any_n_nights_are_planned_then_each_db_is_due_once_and_fairly(
    count: int, every: int, start: date
) -> None:
    s = settings(DB_IDENTIFIER=fleet(count), EXPORT_EVERY_DAYS=every)
    nights = [start + timedelta(days=k) for k in range(every)]
    due = {night: [db for db in s.db_identifiers if export_due(s, db, night)] for night in nights}

    for db in s.db_identifiers:
        assert sum(db in due[night] for night in nights) == 1
        first = next(night for night in nights if db in due[night])
        assert next_export_due(s, db, first) == first + timedelta(days=every)
    assert max(len(dbs) for dbs in due.values()) <= math.ceil(count / every)


# --- the command line ----------------------------------------------------------------------


def test_given_a_too_large_fleet_in_the_environment_when_run_then_warnings_go_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (VALID | {"DB_IDENTIFIER": fleet(7)}).items():
        monkeypatch.setenv(name, value)

    assert capacity.main([]) == 0
    out, err = capsys.readouterr()

    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(WARNING_PREFIX)
    assert "112" in line


def test_given_json_when_run_then_the_plan_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)

    assert capacity.main(["--json"]) == 0
    printed = json.loads(capsys.readouterr().out)

    assert printed["snapshots_per_region"] == 16
    assert printed["warnings"] == []


def test_given_an_invalid_environment_when_run_then_one_warning_says_not_checked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in VALID:
        monkeypatch.delenv(name, raising=False)

    assert capacity.main([]) == 0
    (line,) = capsys.readouterr().err.splitlines()

    assert line.startswith(f"{WARNING_PREFIX}capacity not checked")


def test_given_source_snapshots_deleted_after_copy_when_counted_per_region_then_source_holds_one():
    seven = settings(DB_IDENTIFIER=fleet(7))

    assert capacity.snapshots_held_in(seven, "eu-central-1") == 112
    assert capacity.snapshots_held_in(seven, "eu-west-1") == 7


def test_given_kept_source_snapshots_when_counted_per_region_then_both_regions_hold_retention():
    kept = settings(DB_IDENTIFIER=fleet(7), KEEP_SOURCE_SNAPSHOT="true")

    assert capacity.snapshots_held_in(kept, "eu-west-1") == 112
