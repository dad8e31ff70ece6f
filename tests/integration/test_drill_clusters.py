"""Aurora restore drills, in-process on moto: the cluster copy restored as a drill cluster
(RestoreDBClusterFromSnapshot makes a cluster without instances: Aurora User Guide,
"Restoring from a DB cluster snapshot"), then each instance the restore manifest recorded
(CreateDBInstance with DBClusterIdentifier) at the drill's small class; the same checks
through the probe; the same cleanup: instances and cluster deleted, the drill told once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from moto.rds.models import RDSBackend
from moto.scheduler.models import scheduler_backends

from events import load_sample
from handlers import check_copy, check_drill, copy_snapshot, start_backup, start_drill
from rds_backup import clock
from rds_backup.local.seed import WorldSpec
from rds_backup.model import drills as drill_model
from rds_backup.model import tags
from rds_backup.settings import load_settings
from tests.integration import drills as harness
from tests.integration.test_drill_chain import ANSWERS, drill_emails, run_checks, tell
from tests.support import ACCOUNT, CallRecorder

CLUSTER = "analytics"
RUN = "20261125-0300"
SNAPSHOT = f"rds-backup-{CLUSTER}-{RUN}"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=(), clusters=(CLUSTER,))


def _restore_by_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's RestoreDBClusterFromSnapshot finds the snapshot by name only; RDS takes "the
    name or the Amazon Resource Name (ARN)" (RDS API Reference, RestoreDBClusterFromSnapshot,
    SnapshotIdentifier), and the drill names the copy by its ARN. A gap of moto, bridged in
    the open, as RestoreDBInstanceFromDBSnapshot already does in moto."""
    original = RDSBackend.restore_db_cluster_from_snapshot

    def by_name(self: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        return original(self, from_snapshot_id.split(":")[-1], overrides)

    monkeypatch.setattr(RDSBackend, "restore_db_cluster_from_snapshot", by_name)


@pytest.fixture
def cluster_drill(world, aws, monkeypatch) -> dict[str, Any]:
    """The source cluster with a writer and a reader, a night's cluster copy (its manifest
    records both), the drill network, the probe, and the clock at drill time."""
    for name, tier in ((f"{CLUSTER}-writer", 0), (f"{CLUSTER}-reader", 1)):
        aws.rds(harness.SOURCE).create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier=CLUSTER,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            PromotionTier=tier,
        )
    start_backup.handler(
        load_sample("scheduled") | {"time": "2026-11-25T03:00:00Z"}, harness.CONTEXT
    )
    created = load_sample("rds-cluster-0075-snapshot-created")
    arn = f"arn:aws:rds:{harness.SOURCE}:{ACCOUNT}:cluster-snapshot:{SNAPSHOT}"
    created["detail"].update(SourceArn=arn, SourceIdentifier=SNAPSHOT)
    created["resources"] = [arn]
    copy_snapshot.handler(created, harness.CONTEXT)
    for check in _copy_checks():  # the cluster copy's own one-time check: the copy is done
        check_copy.handler(check, harness.CONTEXT)
    harness.drill_network(aws, monkeypatch, DRILL_EVERY_DAYS="1")
    _restore_by_arn(monkeypatch)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    now = harness.FrozenClock(datetime.combine(tomorrow, time(0, 30), tzinfo=UTC))
    clock.use(now)
    database = harness.FakeDatabase(dict(ANSWERS))
    yield {
        "now": now,
        "rds": CallRecorder().attach(aws, "rds", harness.TARGET),
        "bus": harness.Bus(aws),
        "probe": harness.Probe(aws, monkeypatch, database),
        "database": database,
        "id": drill_model.drill_id("rds-backup", CLUSTER, tomorrow),
    }
    clock.use(None)


def _copy_checks() -> list[dict[str, Any]]:
    found = []
    for group in scheduler_backends[ACCOUNT][harness.SOURCE].schedule_groups.values():
        for schedule in list(group.schedules.values()):
            params = schedule.target["EventBridgeParameters"]
            if params["DetailType"] == "Cluster Copy Check Due":
                event = load_sample("cluster-copy-check-due")
                event["detail"] = json.loads(schedule.target["Input"])
                found.append(event)
                group.schedules.pop(schedule.name)
    return found


def drill_clusters(aws) -> list[str]:
    found = aws.rds(harness.TARGET).describe_db_clusters()["DBClusters"]
    return [c["DBClusterIdentifier"] for c in found if c["DBClusterIdentifier"].startswith("rds-")]


def drill_instances(aws) -> list[str]:
    found = aws.rds(harness.TARGET).describe_db_instances()["DBInstances"]
    return sorted(i["DBInstanceIdentifier"] for i in found)


def test_given_an_aurora_copy_when_drilled_then_the_cluster_and_its_recorded_instances_are_restored_small_and_tagged(  # noqa: E501
    cluster_drill, aws
):
    calls, identifier = cluster_drill["rds"], cluster_drill["id"]

    start_drill.handler(load_sample("scheduled"), harness.CONTEXT)

    [(_, cluster)] = calls.of("RestoreDBClusterFromSnapshot")
    assert cluster["DBClusterIdentifier"] == identifier
    assert (
        cluster["SnapshotIdentifier"]
        == f"arn:aws:rds:{harness.TARGET}:{ACCOUNT}:cluster-snapshot:{SNAPSHOT}"
    )
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["DBSubnetGroupName"] == load_settings().drill_subnet
    assert cluster["DeletionProtection"] is False
    assert tags.as_dict(cluster["Tags"])[tags.ROLE] == "drill"
    members = [p for _, p in calls.of("CreateDBInstance")]
    # every instance the manifest recorded (writer first), at the drill's small class
    assert [m["DBInstanceIdentifier"] for m in members] == [f"{identifier}-1", f"{identifier}-2"]
    assert {m["DBClusterIdentifier"] for m in members} == {identifier}
    assert {m["DBInstanceClass"] for m in members} == {"db.t4g.medium"}
    assert [m.get("PromotionTier") for m in members] == [0, 1]
    assert {m["PubliclyAccessible"] for m in members} == {False}
    assert drill_clusters(aws) == [identifier]


def test_given_an_aurora_drill_when_its_checks_run_then_it_passes_and_the_cluster_and_instances_are_deleted(  # noqa: E501
    cluster_drill, aws
):
    now, identifier = cluster_drill["now"], cluster_drill["id"]
    start_drill.handler(load_sample("scheduled"), harness.CONTEXT)
    check_drill.handler(harness.drill_event("RDS-EVENT-0170", identifier, now()), harness.CONTEXT)

    run_checks(now)
    tell(cluster_drill["bus"])
    tell(cluster_drill["bus"])

    [(_, modify)] = cluster_drill["rds"].of("ModifyDBCluster")
    assert modify["ManageMasterUserPassword"] is True
    [request] = cluster_drill["probe"].requests
    assert request["engine"] == "aurora-postgresql"
    assert ":secret:rds!cluster-" in request["secret_arn"]
    assert cluster_drill["database"].connections[0]["password"]  # read from RDS's secret
    assert drill_clusters(aws) == []
    assert not [i for i in drill_instances(aws) if i.startswith(identifier)]
    deleted = [p["DBInstanceIdentifier"] for _, p in cluster_drill["rds"].of("DeleteDBInstance")]
    assert sorted(deleted) == [f"{identifier}-1", f"{identifier}-2"]
    assert [p["DBClusterIdentifier"] for _, p in cluster_drill["rds"].of("DeleteDBCluster")] == [
        identifier
    ]
    [finished] = cluster_drill["bus"].finished()
    result = finished["detail"]["result"]
    assert result["outcome"] == "passed", result
    assert {c["name"]: c["value"] for c in result["checks"]}["orders rows"] == 1200
    [email] = drill_emails()
    assert f"{CLUSTER} restore drill passed" in email.subject
    assert harness.drill_checks() == [] or all(
        c["detail"]["Phase"] == "delete" for c in harness.drill_checks()
    )
