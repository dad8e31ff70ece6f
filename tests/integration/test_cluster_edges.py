"""DB cluster edges that only break on real AWS, in-process on moto: a name too long for a
63-character cluster snapshot id, an unencrypted Aurora copy (no KmsKeyId), and a Multi-AZ
DB cluster (AWS cannot copy its snapshots: refused at selection, before any snapshot)."""

from __future__ import annotations

from typing import Any

import pytest

from events import load_sample
from handlers import copy_snapshot, notify, start_backup
from rds_backup.errors import StepFailed
from rds_backup.local.seed import ACCOUNT, create_cluster
from rds_backup.model.naming import SNAPSHOT_ID_MAX
from rds_backup.state.selection import MULTI_AZ_CLUSTER
from tests.support import CallRecorder, sent_emails

LONG = "analytics-warehouse-eu-central-primary-cluster"  # 46 characters: an id of 70


def select(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    monkeypatch.setenv("DB_IDENTIFIER", ",".join(names))
    for handler in (start_backup, copy_snapshot, notify):
        handler.load_settings.cache_clear()


def cluster_snapshots(aws: Any, region: str) -> list[dict[str, Any]]:
    found = aws.rds(region).describe_db_cluster_snapshots(SnapshotType="manual")
    return list(found["DBClusterSnapshots"])


def created(snapshot: dict[str, Any]) -> dict[str, Any]:
    """RDS-EVENT-0075 for ``snapshot``, as RDS puts it on the bus."""
    event = load_sample("rds-cluster-0075-snapshot-created")
    arn = snapshot["DBClusterSnapshotArn"]
    event["detail"].update(SourceArn=arn, SourceIdentifier=snapshot["DBClusterSnapshotIdentifier"])
    event["resources"] = [arn]
    return event


def test_given_a_cluster_name_too_long_for_63_characters_when_snapshotted_then_the_id_fits_and_the_chain_copies_it(  # noqa: E501
    settings, aws, context, monkeypatch
):
    create_cluster(aws, settings.source_region, LONG)
    select(monkeypatch, LONG)

    start_backup.handler(load_sample("scheduled"), context)
    [snapshot] = cluster_snapshots(aws, settings.source_region)
    copy_snapshot.handler(created(snapshot), context)

    identifier = snapshot["DBClusterSnapshotIdentifier"]
    assert len(identifier) <= SNAPSHOT_ID_MAX  # CreateDBClusterSnapshot: 1 to 63 characters
    assert identifier.startswith("rds-backup-analytics-warehouse")
    assert "--" not in identifier
    assert not identifier.endswith("-")
    [copy] = cluster_snapshots(aws, settings.target_region)
    assert copy["DBClusterSnapshotIdentifier"] == identifier  # ours: tags prove it, not the id


def test_given_an_unencrypted_aurora_cluster_when_copied_then_no_kms_key_is_sent(
    settings, aws, context, monkeypatch
):
    create_cluster(aws, settings.source_region, "plain")  # no key: unencrypted
    select(monkeypatch, "plain")
    calls = CallRecorder().attach(aws, "rds", settings.target_region)

    start_backup.handler(load_sample("scheduled"), context)
    [snapshot] = cluster_snapshots(aws, settings.source_region)
    assert snapshot["StorageEncrypted"] is False
    copy_snapshot.handler(created(snapshot), context)

    # CopyDBClusterSnapshot, KmsKeyId: "If you copy an unencrypted DB cluster snapshot and
    # specify a value for the KmsKeyId parameter, an error is returned."
    [(_, params)] = calls.of("CopyDBClusterSnapshot")
    assert "KmsKeyId" not in params


def test_given_an_encrypted_aurora_cluster_when_copied_then_the_target_key_is_sent(
    settings, aws, context, monkeypatch
):
    key = aws.client("kms", settings.source_region).create_key()["KeyMetadata"]["Arn"]
    create_cluster(aws, settings.source_region, "sealed", key=key)
    select(monkeypatch, "sealed")
    calls = CallRecorder().attach(aws, "rds", settings.target_region)

    start_backup.handler(load_sample("scheduled"), context)
    [snapshot] = cluster_snapshots(aws, settings.source_region)
    copy_snapshot.handler(created(snapshot), context)

    [(_, params)] = calls.of("CopyDBClusterSnapshot")
    assert params["KmsKeyId"] == settings.keys.target


def test_given_a_multi_az_db_cluster_when_scheduled_then_it_is_refused_before_a_snapshot_with_what_to_do(  # noqa: E501
    settings, aws, context, monkeypatch
):
    aws.rds(settings.source_region).create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="postgres",  # not aurora-*: a Multi-AZ DB cluster
        DBClusterInstanceClass="db.m6gd.large",
        StorageType="io1",
        AllocatedStorage=100,
        Iops=1000,
        MasterUsername="app",
        MasterUserPassword="local-only-password",
    )
    select(monkeypatch, "orders", "ledger")
    scheduled = load_sample("scheduled")

    with pytest.raises(StepFailed) as raised:
        start_backup.handler(scheduled, context)

    assert raised.value.code == MULTI_AZ_CLUSTER
    assert cluster_snapshots(aws, settings.source_region) == []  # nothing to fail at the copy
    snapshots = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    assert [s["DBInstanceIdentifier"] for s in snapshots["DBSnapshots"]] == ["orders"]

    failure = load_sample("lambda-invocation-failure")
    failure["detail"]["requestPayload"] = scheduled
    failure["detail"]["requestContext"]["functionArn"] = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rds-backup-start_backup:$LATEST"
    )
    failure["detail"]["responsePayload"] = {
        "errorMessage": str(raised.value),
        "errorType": "StartFailed",
    }
    notify.handler(failure, context)

    [email] = sent_emails()
    assert "Multi-AZ DB cluster" in email.body
    assert "Limitations of Multi-AZ DB clusters" in email.body
    assert "Remove it from DB_IDENTIFIER" in email.body
