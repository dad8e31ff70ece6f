"""NOTIFY_MODE on the local AWS, real handlers end to end: exactly one digest per run under
every event delivered three times and an archive replay; failures only; an export that
completes with tables left out."""

from __future__ import annotations

from rds_backup.local.harness import LocalAws
from tests.e2e.support import handler_errors, run_nightly

DATABASES = ("orders", "billing")


def test_given_digest_mode_and_every_event_three_times_when_replayed_then_one_digest(
    local_aws: LocalAws,
) -> None:
    # given
    local_aws.configure(NOTIFY_MODE="digest")
    local_aws.emulator.knobs.duplicate = 3

    # when
    run = run_nightly(local_aws)
    local_aws.replay()
    local_aws.run_until_quiet()

    # then
    [email] = local_aws.inventory().emails
    assert f"run {run}: 2 backed up (2 databases)" in email.subject
    for database in DATABASES:
        assert f">{database}<" in email.html
    assert handler_errors(local_aws) == []


def test_given_digest_mode_and_a_failed_export_then_the_one_digest_puts_the_failure_first(
    local_aws: LocalAws,
) -> None:
    local_aws.configure(NOTIFY_MODE="digest")
    local_aws.emulator.fail_exports(match="-orders-", region="us-west-2")

    run_nightly(local_aws)

    [email] = local_aws.inventory().emails
    assert "1 failed, 1 backed up" in email.subject
    assert email.html.index(">orders<") < email.html.index(">billing<")
    assert "rds-backup replay --stack rds-backup-dev --region us-east-1" in email.html


def test_given_failures_mode_when_the_night_succeeds_then_no_email_is_sent(
    local_aws: LocalAws,
) -> None:
    local_aws.configure(NOTIFY_MODE="failures")

    run_nightly(local_aws)

    assert local_aws.inventory().emails == ()
    assert handler_errors(local_aws) == []


def test_given_failures_mode_when_one_export_fails_then_only_its_failure_is_sent(
    local_aws: LocalAws,
) -> None:
    local_aws.configure(NOTIFY_MODE="failures")
    local_aws.emulator.fail_exports(match="-billing-", region="us-west-2")

    run_nightly(local_aws)

    [email] = local_aws.inventory().emails
    assert "billing backup FAILED at export" in email.subject


def test_given_an_export_that_leaves_tables_out_then_its_email_says_exported_with_warnings(
    local_aws: LocalAws,
) -> None:
    local_aws.emulator.warn_exports(match="-orders-")

    run_nightly(local_aws)

    emails = {m.subject.split()[2]: m for m in local_aws.inventory().emails}
    assert "orders exported with warnings" in emails["orders"].subject
    assert "postgres.audit.login_events" in emails["orders"].html
    assert "PERMISSIONS_DO_NOT_EXIST" in emails["orders"].html
    assert "billing backed up" in emails["billing"].subject
    assert "TABLES LEFT OUT" not in emails["billing"].html
