"""reconcile on moto: chains whose RDS event was lost are finished once; stuck ones reported."""

from __future__ import annotations

import pytest

from events import load_sample
from handlers import notify, reconcile
from rds_backup.local.seed import WorldSpec
from tests.integration.chain import CONTEXT, snapshot_and_copy, through_export
from tests.support import SAMPLE_SNAPSHOT, fail_export, sent_emails

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"
COPY_LABEL = f"copy us-east-1/{SAMPLE_SNAPSHOT}"
EXPORT_LABEL = f"export us-west-2/{SAMPLE_SNAPSHOT}"


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


def test_given_the_snapshot_created_event_was_lost_when_reconciled_then_the_copy_starts_once(
    settings, aws
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)  # 0042 never arrives

    first = reconcile.handler(hourly("2026-11-25T03:10:00Z"), CONTEXT)
    second = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)

    # An available source without a copy is a waiting copy: started as soon as a slot is free.
    assert first["actions"] == [
        {"snapshot": COPY_LABEL, "action": "started from the queue", "free": "20"}
    ]
    # The next pass starts no second copy; the copy (available at once in moto) is now a
    # waiting export, which it starts.
    assert second["actions"] == [
        {"snapshot": EXPORT_LABEL, "action": "started from the queue", "free": "5"}
    ]
    assert copies(aws, settings) == [SAMPLE_SNAPSHOT]
    assert sent_emails() == []


def test_given_the_copy_finished_event_was_lost_when_reconciled_then_the_export_starts(
    settings, aws
):
    snapshot_and_copy()  # 0060 never arrives

    result = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)

    assert {
        "snapshot": EXPORT_LABEL,
        "action": "started from the queue",
        "free": "5",
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

    # moto gives no TaskStartTime: the deadline counts from the run (2026-11-25 03:00).
    # Past STEP_DEADLINE_HOURS (12) but within EXPORT_DEADLINE_HOURS (48): not stuck.
    before = [
        reconcile.handler(hourly(at), CONTEXT)
        for at in ("2026-11-25T16:00:00Z", "2026-11-27T02:00:00Z")
    ]
    after = reconcile.handler(hourly("2026-11-27T04:00:00Z"), CONTEXT)
    reconcile.handler(hourly("2026-11-27T05:00:00Z"), CONTEXT)

    assert not any(a["action"] == "reported stuck" for r in before for a in r["actions"])
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

    # Too old to be reported or settled (cleanup's business); but a waiting step is never
    # dropped: its export starts from the queue.
    assert result["actions"] == [
        {"snapshot": EXPORT_LABEL, "action": "started from the queue", "free": "5"}
    ]
    assert exports(aws, settings) == [EXPORT_ID]
    assert sent_emails() == []


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
        {"snapshot": "copy", "action": "waiting for a slot", "waiting": "1"}
    ]
    assert result["failed"] == []
    assert copies(aws, settings) == []
    assert sent_emails() == []


def test_given_the_copy_quota_stays_full_past_the_deadline_when_reconciled_then_it_still_waits(
    settings, aws, monkeypatch
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)
    quota_on_copy(aws, settings, monkeypatch)

    past = [
        reconcile.handler(hourly(at), CONTEXT)
        for at in ("2026-11-25T16:00:00Z", "2026-11-25T17:00:00Z")
    ]
    monkeypatch.delattr(aws.rds(settings.target_region), "copy_db_snapshot")  # limit drains
    freed = reconcile.handler(hourly("2026-11-25T18:00:00Z"), CONTEXT)

    # A copy waiting for a slot is never reported stuck (no email) and never dropped.
    waiting = {"snapshot": "copy", "action": "waiting for a slot", "waiting": "1"}
    assert [r["actions"] for r in past] == [[waiting], [waiting]]
    assert sent_emails() == []
    assert freed["actions"] == [
        {"snapshot": COPY_LABEL, "action": "started from the queue", "free": "20"}
    ]
    assert copies(aws, settings) == [SAMPLE_SNAPSHOT]
