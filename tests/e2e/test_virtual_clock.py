"""The local AWS in timed mode: a virtual clock, sampled durations, RDS events at their
virtual time, Lambda's retry delays and schedules that fire themselves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rds_backup import clock as domain_clock
from rds_backup.local import profiles
from rds_backup.local.faults import Fault
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.local.timeline import Entry
from tests.e2e.conftest import timed_local

pytestmark = pytest.mark.e2e

SOURCE, TARGET = "us-east-1", "us-west-2"
START = datetime(2026, 1, 5, 2, 55, tzinfo=UTC)
PROFILE = profiles.get("moderate", seed=7)
LATENCY = PROFILE.event_latency


@pytest.fixture
def timed(
    spec: WorldSpec, local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> Iterator[LocalAws]:
    """Timed mode, no schedule firing by itself (the tests that want one ask for it)."""
    with timed_local(spec, local_server, templates, START, ()) as local:
        yield local


def _emitted(local: LocalAws, event_id: str) -> list[Entry]:
    return [e for e in local.timeline.entries if e.kind == "emit" and e.what == event_id]


def _snapshot(local: LocalAws, name: str, database: str = "orders") -> dict[str, Any]:
    rds = local.server.client("rds", SOURCE)
    created = rds.create_db_snapshot(DBInstanceIdentifier=database, DBSnapshotIdentifier=name)
    snapshot: dict[str, Any] = created["DBSnapshot"]
    return snapshot


def test_given_timed_mode_when_a_snapshot_is_created_then_it_is_available_after_its_duration(
    timed: LocalAws,
) -> None:
    # given
    took = PROFILE.duration("snapshot", "manual-1", SOURCE, "orders")

    # when
    created = _snapshot(timed, "manual-1")
    timed.run_until(START + took - timedelta(seconds=1))
    before = timed.server.client("rds", SOURCE).describe_db_snapshots(
        DBSnapshotIdentifier="manual-1"
    )["DBSnapshots"][0]["Status"]
    timed.run_until(START + took + LATENCY)

    # then
    assert domain_clock.now() == START + took + LATENCY
    assert created["Status"] == "creating"
    assert created["SnapshotCreateTime"] == START
    assert before == "creating"
    [event] = _emitted(timed, "RDS-EVENT-0042")
    assert event.when == START + took + LATENCY
    assert event.at == (took + LATENCY).total_seconds()


def test_given_timed_mode_when_a_snapshot_is_copied_then_0060_comes_from_the_target_region(
    timed: LocalAws,
) -> None:
    # given
    arn = _snapshot(timed, "manual-2")["DBSnapshotArn"]
    timed.run_until(START + timedelta(hours=6))
    took = PROFILE.duration("copy", "manual-2", TARGET, "orders")

    # when
    copy = timed.server.client("rds", TARGET).copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="manual-2", SourceRegion=SOURCE
    )["DBSnapshot"]
    timed.run_until(START + timedelta(hours=6) + took + LATENCY)

    # then
    assert copy["Status"] == "creating"
    [event] = _emitted(timed, "RDS-EVENT-0060")
    assert (event.region, event.when) == (TARGET, START + timedelta(hours=6) + took + LATENCY)


def test_given_timed_mode_when_an_export_runs_then_it_starts_progresses_and_completes_on_time(
    timed: LocalAws,
) -> None:
    # given
    arn = _snapshot(timed, "manual-3")["DBSnapshotArn"]
    began = START + timedelta(hours=2)
    timed.run_until(began)
    rds = timed.server.client("rds", SOURCE)
    took = PROFILE.duration("export", "manual-3", SOURCE, "orders")

    # when
    started = rds.start_export_task(
        ExportTaskIdentifier="export-3",
        SourceArn=arn,
        S3BucketName=timed.spec.source_bucket,
        IamRoleArn=timed.environment["EXPORT_ROLE_ARN"],
        KmsKeyId=timed.environment["KMS_KEY_ID"],
    )
    timed.run_until(began + PROFILE.export_starting)
    progressing = rds.describe_export_tasks(ExportTaskIdentifier="export-3")["ExportTasks"][0]
    timed.run_until(began + took + LATENCY)
    [done] = rds.describe_export_tasks(ExportTaskIdentifier="export-3")["ExportTasks"]

    # then
    assert started["Status"] == "STARTING"
    assert progressing["Status"] == "IN_PROGRESS"
    assert done["Status"] == "COMPLETE"
    assert (done["TaskStartTime"], done["TaskEndTime"]) == (began, began + took)
    [event] = _emitted(timed, "RDS-EVENT-0161")
    assert event.when == began + took + LATENCY


def test_given_a_failing_step_when_lambda_retries_then_attempts_are_1_then_2_minutes_apart(
    timed: LocalAws,
) -> None:
    # given
    timed.faults.add(Fault("rds:CreateDBSnapshot", "InternalFailure"))

    # when
    timed.fire_schedule(START)
    timed.run_until_quiet()

    # then
    attempts = [e for e in timed.timeline.invocations() if e.function == "start_backup"]
    assert [e.attempt for e in attempts] == [1, 2, 3]
    assert [e.when for e in attempts] == [
        START,
        START + timedelta(minutes=1),
        START + timedelta(minutes=3),
    ]
    [failure] = [e for e in timed.timeline.entries if e.kind == "failure"]
    assert failure.when == START + timedelta(minutes=3)


def test_given_timed_mode_when_3_00_comes_then_the_nightly_schedule_fires_itself(
    timed: LocalAws,
) -> None:
    # given
    timed.auto_schedules = {"start_backup"}

    # when
    timed.run_until(START + timedelta(minutes=10))

    # then
    [fired] = [e for e in timed.timeline.entries if e.kind == "schedule"]
    assert fired.when == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    snapshots = timed.server.client("rds", SOURCE).describe_db_snapshots(SnapshotType="manual")
    assert {s["SnapshotCreateTime"] for s in snapshots["DBSnapshots"]} == {fired.when}


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing", "ledger"))])
def test_given_a_few_databases_when_a_timed_night_runs_then_each_chain_completes_on_virtual_time(
    timed: LocalAws, spec: WorldSpec
) -> None:
    # given
    timed.auto_schedules = {"start_backup"}

    # when
    timed.run_until(START + timedelta(minutes=5))
    timed.run_until_quiet()

    # then
    found = timed.inventory()
    assert sorted(m.subject.split()[2] for m in found.emails) == sorted(spec.databases)
    assert {e.status for e in found.exports} == {"COMPLETE"}
    night = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    for database in spec.databases:
        snapshot = f"rds-backup-{database}-20260105-0300"
        least = (
            PROFILE.duration("snapshot", snapshot, SOURCE, database)
            + PROFILE.duration("copy", snapshot, TARGET, database)
            + PROFILE.duration("export", snapshot, TARGET, database)
            + 3 * LATENCY
        )
        [email] = [m for m in found.emails if f" {database} " in m.subject]
        assert email.sent_at is not None
        assert email.sent_at >= night + least
    assert [e.when for e in timed.timeline.emails()] == [m.sent_at for m in found.emails]
