"""A fleet on the virtual clock, under AWS's limits: the real handlers, the rules from the
generated CloudFormation, 5 exports per account, 20 copies per region, 100 manual snapshots
per region, durations from the moderate profile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from tests.e2e.conftest import timed_local
from tests.e2e.support import handler_errors

pytestmark = pytest.mark.e2e

SOURCE, TARGET = "us-east-1", "us-west-2"
START = datetime(2026, 1, 5, 2, 55, tzinfo=UTC)
NIGHT = START.replace(hour=3, minute=0)
TWELVE = tuple(f"db{index:02d}" for index in range(12))


@pytest.fixture
def fleet(
    spec: WorldSpec, local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> Iterator[LocalAws]:
    """Timed mode; the nightly start is fired by the test, reconcile fires hourly."""
    with timed_local(spec, local_server, templates, START, ("reconcile",)) as local:
        yield local


def _night(local: LocalAws) -> None:
    local.run_until(NIGHT - timedelta(minutes=1))
    local.fire_schedule(NIGHT)
    local.run_until_quiet(max_seconds=300)


def _exports_by_start(local: LocalAws) -> list[dict[str, Any]]:
    tasks = local.server.client("rds", TARGET).describe_export_tasks()["ExportTasks"]
    return sorted(tasks, key=lambda t: (t["TaskStartTime"], t["ExportTaskIdentifier"]))


SLACK = timedelta(minutes=5)  # an ending event's latency, and the handler's reaction


def _copies_ready(local: LocalAws) -> dict[str, datetime]:
    """When each copy's RDS-EVENT-0060 was put on the bus (virtual time)."""
    return {
        e.subject: e.when
        for e in local.timeline.entries
        if e.kind == "emit" and e.what.startswith("RDS-EVENT-0060") and e.when is not None
    }


def _running_at(tasks: list[dict[str, Any]], when: datetime) -> int:
    return sum(1 for t in tasks if t["TaskStartTime"] <= when < t["TaskEndTime"])


def _max_in_flight(tasks: list[dict[str, Any]]) -> int:
    points = [(t["TaskStartTime"], 1) for t in tasks] + [(t["TaskEndTime"], -1) for t in tasks]
    running = peak = 0
    for _, step in sorted(points, key=lambda p: (p[0], p[1])):
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
def test_given_12_databases_when_a_night_runs_then_all_are_exported_5_at_a_time_one_email_each(
    fleet: LocalAws,
) -> None:
    # when
    _night(fleet)

    # then every database is copied and exported in the night, never more than 5 at once
    found = fleet.inventory()
    tasks = _exports_by_start(fleet)
    assert len(tasks) == 12
    assert {t["Status"].upper() for t in tasks} == {"COMPLETE"}
    assert _max_in_flight(tasks) == 5
    last = max(t["TaskEndTime"] for t in tasks)
    assert last - NIGHT < timedelta(hours=20)
    # work-conserving: while an export waits (its copy ready, 0060 emitted), every slot a
    # finished export frees is filled again within the ending event's latency
    ready = _copies_ready(fleet)
    for task in tasks:
        waited_from = ready[task["SourceArn"].rsplit(":", 1)[-1]]
        for end in (t["TaskEndTime"] for t in tasks):
            if waited_from < end < task["TaskStartTime"] - SLACK:
                assert _running_at(tasks, end + SLACK) == 5, (task["ExportTaskIdentifier"], end)
    # one success email per database, no failure email, no handler error, nothing refused
    assert sorted(m.outcome for m in found.emails) == ["success"] * 12
    assert all(any(f" {db} " in f" {m.subject} " for m in found.emails) for db in TWELVE)
    assert handler_errors(fleet) == []
    assert sum(fleet.refused_calls.values()) == 0


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
def test_given_older_runs_waiting_when_slots_free_then_the_oldest_run_is_exported_first(
    fleet: LocalAws,
) -> None:
    # given two runs an hour apart, 24 exports for 5 slots
    fleet.run_until(NIGHT - timedelta(minutes=1))
    fleet.fire_schedule(NIGHT)
    fleet.run_until(NIGHT + timedelta(hours=1))
    fleet.request_backup(reason="second run")

    # when
    fleet.run_until_quiet(max_seconds=300)

    # then no export of the newer run starts while one of the older run waits (its copy
    # ready, its export not started)
    tasks = _exports_by_start(fleet)
    assert len(tasks) == 24
    ready = _copies_ready(fleet)

    def run(task: dict[str, Any]) -> str:
        return str(task["SourceArn"])[-13:]

    older = min(run(t) for t in tasks)
    newer = [t for t in tasks if run(t) != older]
    waiting_older = [t for t in tasks if run(t) == older]
    assert len(newer) == len(waiting_older) == 12
    for task in newer:
        started = task["TaskStartTime"]
        for old in waiting_older:
            was_waiting = ready[old["SourceArn"].rsplit(":", 1)[-1]] < started - SLACK
            assert not (was_waiting and old["TaskStartTime"] > started), (task, old)
    # and the newer run did have to wait for the older one at least once
    assert min(t["TaskStartTime"] for t in newer) > min(t["TaskStartTime"] for t in waiting_older)
    assert sorted(m.outcome for m in fleet.inventory().emails) == ["success"] * 24


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
def test_given_every_event_twice_and_a_lost_0161_when_a_night_runs_then_reconcile_fills_in(
    fleet: LocalAws,
) -> None:
    # given at-least-once delivery and one export-completed event lost
    fleet.deliver_each_event(2)
    fleet.emulator.knobs.drop_once = {"RDS-EVENT-0161"}

    # when
    _night(fleet)

    # then every database is exported once, emailed once, and nothing waits for ever
    tasks = _exports_by_start(fleet)
    assert sorted(t["ExportTaskIdentifier"] for t in tasks) == sorted(
        {t["ExportTaskIdentifier"] for t in tasks}
    )
    assert len(tasks) == 12
    assert _max_in_flight(tasks) <= 5
    found = fleet.inventory()
    assert sorted(m.outcome for m in found.emails) == ["success"] * 12
    assert handler_errors(fleet) == []
    dropped = [e for e in fleet.timeline.entries if e.kind == "drop"]
    assert len(dropped) == 1


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing", "ledger"))])
def test_given_a_fleet_over_the_snapshot_quota_when_started_then_it_is_refused_by_name_at_once(
    fleet: LocalAws,
) -> None:
    # given the target region holds 99 of 100 manual snapshots
    fleet.set_quota(TARGET, manual_snapshots=1)

    # when
    _night(fleet)

    # then one database is backed up, the two others are named in one email at once
    found = fleet.inventory()
    sources = {s.database for s in found.snapshots if s.role == "copy"}
    assert len(sources) == 1
    quota = [m for m in found.emails if "quota" in m.html.lower() and m.outcome == "failure"]
    assert len(quota) == 1
    assert quota[0].sent_at is not None
    assert quota[0].sent_at - NIGHT < timedelta(minutes=5)
    missing = {"orders", "billing", "ledger"} - sources
    assert all(name in quota[0].html for name in missing)
    assert "Used" in quota[0].html or "1 of 1" in quota[0].html or "of 1 manual" in quota[0].html


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing"))])
def test_given_the_quota_filled_mid_night_when_a_copy_is_refused_then_a_person_hears_at_once(
    fleet: LocalAws,
) -> None:
    # given: the night starts with room, then the target quota shrinks before the copies
    fleet.run_until(NIGHT - timedelta(minutes=1))
    fleet.fire_schedule(NIGHT)
    fleet.run_until(NIGHT + timedelta(minutes=1))
    fleet.set_quota(TARGET, manual_snapshots=0)

    # when
    fleet.run_until_quiet(max_seconds=300)

    # then a copy refused by "Cannot create more than 0 manual snapshots" is the quota:
    # emailed once with the numbers, not retried for hours, not reported as a failure of the
    # copy step
    found = fleet.inventory()
    quota = [m for m in found.emails if "quota" in m.subject.lower() or "quota" in m.html]
    assert len(quota) == 1
    assert "0 of 0" in quota[0].html or "of 0 manual" in quota[0].html
    assert quota[0].sent_at is not None
    assert quota[0].sent_at - NIGHT < timedelta(hours=2)
    assert [s for s in found.snapshots if s.role == "copy"] == []


FLEET_ROW_KEYS = {
    "profile",
    "databases",
    "makespan_hours",
    "lower_bound_hours",
    "ratio",
    "dropped",
    "failure_emails",
    "success_emails",
    "api_calls_per_database",
    "refused_calls",
    "feasible_nightly",
    "slots_lower_bound_hours",
}


def test_given_a_small_fleet_when_benched_then_every_row_figure_and_target_is_reported(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shape of ``rds-backup bench --fleet --json`` (rds_backup/local/bench/fleet.py),
    on a fleet small enough for the suite: one night of 3, two spread nights, two retention
    nights of 3 databases."""
    from rds_backup.local.bench import fleet as bench

    monkeypatch.setattr(bench, "SPREAD_NIGHTS", 2)
    monkeypatch.setattr(bench, "RETENTION_NIGHTS", 2)
    monkeypatch.setattr(bench, "RETENTION_DATABASES", 3)

    # when
    row = bench.fleet_row(local_server, "moderate", 3)
    spread = bench.spread_row(local_server, "moderate", 3)
    nights = {"default_quota": bench.retention_nights(local_server, None)}
    targets = bench.targets([row], [spread], nights)

    # then: a healthy night, every figure of the row, spread and nights keys
    assert set(row) >= FLEET_ROW_KEYS
    assert (row["dropped"], row["failure_emails"], row["success_emails"]) == (0, 0, 3)
    assert row["makespan_hours"] >= row["slots_lower_bound_hours"] >= row["lower_bound_hours"]
    assert spread["max_days_between_exports"] <= spread["export_every_days"]
    assert spread["success_emails"] == spread["expected_success_emails"] == 6
    night = nights["default_quota"]
    assert night["success_emails_per_night"] == [3, 3]
    assert night["first_quota_email_night"] is None  # 3 x 16 snapshots fit 100
    assert night["peak_snapshots_per_region"]["target"] >= 3
    names = [t["name"] for t in targets]
    assert len(names) == 6
    assert all({"name", "value", "target", "pass"} <= set(t) for t in targets)
    assert all(t["pass"] for t in targets if not t["name"].startswith("ratio")), targets


def test_given_earlier_nights_when_a_night_runs_then_copies_carry_their_expected_export_hours(
    local_server: LocalServer,
) -> None:
    """The history rows of ``bench --fleet`` (issue 26): start_backup reads each database's
    export tasks of the nights before by derived id and tags the source with their mean
    hours (rds_backup/state/history.py); the copy carries it, the export queue orders by it."""
    from rds_backup.local.bench import fleet as bench
    from rds_backup.local.bench.lived_in import LivedIn, seed_history
    from rds_backup.local.profiles import get as get_profile
    from rds_backup.model import tags
    from rds_backup.model.naming import run_id, snapshot_id

    profile = get_profile("moderate", seed=bench.SEED)
    names = bench.databases(3)
    schedule = bench.START.replace(hour=3, minute=0)
    target = WorldSpec().target_region
    # the mean of what the 2 seeded nights took, per database (the seed's own durations)
    expected = {
        name: sum(
            profile.duration(
                "export",
                snapshot_id(bench.PREFIX, name, run_id(schedule - timedelta(days=night))),
                target,
                name,
            ).total_seconds()
            / 3600
            for night in (1, 2)
        )
        / 2
        for name in names
    }

    # when
    with bench._world(local_server, profile, names, {}) as local:
        local.set_quota(None, manual_snapshots=bench.RAISED_QUOTA)
        seed_history(local, LivedIn(2, 0, 0, 0, 0), schedule)
        local.auto_schedules = {"reconcile", "cleanup"}
        local.run_until(schedule - timedelta(minutes=1))
        local.fire_schedule(schedule)
        local.run_until(schedule + timedelta(hours=2))
        copies = local.server.client("rds", target).describe_db_snapshots(
            SnapshotType="manual",
            Filters=[
                {
                    "Name": "db-snapshot-id",
                    "Values": [snapshot_id(bench.PREFIX, name, run_id(schedule)) for name in names],
                }
            ],
        )["DBSnapshots"]

    # then
    found = {
        tags.as_dict(c["TagList"])[tags.DATABASE]: float(
            tags.as_dict(c["TagList"])[tags.EXPECTED_EXPORT_HOURS]
        )
        for c in copies
    }
    assert found == pytest.approx(expected, abs=0.001)
    row = bench.fleet_row(local_server, "moderate", 3, history_nights=2)
    assert row["history_nights"] == 2
    assert (row["dropped"], row["failure_emails"], row["success_emails"]) == (0, 0, 3)
    verdicts = {t["name"]: t for t in bench.history_targets([row])}
    assert "after 7 nights: steps dropped" in verdicts
    assert verdicts["after 7 nights: steps dropped"]["pass"] is True
