"""The fleet's coverage and departures, decided without AWS (rds_backup/model/coverage.py),
and the fleet heartbeat that goes with every database's BackupSucceeded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rds_backup.model.coverage import backed, coverage, departures
from rds_backup.model.kinds import Kind
from rds_backup.model.retention import Snapshot
from rds_backup.model.tags import Role
from rds_backup.observability import backup_succeeded
from rds_backup.settings import Settings
from tests.unit.test_capacity import settings as parsed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TARGET = "eu-central-1"


def copy(database: str, hours_ago: float, kind: Kind = Kind.INSTANCE) -> Snapshot:
    return Snapshot(
        region=TARGET,
        identifier=f"rds-backup-{database}-{hours_ago}",
        arn=f"arn:aws:rds:{TARGET}:123456789012:snapshot:{database}-{hours_ago}",
        status="available",
        created=NOW - timedelta(hours=hours_ago),
        database=database,
        role=Role.COPY,
        kind=kind,
    )


def tagged() -> Settings:
    return parsed(DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly")


def test_given_selected_databases_when_covered_then_stale_and_never_backed_up_ones_are_named():
    backups = backed([copy("orders", 3), copy("billing", 30), copy("billing", 54)], TARGET)

    fleet = coverage(
        tagged(),
        NOW,
        [("orders", Kind.INSTANCE), ("billing", Kind.INSTANCE), ("new", Kind.INSTANCE)],
        backups,
        [],
    )

    assert fleet.without_recent == ("billing", "new")  # 30 h > 26 h; never backed up
    assert fleet.last_copy["orders"] == NOW - timedelta(hours=3)
    assert backups[("billing", Kind.INSTANCE)].snapshots == 2


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (None, "no DB instance billing in SOURCE_REGION any more"),
        ({"DBClusterIdentifier": "Ledger", "TagList": []}, "member of DB cluster ledger"),
        ({"TagList": [{"Key": "backup", "Value": "weekly"}]}, "tag backup is now 'weekly'"),
        ({"TagList": []}, "no longer carries the tag backup=nightly"),
    ],
)
def test_given_a_backed_up_database_not_selected_when_decided_then_it_departs_saying_why(
    record, words
):
    backups = backed([copy("orders", 3), copy("billing", 30)], TARGET)
    instances = {"orders": {"TagList": []}} | ({"billing": record} if record else {})

    [gone] = departures(tagged(), backups, [("orders", Kind.INSTANCE)], instances, {}, {})

    assert gone.database == "billing"
    assert words in gone.why
    assert gone.since == "2026-11-25T06:00Z"
    assert gone.frozen is (record is not None)  # KEEP_UNSELECTED keeps what still exists


def test_given_a_name_dropped_from_db_identifier_when_decided_then_that_is_the_reason():
    backups = backed([copy("billing", 30)], TARGET)

    [gone] = departures(parsed(), backups, [], {"billing": {"TagList": []}}, {}, {})

    assert gone.why == "its name is not in DB_IDENTIFIER"


def test_given_a_success_when_published_then_the_database_and_the_fleet_heartbeats_go(capsys):
    backup_succeeded("Orders")

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    published = {
        (m["Name"], tuple(d))
        for r in records
        for block in r["_aws"]["CloudWatchMetrics"]
        for m in block["Metrics"]
        for d in block["Dimensions"]
    }
    assert published == {
        ("BackupSucceeded", ("service", "database")),
        ("FleetBackupSucceeded", ("service",)),
    }
