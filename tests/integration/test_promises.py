"""Promises under adversarial input (issue 12): one email per run outcome on every path,
any failure record reaches a person, times without a zone, nothing changed before the
whole configuration is valid."""

from __future__ import annotations

import copy
import uuid

import pytest

from events import load_sample
from events.parse import parse_event
from events.schedule import ScheduledEvent
from handlers import notify
from rds_backup.settings import ConfigError, load_settings
from tests.integration.chain import CONTEXT, snapshot_and_copy
from tests.support import SAMPLE_SNAPSHOT, rds_event, sent_emails


def a_failure(request_id: str | None = None, message: str | None = None) -> dict:
    event = load_sample("lambda-invocation-failure")
    event["id"] = str(uuid.uuid4())
    event["detail"]["requestContext"]["requestId"] = request_id or str(uuid.uuid4())
    if message is not None:
        event["detail"]["responsePayload"]["errorMessage"] = message
    return event


def test_given_one_handler_failure_delivered_by_three_requests_when_notified_then_one_email(
    settings, aws
):
    # given the same failed step of the same run, recorded by three different requests
    outcomes = [notify.handler(a_failure(), CONTEXT)["email"] for _ in range(3)]

    # then one email: keyed by run, database, step and outcome, not by the request
    assert outcomes == ["sent", "already-sent", "already-sent"]
    assert len(sent_emails()) == 1


def test_given_a_persistent_reconcile_fault_when_it_fails_every_hour_then_one_email_a_day(
    settings, aws
):
    # given reconcile failing at 04:00, 05:00 and 06:00 with the same fault
    def reconcile_failure(hour: int) -> dict:
        event = a_failure()
        event["detail"]["requestContext"]["functionArn"] = (
            "arn:aws:lambda:us-east-1:123456789012:function:rds-backup-dev-reconcile:$LATEST"
        )
        scheduled = load_sample("scheduled") | {"time": f"2026-11-25T{hour:02d}:00:00Z"}
        event["detail"]["requestPayload"] = scheduled
        return event

    outcomes = [notify.handler(reconcile_failure(h), CONTEXT)["email"] for h in (4, 5, 6)]
    next_day = notify.handler(
        reconcile_failure(4) | {"time": "2026-11-26T04:05:00Z"}, CONTEXT
    )  # the payload's time is what counts: same day, same key
    assert outcomes == ["sent", "already-sent", "already-sent"]
    assert next_day["email"] == "already-sent"
    assert len(sent_emails()) == 1


def test_given_a_huge_failure_record_when_notified_then_the_email_goes_out_bounded(settings, aws):
    # given a cleanup-style failure listing thousands of deletions (~300 kB)
    cause = "; ".join(
        f"delete rds-backup-db{i}-20261101-0300 failed: Throttling" for i in range(6000)
    )

    # when
    result = notify.handler(a_failure(message=cause), CONTEXT)

    # then a person hears of it; the email shows a bounded part, the logs keep the rest
    assert result["email"] == "sent"
    [email] = sent_emails()
    assert len(email.body) < len(cause)
    assert "truncated" in email.body


@pytest.mark.parametrize("field", ["time", "Date"])
def test_given_an_event_time_without_a_zone_when_parsed_then_it_is_utc(field: str) -> None:
    event = rds_event("RDS-EVENT-0161", "us-west-2")
    if field == "time":
        event["time"] = "2026-11-25T03:06:40"
    else:
        event["detail"]["Date"] = "2026-11-25T03:06:40.412"

    from events.rds import RdsSnapshotEvent

    parsed = parse_event(event, RdsSnapshotEvent)

    assert parsed.time.utcoffset() is not None
    assert parsed.detail.date.utcoffset() is not None


def test_given_a_schedule_without_a_zone_when_parsed_then_it_compares_with_aware_times():
    event = load_sample("scheduled") | {"time": "2026-11-25T03:00:00"}

    parsed = parse_event(event, ScheduledEvent)

    assert parsed.time.isoformat() == "2026-11-25T03:00:00+00:00"


def test_given_notify_without_its_table_when_an_export_completes_then_nothing_is_deleted(
    settings, aws, monkeypatch
):
    # given a run ready to be settled, and notify deployed without IDEMPOTENCY_TABLE
    snapshot_and_copy()
    monkeypatch.delenv("IDEMPOTENCY_TABLE")
    load_settings.cache_clear()

    # when
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TABLE"):
        notify.handler(copy.deepcopy(rds_event("RDS-EVENT-0060", "us-west-2")), CONTEXT)

    # then the source is still there: nothing changed before the configuration was whole
    found = aws.rds(settings.source_region).describe_db_snapshots(
        DBSnapshotIdentifier=SAMPLE_SNAPSHOT
    )["DBSnapshots"]
    assert len(found) == 1
    assert sent_emails() == []


def test_given_one_run_failing_when_reconciled_then_the_others_settle_and_it_gets_its_own_email(
    settings, aws
):
    # given two runs whose ending events were all lost, and one source that cannot be
    # deleted (a permission taken away for one snapshot)
    from datetime import UTC, datetime

    from botocore.awsrequest import AWSResponse

    from handlers import copy_snapshot, export_snapshot, start_backup
    from rds_backup.steps.reconcile import reconcile

    start_backup.handler(load_sample("scheduled"), CONTEXT)
    copy_snapshot.handler(rds_event("RDS-EVENT-0042", "us-east-1"), CONTEXT)
    export_snapshot.handler(rds_event("RDS-EVENT-0060", "us-west-2"), CONTEXT)
    broken = SAMPLE_SNAPSHOT.replace("orders", "billing")

    def deny(params, **_):
        if params["body"].get("DBSnapshotIdentifier") == broken:
            error = {"Error": {"Code": "AccessDenied", "Message": "not allowed (injected)"}}
            return AWSResponse("https://rds.local", 403, {}, None), error
        return None

    aws.rds(settings.source_region).meta.events.register("before-call.rds.DeleteDBSnapshot", deny)
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)

    # when two passes run
    first = reconcile(settings, aws, now)
    second = reconcile(settings, aws, now.replace(hour=5))

    # then the pass does not fail; orders is settled; billing has its own failure email, once
    actions = [(a["snapshot"], a["action"]) for a in first.actions]
    assert (SAMPLE_SNAPSHOT, "settled") in actions
    assert (broken, "reported failure") in actions
    subjects = sorted(email.subject for email in sent_emails())
    assert len(subjects) == 2
    assert any("orders" in s and "backed up" in s for s in subjects)
    assert any("billing" in s and "FAILED" in s for s in subjects)
    assert next(a for a in second.actions if a["action"] == "reported failure")["email"] == (
        "already-sent"
    )


def test_given_a_finished_run_without_its_source_when_its_start_comes_late_then_nothing_is_new(
    settings, aws
):
    # given a run that finished: its source released by notify, only the copy remains
    from handlers import start_backup

    snapshot_and_copy()
    aws.rds(settings.source_region).delete_db_snapshot(DBSnapshotIdentifier=SAMPLE_SNAPSHOT)

    # when the same schedule event comes again (late delivery, or a replay of its window)
    result = start_backup.handler(load_sample("scheduled"), CONTEXT)

    # then the run is recognised from its copy: no CreateDBSnapshot, no orphan source
    assert result["created"] == []
    assert SAMPLE_SNAPSHOT in result["existing"]
    sources = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    assert SAMPLE_SNAPSHOT not in {s["DBSnapshotIdentifier"] for s in sources["DBSnapshots"]}


def test_given_the_longest_step_deadline_when_a_copy_hangs_then_reconcile_still_reports_it(
    settings, aws, monkeypatch
):
    # given STEP_DEADLINE_HOURS=72 (its maximum) and a copy that never finishes
    from datetime import UTC, datetime, timedelta

    from handlers import copy_snapshot, start_backup
    from rds_backup.steps.reconcile import reconcile
    from tests.support import backend, set_snapshot_status

    monkeypatch.setenv("STEP_DEADLINE_HOURS", "72")
    load_settings.cache_clear()
    settings = load_settings()
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    copy_snapshot.handler(rds_event("RDS-EVENT-0042", "us-east-1"), CONTEXT)
    set_snapshot_status("us-west-2", SAMPLE_SNAPSHOT, "copying")
    created = datetime(2026, 11, 25, 3, 25, tzinfo=UTC)  # the copy began with the run
    backend("us-west-2").database_snapshots[SAMPLE_SNAPSHOT].created = created

    # when reconcile runs just past the deadline
    result = reconcile(settings, aws, created + timedelta(hours=73))

    # then the look-back covered it: reported stuck, once
    stuck = [a for a in result.actions if a["action"] == "reported stuck"]
    assert [(a["snapshot"], a["step"]) for a in stuck] == [(SAMPLE_SNAPSHOT, "copy")]
