"""The drill benchmark's figures (rds_backup/local/bench/drills.py) from drill results: who
was drilled in time, instance-hours, RTO by size band, and the targets' verdicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from rds_backup.local import profiles
from rds_backup.local.bench import drills as bench
from rds_backup.model.drills import DrillResult, Outcome

DAY = date(2026, 1, 5)


def result(database: str, day_offset: int, minutes: float, outcome: Outcome) -> DrillResult:
    started = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=day_offset)
    return DrillResult(
        drill_id=f"rds-backup-drill-{database}",
        database=database,
        day=DAY + timedelta(days=day_offset),
        snapshot_id=f"rds-backup-{database}-20260105-0300",
        snapshot_time=started - timedelta(hours=6),
        started=started,
        restored=started + timedelta(minutes=minutes),
        ended=started + timedelta(minutes=minutes + 20),
        outcome=outcome,
        deleted=True,
    )


def test_given_a_weeks_drill_results_when_the_row_is_made_then_it_counts_who_was_drilled_in_time():
    # given: db000 passed on day 0, db001 failed on day 1 and passed on day 8 (too late),
    # db002 was never drilled
    profile = profiles.get("moderate", seed=7)
    results = [
        result("db000", 0, 40, Outcome.PASSED),
        result("db001", 1, 20, Outcome.FAILED),
        result("db001", 8, 20, Outcome.PASSED),
    ]
    settings = SimpleNamespace(drill_concurrency=2)
    peaks = {"drill_instances": 2, "db_instances_target": 3}

    # when
    names = ("db000", "db001", "db002")
    row = bench._row(names, profile, results, [], [1, 2, 3], peaks, 40, settings)

    # then
    assert (row["drilled_in_time"], row["never_drilled"]) == (1, 1)
    assert (row["passed"], row["failed"], row["drills"]) == (2, 1, 3)
    # the drills of the first 7 days: 60 and 40 minutes of instance time
    assert row["instance_hours_per_week"] == round(1.0 + 40 / 60, 1)
    assert sum(band["drills"] for band in row["rto_by_size"].values()) == 3
    assert row["rpo_hours"] == {"median": 6.0, "max": 6.0}
    verdicts = {t["name"]: t["passed"] for t in bench.targets(row)}
    assert verdicts == {
        "drilled_in_time": False,
        "drill_instances_left": True,
        "peak_drill_instances": True,
        "peak_db_instances_target": True,
        "drill_emails": True,
        "rpo_hours_max": True,
    }


def test_given_each_size_when_banded_then_every_band_is_labelled_and_ordered_by_size():
    profile = profiles.get("moderate", seed=7)
    names = tuple(f"db{i:03d}" for i in range(60))
    results = [result(name, 0, 30, Outcome.PASSED) for name in names]
    peaks = {"drill_instances": 1, "db_instances_target": 1}
    settings = SimpleNamespace(drill_concurrency=2)
    row = bench._row(names, profile, results, [], [], peaks, 40, settings)

    lows = [bench._band_low(label) for label in row["rto_by_size"]]
    assert lows == sorted(lows)
    assert sum(b["drills"] for b in row["rto_by_size"].values()) == 60
