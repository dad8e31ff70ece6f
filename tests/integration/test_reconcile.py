"""reconcile on moto: chains whose RDS event was lost are finished once; stuck ones reported."""

from __future__ import annotations

import pytest

from events import load_sample
from handlers import notify, reconcile
from rds_backup.local.seed import WorldSpec
from tests.integration.chain import CONTEXT, snapshot_and_copy, through_export
from tests.support import SAMPLE_SNAPSHOT, fail_export, sent_emails

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",))  # one run per test keeps the assertions exact


def hourly(at: str) -> dict:
    return load_sample("scheduled") | {"time": at}


def copies(aws, settings):
    found = aws.rds(settings.target_region).describe_db_snapshots(SnapshotType="manual")
    return sorted(s["DBSnapshotIdentifier"] for s in found["DBSnapshots"])


def exports(aws, settings):
    tasks = aws.rds(settings.target_region).describe_export_tasks()["ExportTasks"]
    return sorted(t["ExportTaskIdentifier"] for t in tasks)


def test_given_the_snapshot_created_event_was_lost_when_reconciled_then_both_copies_start(
    settings, aws
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)  # 0042 never arrives

    early = reconcile.handler(hourly("2026-11-25T03:10:00Z"), CONTEXT)
    late = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)

    assert early["actions"] == []
    assert late["actions"] == [
        {"snapshot": SAMPLE_SNAPSHOT, "action": "copy re-driven", "outcome": "started"}
    ]
    assert copies(aws, settings) == [SAMPLE_SNAPSHOT]


def test_given_the_copy_finished_event_was_lost_when_reconciled_then_the_export_starts(
    settings, aws
):
    snapshot_and_copy()  # 0060 never arrives

    result = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)

    assert {
        "snapshot": SAMPLE_SNAPSHOT,
        "action": "export re-driven",
        "region": "us-west-2",
        "outcome": "started",
    } in result["actions"]
    assert exports(aws, settings) == [EXPORT_ID]


def test_given_the_export_completed_event_was_lost_when_reconciled_then_one_success_email(
    settings, aws
):
    through_export()  # 0161 never arrives

    reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)
    reconcile.handler(hourly("2026-11-25T05:00:00Z"), CONTEXT)
    late_event = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert late_event["email"] == "already-sent"
    [email] = sent_emails()
    assert "backed up" in email.subject


def test_given_an_export_stuck_past_the_deadline_when_reconciled_then_it_is_reported_once(
    settings, aws
):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "", status="in_progress")

    before = reconcile.handler(hourly("2026-11-25T10:00:00Z"), CONTEXT)
    after = reconcile.handler(hourly("2026-11-25T16:00:00Z"), CONTEXT)
    reconcile.handler(hourly("2026-11-25T17:00:00Z"), CONTEXT)

    assert not any(a["action"] == "reported stuck" for a in before["actions"])
    assert {
        "snapshot": SAMPLE_SNAPSHOT,
        "action": "reported stuck",
        "step": "export",
        "email": "sent",
    } in after["actions"]
    [email] = sent_emails()
    assert "FAILED" in email.subject
    assert "export" in email.subject


def test_given_a_finished_failed_run_when_reconciled_then_the_failure_is_not_re_driven(
    settings, aws
):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "bucket policy denies the export role")
    notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)

    reconcile.handler(hourly("2026-11-25T05:00:00Z"), CONTEXT)

    assert exports(aws, settings) == [EXPORT_ID]
    assert len(sent_emails()) == 1


def test_given_runs_older_than_the_window_when_reconciled_then_they_are_left_to_cleanup(
    settings, aws
):
    snapshot_and_copy()

    result = reconcile.handler(hourly("2026-12-05T04:00:00Z"), CONTEXT)

    assert result["actions"] == []
    assert exports(aws, settings) == []


def test_given_a_foreign_snapshot_when_reconciled_then_it_is_never_touched(settings, aws):
    aws.rds(settings.source_region).create_db_snapshot(
        DBInstanceIdentifier="orders", DBSnapshotIdentifier=SAMPLE_SNAPSHOT
    )

    result = reconcile.handler(hourly("2026-11-25T05:00:00Z"), CONTEXT)

    assert result["actions"] == []
    assert copies(aws, settings) == []


@pytest.mark.parametrize("hour", ["04", "05"])
def test_given_a_complete_chain_when_reconciled_then_it_does_nothing(settings, aws, hour):
    through_export()
    notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    result = reconcile.handler(hourly(f"2026-11-25T{hour}:00:00Z"), CONTEXT)

    assert result["actions"] == []
    assert len(sent_emails()) == 1


def quota_on_copy(aws, settings, monkeypatch):
    from botocore.exceptions import ClientError

    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "SnapshotQuotaExceeded", "Message": "20 copies"}}, "CopyDBSnapshot"
        )

    monkeypatch.setattr(aws.rds(settings.target_region), "copy_db_snapshot", refuse)


def test_given_the_copy_quota_is_full_when_reconciled_then_it_waits_without_an_email(
    settings, aws, monkeypatch
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)
    quota_on_copy(aws, settings, monkeypatch)

    result = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)

    assert result["actions"] == [
        {"snapshot": SAMPLE_SNAPSHOT, "action": "deferred", "code": "SnapshotQuotaExceeded"}
    ]
    assert sent_emails() == []


def test_given_the_copy_quota_stays_full_past_the_deadline_when_reconciled_then_one_email(
    settings, aws, monkeypatch
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)
    quota_on_copy(aws, settings, monkeypatch)

    reconcile.handler(hourly("2026-11-25T16:00:00Z"), CONTEXT)
    reconcile.handler(hourly("2026-11-25T17:00:00Z"), CONTEXT)

    [email] = sent_emails()
    assert "copy" in email.subject
    assert "no copy was ever made" in email.body
