"""export_snapshot on moto: RDS-EVENT-0060 for our copy → one export to TARGET_BUCKET."""

from __future__ import annotations

import pytest

from events import load_sample
from handlers import export_snapshot
from rds_backup.errors import StepFailed
from tests.integration.chain import CONTEXT, snapshot_and_copy, through_export
from tests.support import SAMPLE_SNAPSHOT, CallRecorder, fail_export, rds_event

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"


@pytest.fixture
def calls(aws, settings):
    return CallRecorder().attach(aws, "rds", settings.target_region)


def exports(aws, settings):
    tasks = aws.rds(settings.target_region).describe_export_tasks()["ExportTasks"]
    return sorted(t["ExportTaskIdentifier"] for t in tasks)


def test_given_our_copy_when_copy_finished_then_it_is_exported_with_the_right_call(
    settings, aws, calls
):
    result = through_export()

    assert result == {"export": EXPORT_ID, "outcome": "started"}
    [(region, params)] = calls.of("StartExportTask")
    assert region == "us-west-2"
    assert params == {
        "ExportTaskIdentifier": EXPORT_ID,
        "SourceArn": f"arn:aws:rds:us-west-2:123456789012:snapshot:{SAMPLE_SNAPSHOT}",
        "S3BucketName": settings.target_bucket,
        "S3Prefix": "rds-backup",
        "IamRoleArn": settings.export_role_arn,
        "KmsKeyId": settings.keys.target,
    }


def test_given_the_copy_finished_event_three_times_when_handled_then_one_export(settings, aws):
    through_export()
    again = [
        export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)["outcome"]
        for _ in range(2)
    ]

    assert again == ["exists", "exists"]
    assert exports(aws, settings) == [EXPORT_ID]


def test_given_a_failed_export_when_the_event_is_duplicated_then_no_new_attempt(settings, aws):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "S3 bucket access denied")

    result = export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)

    assert result["outcome"] == "failed-earlier"
    assert exports(aws, settings) == [EXPORT_ID]


def test_given_a_failed_export_when_the_event_is_replayed_then_a_suffixed_attempt_starts(
    settings, aws
):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "S3 bucket access denied")

    replayed = rds_event("RDS-EVENT-0060", "us-west-2", **{"replay-name": "after-fix"})
    result = export_snapshot.handler(replayed, CONTEXT)
    again = export_snapshot.handler(replayed, CONTEXT)

    assert result == {"export": f"{EXPORT_ID}-a2", "outcome": "started"}
    assert again["outcome"] == "exists"
    assert exports(aws, settings) == [EXPORT_ID, f"{EXPORT_ID}-a2"]


def test_given_a_source_region_snapshot_event_when_sent_to_export_then_it_is_ignored(
    settings, aws, calls
):
    snapshot_and_copy()
    event = rds_event("RDS-EVENT-0060", "us-east-1")

    assert export_snapshot.handler(event, CONTEXT) == {"skipped": "not in us-west-2"}
    assert calls.of("StartExportTask") == []


def test_given_the_source_snapshot_event_when_routed_here_then_the_source_is_not_exported(
    settings, aws, calls
):
    snapshot_and_copy()
    aws.rds(settings.target_region).delete_db_snapshot(DBSnapshotIdentifier=SAMPLE_SNAPSHOT)

    result = export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)

    assert result == {"skipped": "not ours or gone"}
    assert calls.of("StartExportTask") == []


def test_given_too_many_exports_in_flight_when_exporting_then_a_retryable_error_is_raised(
    settings, aws, monkeypatch
):
    from botocore.exceptions import ClientError

    snapshot_and_copy()

    def limit(**_):
        raise ClientError(
            {"Error": {"Code": "ExportTaskLimitReachedFault", "Message": "5"}}, "StartExportTask"
        )

    monkeypatch.setattr(aws.rds(settings.target_region), "start_export_task", limit)

    with pytest.raises(StepFailed) as raised:
        export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)

    assert raised.value.retryable
    assert raised.value.step == "export"
    assert "5 snapshot exports" in raised.value.remedy
