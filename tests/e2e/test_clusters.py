"""Aurora clusters on the local AWS with the deployed rules: RDS emits 0074/0075 and the
cluster export events but nothing when a cluster copy finishes, so the chain's own scheduled
checks (fired by the local AWS, on the virtual clock in timed mode) carry it to the export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from rds_backup.local import limits
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from tests.e2e.conftest import timed_local

pytestmark = pytest.mark.e2e

SOURCE, TARGET = "us-east-1", "us-west-2"


def _run(local: LocalAws, when: datetime | None = None) -> str:
    fired = local.fire_schedule(when)
    return fired.strftime("%Y%m%d-%H%M")


def _copies(local: LocalAws) -> dict[str, str]:
    found = local.server.client("rds", TARGET).describe_db_cluster_snapshots(SnapshotType="manual")[
        "DBClusterSnapshots"
    ]
    return {s["DBClusterSnapshotIdentifier"]: s["Status"] for s in found}


def _exports(local: LocalAws, snapshot: str) -> list[dict[str, Any]]:
    tasks = local.server.client("rds", TARGET).describe_export_tasks()["ExportTasks"]
    return [t for t in tasks if t["SourceArn"].endswith(f":{snapshot}")]


def _emails_about(local: LocalAws, database: str) -> list[str]:
    return [m.subject for m in local.inventory().emails if f" {database} " in f" {m.subject} "]


def _api(local: LocalAws, operation: str) -> int:
    return local.timeline.api_calls.get(operation, 0)


@pytest.mark.parametrize(
    "spec",
    [WorldSpec(databases=("orders",), clusters=("analytics", "ledger"))],
)
def test_given_a_mixed_fleet_with_every_event_delivered_three_times_then_each_chain_once(
    local_aws: LocalAws,
) -> None:
    # given: an instance, an Aurora PostgreSQL and an Aurora MySQL cluster; at least once x3
    local_aws.deliver_each_event(3)

    # when
    run = _run(local_aws)
    local_aws.run_until_quiet(max_seconds=120)

    # then: every copy is available, exported once, and told once
    for database in ("analytics", "ledger"):
        snapshot = f"rds-backup-{database}-{run}"
        assert _copies(local_aws)[snapshot] == "available"
        [task] = _exports(local_aws, snapshot)
        assert task["Status"].upper() == "COMPLETE"
        assert len(_emails_about(local_aws, database)) == 1
    assert len(_emails_about(local_aws, "orders")) == 1
    assert _api(local_aws, "RDS:CopyDBClusterSnapshot") == 2
    assert _api(local_aws, "RDS:StartExportTask") == 3
    emitted = {e.what.split(" ")[0] for e in local_aws.timeline.entries if e.kind == "emit"}
    assert {"RDS-EVENT-0074", "RDS-EVENT-0075", "RDS-EVENT-0164"} <= emitted
    # no RDS event marks a finished cluster copy: 0060 only for the instance's copy
    assert {
        e.subject for e in local_aws.timeline.entries if e.kind == "emit" and "0060" in e.what
    } == {f"rds-backup-orders-{run}"}
    assert local_aws.dead_letters() == []


@pytest.mark.parametrize("spec", [WorldSpec(databases=(), clusters=("analytics",))])
def test_given_a_lost_0075_when_reconcile_runs_then_the_cluster_chain_completes(
    local_aws: LocalAws,
) -> None:
    # given: RDS never delivers the cluster snapshot's 0075
    local_aws.emulator.knobs.drop_once = {"RDS-EVENT-0075"}
    run = _run(local_aws)
    local_aws.run_until_quiet()
    snapshot = f"rds-backup-analytics-{run}"
    assert snapshot not in _copies(local_aws)

    # when: the hourly reconcile, an hour later
    local_aws.fire_schedule(function="reconcile")
    local_aws.run_until_quiet()

    # then: copied, checked, exported, told once
    assert _copies(local_aws)[snapshot] == "available"
    assert len(_exports(local_aws, snapshot)) == 1
    assert len(_emails_about(local_aws, "analytics")) == 1


@pytest.mark.parametrize("spec", [WorldSpec(databases=(), clusters=("analytics",))])
def test_given_a_cluster_copy_that_fails_then_one_failure_email_and_no_export(
    local_aws: LocalAws,
) -> None:
    # given: RDS ends the cluster copy failed (the copy exists, status failed)
    def fail_copy(kind: str, backend: Any, snapshot: Any) -> None:
        if kind == "cluster-copy":
            snapshot.status = "failed"

    limits.observe(fail_copy)
    try:
        # when
        run = _run(local_aws)
        local_aws.run_until_quiet()
    finally:
        limits.unobserve(fail_copy)

    # then
    snapshot = f"rds-backup-analytics-{run}"
    assert _copies(local_aws)[snapshot] == "failed"
    assert _exports(local_aws, snapshot) == []
    [subject] = _emails_about(local_aws, "analytics")
    assert "❌" in subject or "fail" in subject.lower()


START = datetime(2026, 3, 9, 2, 55, tzinfo=UTC)


@pytest.fixture
def timed(local_server: LocalServer, templates: dict[str, dict[str, Any]]) -> Iterator[LocalAws]:
    spec = WorldSpec(databases=(), clusters=("analytics",))
    with timed_local(spec, local_server, templates, START, ("start_backup",)) as local:
        yield local


def test_given_a_cluster_copy_of_hours_then_checks_back_off_and_the_export_starts_once(
    timed: LocalAws,
) -> None:
    # given: the cluster copy takes 5 hours on the virtual clock
    run = "20260309-0300"
    snapshot = f"rds-backup-analytics-{run}"
    assert timed.profile is not None
    timed.profile.cache[("copy", snapshot, TARGET, "analytics")] = timedelta(hours=5)

    # when: the night runs
    timed.run_until(START + timedelta(hours=12))

    # then: the checks came with growing gaps, the export started once, one email
    fired = [
        e.when
        for e in timed.timeline.entries
        if e.kind == "schedule" and e.what == "Cluster Copy Check Due"
    ]
    assert len(fired) >= 4
    gaps = [later - earlier for earlier, later in pairwise(fired)]
    assert gaps == sorted(gaps)
    assert gaps[-1] > gaps[0]
    assert _copies(timed)[snapshot] == "available"
    [task] = _exports(timed, snapshot)
    assert task["Status"].upper() == "COMPLETE"
    assert _api(timed, "RDS:StartExportTask") == 1
    assert len(_emails_about(timed, "analytics")) == 1
