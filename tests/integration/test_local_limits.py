"""AWS's RDS limits as the local AWS enforces them in moto (rds_backup/local/limits.py):
the refusals with AWS's codes and messages, DescribeAccountAttributes, adjustable quotas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rds_backup.local import limits

SOURCE, TARGET = "us-east-1", "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/export"
# moto warns that AWS's export refusal is not in botocore's error shapes (it is not)
pytestmark = pytest.mark.filterwarnings("ignore:.*ExportTaskLimitReachedFault does not match")


@pytest.fixture
def rds() -> Iterator[dict[str, Any]]:
    limits.install()
    limits.reset_quotas()
    with mock_aws():
        clients = {region: boto3.client("rds", region) for region in (SOURCE, TARGET)}
        for region, client in clients.items():
            client.create_db_instance(
                DBInstanceIdentifier=f"db-{region}",
                Engine="postgres",
                DBInstanceClass="db.t4g.micro",
                AllocatedStorage=20,
                MasterUsername="app",
                MasterUserPassword="local-only-password",
            )
        yield clients
    limits.reset_quotas()


@pytest.fixture
def in_progress() -> Iterator[None]:
    """What the timed emulator does: copies and exports stay in progress."""

    def hold(kind: str, backend: Any, resource: Any) -> None:
        if kind == "copy":
            resource.status = "creating"
        elif kind == "export":
            resource.status = "STARTING"

    limits.observe(hold)
    yield
    limits.unobserve(hold)


def _snapshot(client: Any, region: str, name: str) -> str:
    created = client.create_db_snapshot(
        DBInstanceIdentifier=f"db-{region}", DBSnapshotIdentifier=name
    )
    return str(created["DBSnapshot"]["DBSnapshotArn"])


def _refusal(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error: dict[str, Any] = dict(caught.value.response["Error"])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


def _quotas(client: Any) -> dict[str, tuple[int, int]]:
    found = client.describe_account_attributes()["AccountQuotas"]
    return {q["AccountQuotaName"]: (q["Used"], q["Max"]) for q in found}


def test_given_the_manual_snapshot_quota_is_full_when_creating_one_then_snapshot_quota_exceeded(
    rds: dict[str, Any],
) -> None:
    # given
    limits.set_quota(SOURCE, manual_snapshots=2)
    _snapshot(rds[SOURCE], SOURCE, "one")
    _snapshot(rds[SOURCE], SOURCE, "two")

    # when
    error = _refusal(
        rds[SOURCE].create_db_snapshot,
        DBInstanceIdentifier=f"db-{SOURCE}",
        DBSnapshotIdentifier="three",
    )

    # then
    assert error["Code"] == "SnapshotQuotaExceeded"
    assert error["Message"] == "Cannot create more than 2 manual snapshots"
    _snapshot(rds[TARGET], TARGET, "elsewhere")  # the quota is per region


def test_given_the_default_quota_when_a_hundred_manual_snapshots_exist_then_the_next_is_refused(
    rds: dict[str, Any],
) -> None:
    # given
    for number in range(100):
        _snapshot(rds[SOURCE], SOURCE, f"s{number}")

    # when
    error = _refusal(
        rds[SOURCE].create_db_snapshot,
        DBInstanceIdentifier=f"db-{SOURCE}",
        DBSnapshotIdentifier="s100",
    )

    # then
    assert (error["Code"], error["Message"]) == (
        "SnapshotQuotaExceeded",
        "Cannot create more than 100 manual snapshots",
    )
    assert _quotas(rds[SOURCE])["ManualSnapshots"] == (100, 100)


def test_given_the_target_region_is_full_when_copying_into_it_then_the_destination_quota_refuses(
    rds: dict[str, Any],
) -> None:
    # given
    arn = _snapshot(rds[SOURCE], SOURCE, "source")
    limits.set_quota(TARGET, manual_snapshots=1)
    _snapshot(rds[TARGET], TARGET, "already-there")

    # when
    error = _refusal(
        rds[TARGET].copy_db_snapshot,
        SourceDBSnapshotIdentifier=arn,
        TargetDBSnapshotIdentifier="copy",
        SourceRegion=SOURCE,
    )

    # then
    assert error["Message"] == "Cannot create more than 1 manual snapshots"


def test_given_twenty_copies_in_progress_when_another_starts_then_the_copy_limit_refuses(
    rds: dict[str, Any], in_progress: None
) -> None:
    # given
    arn = _snapshot(rds[SOURCE], SOURCE, "source")
    for number in range(20):
        rds[TARGET].copy_db_snapshot(
            SourceDBSnapshotIdentifier=arn,
            TargetDBSnapshotIdentifier=f"c{number}",
            SourceRegion=SOURCE,
        )

    # when
    error = _refusal(
        rds[TARGET].copy_db_snapshot,
        SourceDBSnapshotIdentifier=arn,
        TargetDBSnapshotIdentifier="c20",
        SourceRegion=SOURCE,
    )

    # then
    assert (error["Code"], error["Message"]) == (
        "SnapshotQuotaExceeded",
        "Cannot copy more than 20 snapshots across regions",
    )


def test_given_a_copy_lands_when_another_starts_then_its_slot_is_free_again(
    rds: dict[str, Any], in_progress: None
) -> None:
    # given
    limits.set_quota(TARGET, copies=1)
    arn = _snapshot(rds[SOURCE], SOURCE, "source")
    rds[TARGET].copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="c0", SourceRegion=SOURCE
    )
    assert limits.copies_in_progress(_backend(TARGET)) == 1

    # when
    _backend(TARGET).database_snapshots["c0"].status = "available"
    rds[TARGET].copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="c1", SourceRegion=SOURCE
    )

    # then
    assert limits.copies_in_progress(_backend(TARGET)) == 1


def test_given_five_exports_in_progress_across_regions_when_a_sixth_starts_then_it_is_refused(
    rds: dict[str, Any], in_progress: None
) -> None:
    # given: the limit is per account, counted in every region
    for number in range(5):
        region = (SOURCE, TARGET)[number % 2]
        arn = _snapshot(rds[region], region, f"e{number}")
        rds[region].start_export_task(**_export(f"task{number}", arn))
    arn = _snapshot(rds[SOURCE], SOURCE, "e5")

    # when
    error = _refusal(rds[SOURCE].start_export_task, **_export("task5", arn))

    # then
    assert (error["Code"], error["Message"]) == (
        "ExportTaskLimitReachedFault",
        "You have reached the limit of 5 concurrent export tasks",
    )
    assert limits.exports_in_progress("123456789012") == 5


def test_given_an_adjusted_export_limit_when_exports_complete_then_slots_free(
    rds: dict[str, Any],
) -> None:
    # given: no observer, so moto's exports complete at once (the instant mode)
    limits.set_quota(exports=1)
    for number in range(3):
        arn = _snapshot(rds[SOURCE], SOURCE, f"e{number}")
        # when
        rds[SOURCE].start_export_task(**_export(f"task{number}", arn))

    # then
    assert limits.exports_in_progress("123456789012") == 0


def test_given_snapshots_when_describing_account_attributes_then_used_and_max_are_the_region_s(
    rds: dict[str, Any],
) -> None:
    # given
    limits.set_quota(SOURCE, manual_snapshots=250)
    _snapshot(rds[SOURCE], SOURCE, "one")
    _snapshot(rds[SOURCE], SOURCE, "two")

    # when
    source, target = _quotas(rds[SOURCE]), _quotas(rds[TARGET])

    # then
    assert source["ManualSnapshots"] == (2, 250)
    assert source["ManualClusterSnapshots"] == (0, 100)
    assert source["DBInstances"][0] == 1
    assert target["ManualSnapshots"] == (0, 100)


def test_given_an_unknown_quota_name_when_setting_it_then_it_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown quota"):
        limits.set_quota(snapshots=3)


def test_given_install_twice_when_refusing_then_the_patch_is_applied_once(
    rds: dict[str, Any],
) -> None:
    # given
    limits.install()
    limits.set_quota(SOURCE, manual_snapshots=1)
    _snapshot(rds[SOURCE], SOURCE, "one")

    # when / then
    error = _refusal(
        rds[SOURCE].create_db_snapshot,
        DBInstanceIdentifier=f"db-{SOURCE}",
        DBSnapshotIdentifier="two",
    )
    assert error["Message"] == "Cannot create more than 1 manual snapshots"


def _export(identifier: str, arn: str) -> dict[str, str]:
    return {
        "ExportTaskIdentifier": identifier,
        "SourceArn": arn,
        "S3BucketName": "bucket",
        "IamRoleArn": ROLE,
        "KmsKeyId": "key",
    }


def _backend(region: str) -> Any:
    from moto.rds.models import rds_backends

    return rds_backends["123456789012"][region]


def test_given_exports_of_two_snapshots_when_described_by_source_arn_then_only_that_one_s(
    rds: dict[str, Any],
) -> None:
    # given
    first = _snapshot(rds[SOURCE], SOURCE, "first")
    second = _snapshot(rds[SOURCE], SOURCE, "second")
    rds[SOURCE].start_export_task(**_export("task-first", first))
    rds[SOURCE].start_export_task(**_export("task-second", second))

    # when
    by_arn = rds[SOURCE].describe_export_tasks(SourceArn=second)["ExportTasks"]
    by_filter = rds[SOURCE].describe_export_tasks(
        Filters=[{"Name": "export-task-identifier", "Values": ["task-first"]}]
    )["ExportTasks"]

    # then
    assert [t["ExportTaskIdentifier"] for t in by_arn] == ["task-second"]
    assert [t["ExportTaskIdentifier"] for t in by_filter] == ["task-first"]


def _cluster(client: Any, name: str) -> None:
    client.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="app",
        MasterUserPassword="local-only-password",
    )


def test_given_a_cluster_snapshot_id_over_63_characters_when_created_then_it_is_refused(rds):
    _cluster(rds[SOURCE], "wide")

    error = _refusal(
        rds[SOURCE].create_db_cluster_snapshot,
        DBClusterIdentifier="wide",
        DBClusterSnapshotIdentifier="s" * 64,
    )

    assert error["Code"] == "InvalidParameterValue"
    assert "63" in error["Message"]


def test_given_an_unencrypted_cluster_snapshot_when_copied_with_a_key_then_it_is_refused(rds):
    _cluster(rds[SOURCE], "plain")
    arn = rds[SOURCE].create_db_cluster_snapshot(
        DBClusterIdentifier="plain", DBClusterSnapshotIdentifier="plain-1"
    )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    key = boto3.client("kms", TARGET).create_key()["KeyMetadata"]["Arn"]

    error = _refusal(
        rds[TARGET].copy_db_cluster_snapshot,
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier="plain-1",
        KmsKeyId=key,
        SourceRegion=SOURCE,
    )
    copied = rds[TARGET].copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier="plain-1",
        SourceRegion=SOURCE,
    )

    assert error["Code"] == "InvalidParameterCombination"
    assert copied["DBClusterSnapshot"]["StorageEncrypted"] is False


def test_given_the_db_instances_quota_full_when_a_snapshot_is_restored_then_rds_refuses_it(rds):
    # given: the target region's quota holds exactly the one instance it has
    limits.set_quota(TARGET, db_instances=1)
    _snapshot(rds[TARGET], TARGET, "nightly")

    # when: a restore would make a second instance
    with pytest.raises(ClientError) as refused:
        rds[TARGET].restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restored", DBSnapshotIdentifier="nightly"
        )

    # then: RDS's refusal, the quota reported as used up, and nothing made
    assert refused.value.response["Error"]["Code"] == "InstanceQuotaExceeded"
    assert refused.value.response["Error"]["Message"] == "DB Instance quota exceeded"
    quotas = rds[TARGET].describe_account_attributes()["AccountQuotas"]
    assert {"AccountQuotaName": "DBInstances", "Used": 1, "Max": 1} in quotas
    names = [i["DBInstanceIdentifier"] for i in rds[TARGET].describe_db_instances()["DBInstances"]]
    assert names == [f"db-{TARGET}"]


def test_given_room_for_one_more_instance_when_restored_then_it_is_made_and_the_next_refused(rds):
    limits.set_quota(TARGET, db_instances=2)
    _snapshot(rds[TARGET], TARGET, "nightly")

    made = rds[TARGET].restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="restored", DBSnapshotIdentifier="nightly"
    )
    with pytest.raises(ClientError) as refused:
        rds[TARGET].restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restored-2", DBSnapshotIdentifier="nightly"
        )

    assert made["DBInstance"]["DBInstanceIdentifier"] == "restored"
    assert refused.value.response["Error"]["Code"] == "InstanceQuotaExceeded"
    # the other region keeps AWS's default
    source = rds[SOURCE].describe_account_attributes()["AccountQuotas"]
    assert {"AccountQuotaName": "DBInstances", "Used": 1, "Max": 40} in source


def test_given_a_region_with_its_own_quota_when_raising_one_everywhere_then_it_is_raised_there(
    rds: dict[str, Any],
) -> None:
    # given: the source region's DB instances quota raised on its own (a large fleet)
    limits.set_quota(SOURCE, db_instances=200)

    # when
    limits.set_quota(None, manual_snapshots=1000)

    # then
    source, target = _quotas(rds[SOURCE]), _quotas(rds[TARGET])
    assert source["ManualSnapshots"][1] == 1000
    assert target["ManualSnapshots"][1] == 1000
    assert source["DBInstances"][1] == 200
