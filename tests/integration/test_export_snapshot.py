"""export_snapshot on moto: RDS-EVENT-0060 for our copy → one export to TARGET_BUCKET."""

from __future__ import annotations

import pytest

from events import load_sample
from handlers import export_snapshot
from tests.integration.chain import CONTEXT, snapshot_and_copy, through_export
from tests.support import SAMPLE_SNAPSHOT, CallRecorder, fail_export, rds_event

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"
BILLING_SNAPSHOT = SAMPLE_SNAPSHOT.replace("orders", "billing")
BILLING_EXPORT_ID = f"{BILLING_SNAPSHOT}-us-west-2"
EXPORT_ORDERS = f"export us-west-2/{SAMPLE_SNAPSHOT}"
EXPORT_BILLING = f"export us-west-2/{BILLING_SNAPSHOT}"
NOTHING_WAITING = {"free": 5, "started": [], "waiting": 0}


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

    # Both databases' copies are available (moto): the fill exports both, oldest first.
    assert result["exports"]["free"] == 5
    assert sorted(result["exports"]["started"]) == [EXPORT_BILLING, EXPORT_ORDERS]
    assert result["exports"]["waiting"] == 0
    assert len(calls.of("StartExportTask")) == 2
    [(region, params)] = [
        c for c in calls.of("StartExportTask") if c[1]["ExportTaskIdentifier"] == EXPORT_ID
    ]
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
        export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)["exports"]
        for _ in range(2)
    ]

    assert again == [NOTHING_WAITING, NOTHING_WAITING]
    assert exports(aws, settings) == [BILLING_EXPORT_ID, EXPORT_ID]


def test_given_a_failed_export_when_the_event_is_duplicated_then_no_new_attempt(settings, aws):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "S3 bucket access denied")

    result = export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)

    assert result == {"exports": NOTHING_WAITING}  # a failed attempt is not waiting
    assert exports(aws, settings) == [BILLING_EXPORT_ID, EXPORT_ID]


def test_given_a_failed_export_when_the_event_is_replayed_then_a_suffixed_attempt_starts(
    settings, aws
):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "S3 bucket access denied")

    replayed = rds_event("RDS-EVENT-0060", "us-west-2", **{"replay-name": "after-fix"})
    result = export_snapshot.handler(replayed, CONTEXT)
    again = export_snapshot.handler(replayed, CONTEXT)

    assert result == {"exports": {"free": 5, "started": [EXPORT_ORDERS], "waiting": 0}}
    assert again == {"exports": NOTHING_WAITING}  # the a2 attempt exists and has not failed
    assert exports(aws, settings) == [BILLING_EXPORT_ID, EXPORT_ID, f"{EXPORT_ID}-a2"]


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


def test_given_too_many_exports_in_flight_when_exporting_then_it_waits_without_an_error(
    settings, aws, monkeypatch
):
    from botocore.exceptions import ClientError

    snapshot_and_copy()

    def limit(**_):
        raise ClientError(
            {"Error": {"Code": "ExportTaskLimitReachedFault", "Message": "5"}}, "StartExportTask"
        )

    monkeypatch.setattr(aws.rds(settings.target_region), "start_export_task", limit)

    result = export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)

    # Refused for the account's limit: the fill stops, both exports stay waiting.
    assert result == {"exports": {"free": 5, "started": [], "waiting": 2, "refused": 1}}
    assert exports(aws, settings) == []
