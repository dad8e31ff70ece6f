"""The fleet's dead-man's switch on in-process moto: a tag-selected fleet whose schedule
stops raises the coverage alarm (the metric reconcile publishes, evaluated against the alarm
infra/alarms.js makes), and a database that leaves the selection is told once and keeps its
last backups through cleanup (rds_backup/model/coverage.py, model/retention.py rule 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.rds.models import rds_backends

from rds_backup.local.context import LocalContext
from rds_backup.local.seed import ACCOUNT, WorldSpec
from rds_backup.model import tags
from rds_backup.model.naming import run_id, snapshot_id
from rds_backup.model.retention import Reason
from rds_backup.settings import load_settings
from rds_backup.steps.cleanup import apply_cleanup, plan_cleanup
from rds_backup.steps.reconcile import reconcile
from tests.alarms import emf_values, generated, in_alarm
from tests.support import sent_emails

FLEET = ("orders", "billing", "ledger")
NIGHT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CONTEXT = LocalContext()


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=FLEET)


@pytest.fixture
def tagged(world: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fleet selected by DB_SELECT_TAG only (no name is known at packaging)."""
    monkeypatch.setenv("DB_IDENTIFIER", "")
    monkeypatch.setenv("DB_SELECT_TAG", "backup=nightly")
    load_settings.cache_clear()
    settings = load_settings()
    for database in FLEET:
        _tag(settings, database, add=True)
    return settings


def _tag(settings: Any, database: str, add: bool) -> None:
    from rds_backup.aws import get_aws

    rds = get_aws().rds(settings.source_region)
    arn = rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"][0]
    if add:
        rds.add_tags_to_resource(
            ResourceName=arn["DBInstanceArn"], Tags=[{"Key": "backup", "Value": "nightly"}]
        )
    else:
        rds.remove_tags_from_resource(ResourceName=arn["DBInstanceArn"], TagKeys=["backup"])


def _backed_up(settings: Any, database: str, when: datetime) -> str:
    """What a successful run leaves: its copy in the target region (notify released the
    source). Made on moto's backend, aged to the run's time."""
    run = run_id(when)
    identifier = snapshot_id(settings.snapshot_prefix, database, run)
    source = rds_backends[ACCOUNT][settings.source_region].create_db_snapshot(
        database,
        identifier,
        tags=tags.as_list(tags.ours(settings, database, run, tags.Role.SOURCE, "target")),
    )
    target = rds_backends[ACCOUNT][settings.target_region]
    target.copy_db_snapshot(
        source.db_snapshot_arn,
        identifier,
        tags=tags.as_list(tags.ours(settings, database, run, tags.Role.COPY, "target")),
    )
    target.database_snapshots[identifier].created = when
    del rds_backends[ACCOUNT][settings.source_region].database_snapshots[identifier]
    return identifier


def _hourly(
    settings: Any, aws: Any, capsys: pytest.CaptureFixture[str], start: datetime, hours: int
) -> list[tuple[datetime, float]]:
    """reconcile every hour from ``start``; each pass's DatabasesWithoutRecentBackup point,
    at the time it ran (the EMF records it printed)."""
    points = []
    capsys.readouterr()
    for hour in range(hours):
        now = start + timedelta(hours=hour, minutes=5)
        reconcile(settings, aws, now, CONTEXT)
        for value in emf_values(capsys.readouterr().out, "DatabasesWithoutRecentBackup"):
            points.append((now, value))
    return points


def _coverage_alarm(settings: Any) -> dict[str, Any]:
    alarms = generated("fleetAlarms", {"backupAlarmHours": str(settings.backup_alarm_hours)})
    return alarms["NoRecentBackupCoverage"]


def test_given_a_tagged_fleet_of_3_with_its_schedule_disabled_2_days_then_the_coverage_alarm_fires(
    tagged: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: one good night for all three, then the nightly schedule disabled (no run)
    for database in FLEET:
        _backed_up(tagged, database, NIGHT)
    alarm = _coverage_alarm(tagged)

    # when: two days of hourly reconcile passes and nothing else
    points = _hourly(tagged, aws, capsys, NIGHT, 48)

    # then: 3 uncovered once the copies are older than BACKUP_ALARM_HOURS, and the alarm
    # follows within its two periods
    assert len(points) == 48
    assert {value for _, value in points} == {0.0, 3.0}
    hours = tagged.backup_alarm_hours
    assert all(v == 0.0 for when, v in points if when - NIGHT < timedelta(hours=hours))
    checks = [NIGHT + timedelta(hours=h) for h in range(2, 49)]
    alarming = [at for at in checks if in_alarm(alarm, points, at)]
    assert alarming
    assert alarming[-1] == checks[-1]
    assert timedelta(hours=hours) < alarming[0] - NIGHT <= timedelta(hours=hours + 3)
    assert all(at in alarming for at in checks if at >= alarming[0])  # stays in ALARM


def test_given_a_tagged_fleet_backed_up_every_night_then_the_coverage_alarm_stays_ok(
    tagged: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the schedule runs: a copy of each database every night
    for night in range(3):
        for database in FLEET:
            _backed_up(tagged, database, NIGHT + timedelta(days=night))
    alarm = _coverage_alarm(tagged)

    # when
    points = _hourly(tagged, aws, capsys, NIGHT, 48)

    # then
    assert {value for _, value in points} == {0.0}
    assert not any(in_alarm(alarm, points, NIGHT + timedelta(hours=h)) for h in range(2, 49))


def test_given_no_reconcile_for_two_hours_then_the_coverage_alarm_counts_silence_as_breaching(
    tagged: Any,
) -> None:
    alarm = _coverage_alarm(tagged)
    good = [(NIGHT + timedelta(hours=h, minutes=5), 0.0) for h in range(10)]

    assert not in_alarm(alarm, good, NIGHT + timedelta(hours=10))
    assert in_alarm(alarm, good, NIGHT + timedelta(hours=12))


def test_given_a_database_whose_tag_is_removed_then_one_notice_and_cleanup_keeps_its_backups(
    tagged: Any, aws: Any
) -> None:
    # given: 20 nights of all three (RETENTION_DAYS=15), then billing loses its tag
    for night in range(20):
        for database in FLEET:
            _backed_up(tagged, database, NIGHT + timedelta(days=night))
    _tag(tagged, "billing", add=False)
    later = NIGHT + timedelta(days=20, hours=2)

    # when: reconcile every hour for three hours, then the daily cleanup
    passes = [reconcile(tagged, aws, later + timedelta(hours=h), CONTEXT) for h in range(3)]
    plan = plan_cleanup(tagged, aws, later + timedelta(hours=3))
    result = apply_cleanup(plan, tagged, aws)

    # then: one notice, naming billing, why and what happens to its backups
    notices = [m for m in sent_emails() if "left the selection" in m.subject]
    assert len(notices) == 1
    [notice] = notices
    assert "billing" in notice.subject
    text = notice.body
    assert "backup=nightly" in text
    assert "2026-12-14T03:00Z" in text
    assert "All 20 of its snapshots are kept" in text
    assert [p.coverage["left_selection"][0]["database"] for p in passes] == ["billing"] * 3
    assert [a["action"] for a in passes[0].actions] == ["left the selection"]
    assert all(a["action"] != "left the selection" for p in passes[1:] for a in p.actions)
    # billing keeps all 20 copies, the dry run naming the rule; orders and ledger lose theirs
    rows = plan.to_rows()
    billing = [r for r in rows if r["database"] == "billing"]
    assert len(billing) == 20
    assert {r["decision"] for r in billing} == {"keep"}
    assert Reason.UNSELECTED.value in {r["reason"] for r in billing}
    assert [d.database for d in plan.departures] == ["billing"]
    assert not any("billing" in deleted for deleted in result.deleted)
    assert result.deleted
    assert {d.split("-")[4] for d in result.deleted} == {"orders", "ledger"}
    left = aws.rds(tagged.target_region).describe_db_snapshots(SnapshotType="manual")
    assert sum("-billing-" in s["DBSnapshotIdentifier"] for s in left["DBSnapshots"]) == 20


def test_given_keep_unselected_false_when_cleaned_then_retention_applies_but_the_last_copy_stays(
    tagged: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for night in range(20):
        _backed_up(tagged, "billing", NIGHT + timedelta(days=night))
    _tag(tagged, "billing", add=False)
    monkeypatch.setenv("KEEP_UNSELECTED", "false")
    load_settings.cache_clear()
    settings = load_settings()

    # when: long after every copy passed RETENTION_DAYS
    plan = plan_cleanup(settings, aws, NIGHT + timedelta(days=60))

    # then: no longer frozen, but its newest copy (MIN_KEEP=1) stays
    kept = [r for r in plan.to_rows() if r["decision"] == "keep"]
    assert len(plan.deletions) == 19
    assert [r["id"] for r in kept] == ["rds-backup-billing-20261214-0300"]
    assert kept[0]["reason"] == Reason.NEWEST_AVAILABLE.value
    assert "Retention applies as usual" in plan.departures[0].backups


def test_given_a_stale_database_and_one_that_left_when_status_runs_then_both_are_named(
    tagged: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rds_backup import clock
    from rds_backup.ops import commands

    _backed_up(tagged, "orders", NIGHT + timedelta(days=2))
    _backed_up(tagged, "billing", NIGHT)
    _backed_up(tagged, "ledger", NIGHT)
    _tag(tagged, "ledger", add=False)
    monkeypatch.setattr(clock, "now", lambda: NIGHT + timedelta(days=2, hours=3))
    printed: list[str] = []

    answer = commands.status(tagged, aws, 3, [], printed.append)

    text = "\n".join(printed)
    assert "Coverage: 2 selected, 1 without a copy in the last 26 h" in text
    assert "billing: last copy 2026-11-25T03:00:00+00:00" in text
    assert "ledger: left the selection after 2026-11-25T03:00Z" in text
    assert answer["coverage"]["without_recent"] == ["billing"]
