"""start_backup on moto: one tagged snapshot per database and run; duplicates do nothing."""

from __future__ import annotations

import pytest

from events import load_sample
from handlers import start_backup
from rds_backup.errors import InvalidEvent
from rds_backup.local.seed import WorldSpec
from rds_backup.model import tags
from rds_backup.outcomes.reports import remedy_told
from rds_backup.steps.start_backup import StartFailed

SNAPSHOT = "rds-backup-orders-20261125-0300"


def manual_snapshots(aws, settings):
    found = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    return {s["DBSnapshotIdentifier"]: s for s in found["DBSnapshots"]}


def test_given_the_schedule_when_it_fires_then_each_database_gets_a_tagged_snapshot(
    settings, aws, context
):
    result = start_backup.handler(load_sample("scheduled"), context)

    snapshots = manual_snapshots(aws, settings)
    assert (
        sorted(result["created"])
        == sorted(snapshots)
        == ["rds-backup-billing-20261125-0300", SNAPSHOT]
    )
    assert tags.as_dict(snapshots[SNAPSHOT]["TagList"]) == {
        tags.STACK: "rds-backup",
        tags.DATABASE: "orders",
        tags.RUN: "20261125-0300",
        tags.ROLE: "source",
        tags.EXPORTS: "target",
    }


def test_given_the_same_scheduled_event_twice_when_handled_then_one_snapshot_per_database(
    settings, aws, context
):
    start_backup.handler(load_sample("scheduled"), context)
    second = start_backup.handler(load_sample("scheduled"), context)

    assert second["created"] == []
    assert len(second["existing"]) == 2
    assert len(manual_snapshots(aws, settings)) == 2


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing", "ledger"))])
def test_given_a_backup_request_for_two_databases_when_handled_then_two_snapshots(
    settings, aws, context
):
    result = start_backup.handler(load_sample("backup-requested"), context)

    assert sorted(manual_snapshots(aws, settings)) == [
        "rds-backup-billing-20261125-1442",
        "rds-backup-orders-20261125-1442",
    ]
    assert result["run"] == "20261125-1442"


def test_given_a_configured_database_that_does_not_exist_when_scheduled_then_others_still_go(
    settings, aws, context, monkeypatch
):
    monkeypatch.setenv("DB_IDENTIFIER", "orders,ghost,billing")
    start_backup.load_settings.cache_clear()

    with pytest.raises(StartFailed) as raised:
        start_backup.handler(load_sample("scheduled"), context)

    assert len(manual_snapshots(aws, settings)) == 2
    assert raised.value.database == "ghost"
    assert "DBInstanceNotFound" in str(raised.value)
    told = remedy_told(start_backup.load_settings(), raised.value)
    assert "Correct DB_IDENTIFIER" in told
    assert "DB_IDENTIFIER=orders,ghost,billing" in told  # what the stack selects, named


def test_given_a_request_for_an_unconfigured_database_when_handled_then_it_is_refused_by_name(
    settings, aws, context
):
    event = load_sample("backup-requested")
    event["detail"]["databases"] = ["orders", "payroll"]

    with pytest.raises(StartFailed, match="payroll"):
        start_backup.handler(event, context)

    assert list(manual_snapshots(aws, settings)) == ["rds-backup-orders-20261125-1442"]


def test_given_a_foreign_snapshot_with_our_name_when_scheduled_then_it_is_reported_not_adopted(
    settings, aws, context
):
    aws.rds(settings.source_region).create_db_snapshot(
        DBInstanceIdentifier="orders", DBSnapshotIdentifier=SNAPSHOT
    )

    with pytest.raises(StartFailed, match="not made by this stack"):
        start_backup.handler(load_sample("scheduled"), context)


def test_given_a_malformed_event_when_handled_then_it_fails_clearly_and_creates_nothing(
    settings, aws, context
):
    event = load_sample("scheduled")
    event["time"] = "yesterday-ish"

    with pytest.raises(InvalidEvent, match="time"):
        start_backup.handler(event, context)

    assert manual_snapshots(aws, settings) == {}


def test_given_an_old_replayed_schedule_when_handled_then_no_snapshot_is_made(
    settings, aws, context
):
    event = load_sample("scheduled") | {"replay-name": "nov-replay", "time": "2020-01-01T03:00:00Z"}

    result = start_backup.handler(event, context)

    assert "skipped" in result
    assert manual_snapshots(aws, settings) == {}
