"""copy_snapshot on moto: RDS-EVENT-0042 for our snapshot → one copy in the target region."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError

from events import load_sample
from handlers import copy_snapshot, start_backup
from rds_backup.errors import StepFailed
from rds_backup.local.seed import WorldSpec
from rds_backup.model import tags
from rds_backup.outcomes.reports import remedy_told
from tests.support import SAMPLE_SNAPSHOT, CallRecorder, rds_event, set_snapshot_status

BILLING_SNAPSHOT = SAMPLE_SNAPSHOT.replace("orders", "billing")
COPY_ORDERS = f"copy us-east-1/{SAMPLE_SNAPSHOT}"
COPY_BILLING = f"copy us-east-1/{BILLING_SNAPSHOT}"


@pytest.fixture
def snapshot(settings, aws, context):
    """The nightly run has made our source snapshot (with a user tag and an aws: tag)."""
    start_backup.handler(load_sample("scheduled"), context)
    rds = aws.rds(settings.source_region)
    arn = rds.describe_db_snapshots(DBSnapshotIdentifier=SAMPLE_SNAPSHOT)["DBSnapshots"][0][
        "DBSnapshotArn"
    ]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "payments"}])
    return arn


@pytest.fixture
def calls(aws, settings):
    recorder = CallRecorder()
    recorder.attach(aws, "rds", settings.source_region)
    return recorder.attach(aws, "rds", settings.target_region)


def copies(aws, settings):
    found = aws.rds(settings.target_region).describe_db_snapshots(SnapshotType="manual")
    return {s["DBSnapshotIdentifier"]: s for s in found["DBSnapshots"]}


def test_given_our_snapshot_when_created_event_arrives_then_it_is_copied_with_the_right_call(
    settings, aws, context, snapshot, calls
):
    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    # Every waiting copy of the run starts (moto makes both databases' sources at once).
    assert sorted(result["copies"]["started"]) == [COPY_BILLING, COPY_ORDERS]
    assert result["copies"]["free"] == 20
    assert result["copies"]["waiting"] == 0
    assert len(calls.of("CopyDBSnapshot")) == 2
    [(region, params)] = [
        c
        for c in calls.of("CopyDBSnapshot")
        if c[1]["TargetDBSnapshotIdentifier"] == SAMPLE_SNAPSHOT
    ]
    assert region == "us-west-2"
    assert params["SourceDBSnapshotIdentifier"] == snapshot
    assert params["SourceRegion"] == "us-east-1"
    assert params["TargetDBSnapshotIdentifier"] == SAMPLE_SNAPSHOT
    assert params["KmsKeyId"] == settings.keys.target
    assert params["KmsKeyId"].startswith("arn:aws:kms:us-west-2:")
    assert tags.as_dict(params["Tags"]) == {
        "team": "payments",
        tags.STACK: "rds-backup",
        tags.DATABASE: "orders",
        tags.RUN: "20261125-0300",
        tags.ROLE: "copy",
        tags.EXPORTS: "target",
    }
    assert "OptionGroupName" not in params
    assert calls.of("StartExportTask") == []
    assert sorted(copies(aws, settings)) == [BILLING_SNAPSHOT, SAMPLE_SNAPSHOT]


def test_given_the_created_event_three_times_when_handled_then_one_copy_exists(
    settings, aws, context, snapshot
):
    results = [
        copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)["copies"]
        for _ in range(3)
    ]

    assert sorted(results[0]["started"]) == [COPY_BILLING, COPY_ORDERS]
    assert results[1:] == [{"free": 20, "started": [], "waiting": 0}] * 2
    assert sorted(copies(aws, settings)) == [BILLING_SNAPSHOT, SAMPLE_SNAPSHOT]


@pytest.mark.parametrize(
    "spec",
    [WorldSpec(store_to_source_s3=True), WorldSpec(store_to_source_s3=True, multi_region_key=True)],
)
def test_given_store_to_source_s3_when_created_then_the_source_is_exported_in_its_region(
    settings, aws, context, snapshot, calls, spec
):
    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    assert f"export us-east-1/{SAMPLE_SNAPSHOT}" in result["exports"]["started"]
    assert sorted(result["exports"]["started"]) == [
        f"export us-east-1/{BILLING_SNAPSHOT}",
        f"export us-east-1/{SAMPLE_SNAPSHOT}",
    ]
    assert len(calls.of("StartExportTask")) == 2
    assert all(region == "us-east-1" for region, _ in calls.of("StartExportTask"))
    [(region, params)] = [c for c in calls.of("StartExportTask") if c[1]["SourceArn"] == snapshot]
    assert region == "us-east-1"
    assert params["SourceArn"] == snapshot
    assert params["S3BucketName"] == settings.source_bucket
    assert params["KmsKeyId"] == settings.keys.source
    assert ":us-east-1:" in params["KmsKeyId"]
    assert params["IamRoleArn"] == settings.export_role_arn
    assert params["ExportTaskIdentifier"] == f"{SAMPLE_SNAPSHOT}-us-east-1"
    assert len(calls.of("CopyDBSnapshot")) == 2
    assert all(":us-west-2:" in p["KmsKeyId"] for _, p in calls.of("CopyDBSnapshot"))


def test_given_a_target_option_group_when_copied_then_it_is_passed(
    settings, aws, context, snapshot, calls, monkeypatch
):
    monkeypatch.setenv("TARGET_OPTION_GROUP", "orders-pg16-usw2")
    copy_snapshot.load_settings.cache_clear()

    # moto may not know the option group; the parameter sent is what this test checks.
    with contextlib.suppress(StepFailed):
        copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    sent = calls.of("CopyDBSnapshot")
    assert sent  # the first copy was tried (a refusal by moto stops the fill there)
    assert all(params["OptionGroupName"] == "orders-pg16-usw2" for _, params in sent)


def test_given_a_foreign_manual_snapshot_with_our_prefix_when_created_then_nothing_is_copied(
    settings, aws, context, calls
):
    aws.rds(settings.source_region).create_db_snapshot(
        DBInstanceIdentifier="orders", DBSnapshotIdentifier=SAMPLE_SNAPSHOT
    )

    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    assert result == {"skipped": "not ours or gone"}
    assert calls.of("CopyDBSnapshot") == []


@pytest.mark.parametrize(
    "identifier", ["rds:orders-2026-11-25-03-10", "awsbackup:job-1234", "nightly-orders"]
)
def test_given_a_snapshot_without_our_prefix_when_created_then_it_is_ignored_without_calls(
    settings, aws, context, calls, identifier
):
    event = rds_event("RDS-EVENT-0042", "us-east-1", snapshot="x")
    event["detail"]["SourceIdentifier"] = identifier
    event["detail"]["SourceArn"] = event["detail"]["SourceArn"].replace(":x", ":" + identifier)

    assert copy_snapshot.handler(event, context) == {"skipped": "not ours"}
    assert calls.calls == []


def test_given_an_event_for_a_deleted_snapshot_when_handled_then_it_is_dropped(
    settings, aws, context, calls
):
    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    assert result == {"skipped": "not ours or gone"}
    assert calls.of("CopyDBSnapshot") == []


def test_given_an_early_event_for_a_snapshot_still_creating_when_handled_then_it_raises_to_retry(
    settings, aws, context, snapshot
):
    set_snapshot_status("us-east-1", SAMPLE_SNAPSHOT, "creating")

    with pytest.raises(StepFailed) as raised:
        copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    assert raised.value.retryable
    assert copies(aws, settings) == {}


def test_given_the_target_key_is_not_accessible_when_copying_then_a_typed_error_names_the_fix(
    settings, aws, context, snapshot, monkeypatch
):
    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "KMSKeyNotAccessibleFault", "Message": "key disabled"}},
            "CopyDBSnapshot",
        )

    monkeypatch.setattr(aws.rds(settings.target_region), "copy_db_snapshot", refuse)

    with pytest.raises(StepFailed) as raised:
        copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    assert raised.value.step == "copy"
    assert raised.value.region == "us-west-2"
    assert raised.value.code == "KMSKeyNotAccessibleFault"
    assert f"KMS key {settings.keys.target} in us-west-2" in raised.value.cause
    assert "key policy" in remedy_told(settings, raised.value)
    assert isinstance(raised.value.__cause__, ClientError)


def test_given_a_copy_finished_event_and_nothing_waiting_when_handled_then_no_copy_starts(
    settings, aws, context, calls
):
    # A copy ending frees a copy slot: copy_snapshot fills it; with no waiting copy, nothing.
    assert copy_snapshot.handler(load_sample("rds-0060-copy-finished"), context) == {
        "copies": {"free": 20, "started": [], "waiting": 0}
    }
    assert calls.of("CopyDBSnapshot") == []
    assert calls.of("StartExportTask") == []
    assert {name for _, name, _ in calls.calls} <= {
        "DescribeDBSnapshots",
        "DescribeDBClusterSnapshots",
    }


def test_given_a_db_snapshot_copy_event_when_slots_are_filled_then_no_cluster_snapshot_is_read(
    settings, aws, context, snapshot, calls
):
    # given: a DB snapshot's 0042 (copy slots are per snapshot kind; no source export)
    # when
    copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), context)

    # then: the DB snapshot queue was read, the DB cluster snapshot one was not
    assert calls.of("DescribeDBSnapshots")
    assert calls.of("DescribeDBClusterSnapshots") == []
