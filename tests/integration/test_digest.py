"""NOTIFY_MODE on moto: one digest per run (exactly once under duplicates and replays, or at
the cut-off by reconcile), failures only, exports completed with warnings, and failure
emails that name the database and region."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from events import load_sample
from handlers import copy_snapshot, export_snapshot, notify, start_backup
from rds_backup import clock
from rds_backup.aws import get_aws
from rds_backup.errors import StepFailed
from rds_backup.model.naming import run_time
from rds_backup.settings import load_settings
from rds_backup.steps.reconcile import reconcile
from tests.integration.chain import CONTEXT
from tests.support import (
    backend,
    fail_export,
    failure_record,
    rds_event,
    sent_emails,
    set_snapshot_status,
)

RUN = "20261125-0300"
DATABASES = ("orders", "billing")
COMPLETED = "RDS-EVENT-0161"


def snapshot(database: str) -> str:
    return f"rds-backup-{database}-{RUN}"


@pytest.fixture
def mode(request: pytest.FixtureRequest, world: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NOTIFY_MODE", getattr(request, "param", "digest"))
    load_settings.cache_clear()
    return load_settings()


def chain(database: str) -> None:
    """The snapshot of ``database`` (made by the run's start) copied and exported."""
    copy_snapshot.handler(rds_event("RDS-EVENT-0042", "us-east-1", snapshot(database)), CONTEXT)
    export_snapshot.handler(rds_event("RDS-EVENT-0060", "us-west-2", snapshot(database)), CONTEXT)


def completed(database: str) -> dict:
    return rds_event(COMPLETED, "us-west-2", snapshot(database))


def test_given_digest_mode_when_every_event_comes_three_times_then_one_digest_names_both(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    for database in DATABASES:
        chain(database)

    first = [notify.handler(completed("orders"), CONTEXT)["email"] for _ in range(3)]
    last = [notify.handler(completed("billing"), CONTEXT)["email"] for _ in range(3)]

    assert first == ["recorded"] * 3  # billing has no outcome yet: the digest waits
    assert last == ["sent", "in-digest", "in-digest"]
    [email] = sent_emails()
    assert f"run {RUN}" in email.subject
    assert "2 backed up (2 databases)" in email.subject
    for database in DATABASES:
        assert f">{database}<" in email.body
        assert snapshot(database) in email.body


def test_given_a_sent_digest_when_the_archive_is_replayed_then_nothing_more_is_sent(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    for database in DATABASES:
        chain(database)
        notify.handler(completed(database), CONTEXT)

    # a replay: the start, every chain event and every outcome again
    start_backup.handler({**load_sample("scheduled"), "replay-name": "r1"}, CONTEXT)
    for database in DATABASES:
        chain(database)
        replayed = notify.handler({**completed(database), "replay-name": "r1"}, CONTEXT)
        assert replayed["email"] in {"in-digest", "already-sent"}
    reconcile(load_settings(), get_aws(), run_time(RUN) + timedelta(hours=30))

    assert len(sent_emails()) == 1


def test_given_a_failed_export_in_digest_mode_then_the_digest_lists_it_first_with_a_replay(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    for database in DATABASES:
        chain(database)
    fail_export("us-west-2", f"{snapshot('orders')}-us-west-2", "The role cannot write to S3")

    notify.handler(rds_event("RDS-EVENT-0159", "us-west-2", snapshot("orders")), CONTEXT)
    notify.handler(completed("billing"), CONTEXT)

    [email] = sent_emails()
    assert "1 failed" in email.subject
    assert email.body.index(">orders<") < email.body.index(">billing<")
    assert "The role cannot write to S3" in email.body
    assert "rds-backup replay --stack rds-backup --region us-east-1 --since" in email.body


def orders_done_billing_still_snapshotting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run started; orders is backed up; billing's snapshot is still being created (and
    not yet past its step deadline)."""
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    monkeypatch.setenv("STEP_DEADLINE_HOURS", "72")
    load_settings.cache_clear()
    set_snapshot_status("us-east-1", snapshot("billing"), "creating")
    chain("orders")
    notify.handler(completed("orders"), CONTEXT)


def test_given_a_database_still_running_at_the_cut_off_then_reconcile_sends_the_digest_once(
    mode, monkeypatch
):
    orders_done_billing_still_snapshotting(monkeypatch)
    settings, aws = load_settings(), get_aws()

    before = reconcile(settings, aws, run_time(RUN) + timedelta(hours=2))
    after = [reconcile(settings, aws, run_time(RUN) + timedelta(hours=hours)) for hours in (21, 22)]

    assert not [a for a in before.actions if a["action"] == "digest"]
    assert [a for a in after[0].actions if a["action"] == "digest"] == [
        {"snapshot": RUN, "action": "digest", "email": "sent"}
    ]
    assert not [a for a in after[1].actions if a["action"] == "digest"]
    [email] = sent_emails()
    assert "1 still running" in email.subject
    assert "DIGEST_CUTOFF_HOURS=20" in email.body


def test_given_a_database_ending_after_its_cut_off_digest_then_it_is_told_on_its_own(
    mode, monkeypatch
):
    orders_done_billing_still_snapshotting(monkeypatch)
    reconcile(load_settings(), get_aws(), run_time(RUN) + timedelta(hours=21))

    set_snapshot_status("us-east-1", snapshot("billing"), "available")
    chain("billing")
    late = [notify.handler(completed("billing"), CONTEXT)["email"] for _ in range(2)]

    assert late == ["sent", "already-sent"]
    digest, billing = sent_emails()
    assert "still running" in digest.subject
    assert "billing backed up" in billing.subject


@pytest.mark.parametrize("mode", ["failures"], indirect=True)
def test_given_failures_mode_when_a_run_succeeds_then_no_email_but_a_failure_is_sent(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    for database in DATABASES:
        chain(database)
    fail_export("us-west-2", f"{snapshot('billing')}-us-west-2", "KMS key disabled")

    succeeded = notify.handler(completed("orders"), CONTEXT)
    failed = notify.handler(rds_event("RDS-EVENT-0159", "us-west-2", snapshot("billing")), CONTEXT)

    assert succeeded["outcome"] == "succeeded"
    assert succeeded["email"] == "not-emailed"
    assert failed["email"] == "sent"
    [email] = sent_emails()
    assert "billing backup FAILED at export" in email.subject


@pytest.mark.parametrize("mode", ["per-database"], indirect=True)
def test_given_an_export_complete_with_tables_left_out_then_the_email_names_them(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    chain("orders")
    export = f"{snapshot('orders')}-us-west-2"
    task = backend("us-west-2").export_tasks[export]
    task.warning_message = "1 table was not exported"
    get_aws().s3("us-west-2").put_object(
        Bucket="acme-rds-backup-usw2",
        Key=f"rds-backup/{export}/export_tables_info_{export}_from_1_to_2.json",
        Body=json.dumps(
            {
                "perTableStatus": [
                    {"target": "postgres.public.orders", "status": "COMPLETE"},
                    {
                        "target": "postgres.audit.logins",
                        "status": "SKIPPED",
                        "warningMessage": "PERMISSIONS_DO_NOT_EXIST",
                    },
                ]
            }
        ).encode(),
    )

    result = notify.handler(completed("orders"), CONTEXT)

    assert result["outcome"] == "exported with warnings"
    [email] = sent_emails()
    assert "orders exported with warnings" in email.subject
    assert "postgres.audit.logins" in email.body
    assert "PERMISSIONS_DO_NOT_EXIST" in email.body
    assert "postgres.public.orders" not in email.body  # exported: not a problem


@pytest.mark.parametrize("mode", ["per-database"], indirect=True)
def test_given_a_success_then_the_email_has_size_retention_links_and_the_restore_command(mode):
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    chain("orders")

    notify.handler(completed("orders"), CONTEXT)

    [email] = sent_emails()
    assert "20 GiB allocated" in email.body
    assert "Kept until" in email.body
    assert "RETENTION_DAYS=15" in email.body
    console = "https://us-west-2.console.aws.amazon.com/rds/home?region=us-west-2"
    assert f"{console}#db-snapshot:id={snapshot('orders')}" in email.body
    assert (
        "aws rds restore-db-instance-from-db-snapshot --region us-west-2 "
        f"--db-snapshot-identifier {snapshot('orders')} --db-instance-identifier orders-restored"
    ) in email.body


def test_given_a_start_failure_naming_databases_then_each_is_a_failed_line_and_named(
    mode, monkeypatch
):
    clock_now = run_time(RUN) + timedelta(minutes=10)
    monkeypatch.setattr(clock, "now", lambda: clock_now)
    start_backup.handler(load_sample("scheduled"), CONTEXT)  # opens the run: orders, billing
    event = load_sample("lambda-invocation-failure")
    detail = event["detail"]
    detail["requestContext"]["functionArn"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:rds-backup-dev-start_backup:$LATEST"
    )
    detail["requestPayload"] = load_sample("scheduled")
    not_available = StepFailed(
        "snapshot",
        "Instance is not available",
        database="orders",
        snapshot="rds-backup-orders-20261125-0300",
        region="us-east-1",
        code="InvalidDBInstanceState",
    )
    billing = StepFailed("snapshot", "Instance is not available", database="billing")
    detail["responsePayload"]["errorMessage"] = failure_record(
        "snapshot",
        "InvalidDBInstanceState",
        str(not_available),
        database="orders,billing",
        parts=[not_available, billing],
    )

    results = [notify.handler(event, CONTEXT)["email"] for _ in range(2)]

    assert results == ["sent", "in-digest"]
    [email] = sent_emails()
    assert "2 failed" in email.subject
    assert "us-east-1" in email.body
    assert "not named by the failure" not in email.body
