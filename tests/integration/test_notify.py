"""notify on moto: one email per run outcome, read back from SES; source released safely."""

from __future__ import annotations

import threading

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from events import load_sample
from handlers import copy_snapshot, notify
from rds_backup.local.seed import WorldSpec
from tests.integration.chain import CONTEXT, through_export
from tests.support import (
    SAMPLE_SNAPSHOT,
    CallRecorder,
    atomic_moto,
    fail_export,
    failure_record,
    rds_event,
    sent_emails,
)

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"
COMPLETED = "RDS-EVENT-0161"


def source_snapshots(aws, settings):
    found = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    return [s["DBSnapshotIdentifier"] for s in found["DBSnapshots"]]


def test_given_the_target_export_completed_when_notified_then_one_success_email_names_locations(
    settings, aws
):
    through_export()

    result = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert result["email"] == "sent"
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["dba@example.com"]
    assert email.source == "rds-backup@example.com"
    assert "orders" in email.subject
    assert f"s3://{settings.target_bucket}/rds-backup/{EXPORT_ID}/" in email.body
    assert SAMPLE_SNAPSHOT in email.body


@pytest.mark.parametrize("spec", [WorldSpec(store_to_source_s3=True)])
def test_given_both_exports_when_only_one_completed_then_no_email_until_both(settings, aws, spec):
    through_export()  # with STORE_TO_SOURCE_S3 copy_snapshot also started the source export
    source_export = f"{SAMPLE_SNAPSHOT}-us-east-1"
    fail_export("us-east-1", source_export, "", status="in_progress")

    first = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)
    fail_export("us-east-1", source_export, "", status="complete")
    second = notify.handler(rds_event(COMPLETED, "us-east-1"), CONTEXT)

    assert first["outcome"] == "pending"
    assert "email" not in first
    assert second["email"] == "sent"
    [email] = sent_emails()
    assert f"s3://{settings.target_bucket}/rds-backup/{EXPORT_ID}/" in email.body
    assert f"s3://{settings.source_bucket}/rds-backup/{source_export}/" in email.body


def test_given_the_completion_event_three_times_when_notified_then_one_email(settings, aws):
    through_export()

    results = [
        notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)["email"] for _ in range(3)
    ]

    assert results == ["sent", "already-sent", "already-sent"]
    assert len(sent_emails()) == 1


def test_given_the_completion_event_from_two_threads_at_once_when_notified_then_one_email(
    settings, aws, monkeypatch
):
    from moto.dynamodb.models import DynamoDBBackend

    atomic_moto(monkeypatch, DynamoDBBackend, "put_item", "update_item", "delete_item")
    through_export()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def deliver() -> None:
        barrier.wait()
        try:
            outcomes.append(
                notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)["email"]
            )
        except IdempotencyAlreadyInProgressError:
            outcomes.append("in-progress: Lambda retries later")

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    retried = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)["email"]

    assert len(sent_emails()) == 1
    assert outcomes.count("sent") == 1
    assert retried == "already-sent"


def test_given_a_failed_export_when_notified_then_a_failure_email_carries_the_cause(settings, aws):
    through_export()
    fail_export("us-west-2", EXPORT_ID, "The IAM role rds-s3-export cannot write to the bucket")

    result = notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)
    notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)

    assert result["outcome"] == "failed"
    [email] = sent_emails()
    assert "FAILED" in email.subject
    assert "cannot write to the bucket" in email.body
    assert "export" in email.body
    assert SAMPLE_SNAPSHOT in email.body


def test_given_a_failure_then_a_fixed_replay_when_completed_then_one_failure_and_one_success(
    settings, aws
):
    from handlers import export_snapshot

    through_export()
    fail_export("us-west-2", EXPORT_ID, "bucket policy denies the export role")
    notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)

    replay = {"replay-name": "after-bucket-fix"}
    export_snapshot.handler(rds_event("RDS-EVENT-0060", "us-west-2", **replay), CONTEXT)
    notify.handler(rds_event("RDS-EVENT-0159", "us-west-2", **replay), CONTEXT)  # stale event
    notify.handler(rds_event(COMPLETED, "us-west-2", **replay), CONTEXT)

    subjects = [email.subject for email in sent_emails()]
    assert len(subjects) == 2
    assert "FAILED" in subjects[0]
    assert "backed up" in subjects[1]


def test_given_keep_source_false_when_the_copy_is_available_then_the_source_is_deleted(
    settings, aws
):
    through_export()

    result = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert result["source_released"] is True
    assert source_snapshots(aws, settings) == ["rds-backup-billing-20261125-0300"]
    [email] = sent_emails()
    assert "deleted" in email.body.lower()


@pytest.mark.parametrize("spec", [WorldSpec(keep_source_snapshot=True)])
def test_given_keep_source_true_when_notified_then_the_source_stays(settings, aws, spec):
    through_export()

    result = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert result["source_released"] is False
    assert SAMPLE_SNAPSHOT in source_snapshots(aws, settings)


@pytest.mark.parametrize("spec", [WorldSpec(store_to_source_s3=True)])
def test_given_the_source_export_in_flight_when_target_completes_then_the_source_is_kept(
    settings, aws, spec
):
    through_export()
    fail_export("us-east-1", f"{SAMPLE_SNAPSHOT}-us-east-1", "", status="in_progress")

    result = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert result["source_released"] is False
    assert SAMPLE_SNAPSHOT in source_snapshots(aws, settings)


def test_given_a_copy_canceled_event_without_a_copy_when_notified_then_a_failure_email(
    settings, aws
):
    from handlers import start_backup

    start_backup.handler(load_sample("scheduled"), CONTEXT)

    result = notify.handler(load_sample("rds-0061-copy-canceled"), CONTEXT)
    notify.handler(load_sample("rds-0061-copy-canceled"), CONTEXT)

    assert result["email"] == "sent"
    [email] = sent_emails()
    assert "copy" in email.subject
    assert SAMPLE_SNAPSHOT in source_snapshots(aws, settings)  # kept: the copy never came


@pytest.mark.parametrize(
    "sample", ["lambda-invocation-failure", "lambda-invocation-failure-aws-source"]
)
def test_given_a_handler_failure_event_when_notified_then_one_failure_email_with_the_fix(
    settings, aws, sample
):
    # Both sources Lambda is documented to put on the bus: "lambda" and "aws.lambda".
    event = load_sample(sample)

    first = notify.handler(event, CONTEXT)
    again = notify.handler(event, CONTEXT)

    assert (first["email"], again["email"]) == ("sent", "already-sent")
    [email] = sent_emails()
    assert "copy_snapshot" in email.subject
    assert "KMSKeyNotAccessibleFault" in email.body
    assert "key policy" in email.body
    assert SAMPLE_SNAPSHOT in email.body


def test_given_a_foreign_snapshot_export_event_when_notified_then_nothing_is_sent(settings, aws):
    event = rds_event(COMPLETED, "us-west-2", snapshot="rds-backup-orders-20261101-0300")

    assert notify.handler(event, CONTEXT) == {"skipped": "not ours or gone"}
    assert sent_emails() == []


def test_given_ses_rejects_the_sender_when_notified_then_the_error_is_raised_and_retry_sends(
    settings, aws, monkeypatch
):
    from rds_backup.errors import StepFailed

    through_export()
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")
    notify.load_settings.cache_clear()

    with pytest.raises(StepFailed, match="MessageRejected"):
        notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    monkeypatch.setenv("SENDER_EMAIL", "rds-backup@example.com")
    notify.load_settings.cache_clear()
    assert notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)["email"] == "sent"
    assert len(sent_emails()) == 1


def test_given_an_unrelated_event_when_sent_to_copy_then_the_chain_ignores_it(settings, aws):
    assert copy_snapshot.handler(load_sample("rds-0161-export-completed"), CONTEXT) == {
        "skipped": "export-completed"
    }


@pytest.mark.parametrize("code", ["SnapshotQuotaExceeded", "ExportTaskLimitReachedFault"])
def test_given_a_quota_failure_of_a_step_reconcile_redrives_when_notified_then_no_email_yet(
    settings, aws, code
):
    event = load_sample("lambda-invocation-failure")
    event["detail"]["responsePayload"]["errorMessage"] = failure_record("copy", code, "too many")

    result = notify.handler(event, CONTEXT)

    assert result == {"deferred": code}
    assert sent_emails() == []


def test_given_an_ses_configuration_set_when_notified_then_the_email_is_sent_with_it(
    settings, aws, monkeypatch
):
    # given: SES_CONFIGURATION_SET names a configuration set that exists in SES
    aws.ses(settings.source_region).create_configuration_set(
        ConfigurationSet={"Name": "rds-backup-events"}
    )
    monkeypatch.setenv("SES_CONFIGURATION_SET", "rds-backup-events")
    notify.load_settings.cache_clear()
    calls = CallRecorder().attach(aws, "ses", settings.source_region)
    through_export()

    # when
    result = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    # then: SendEmail carried it (IAM grants configuration-set/<name>, notify.yml)
    assert result["email"] == "sent"
    [(_, params)] = calls.of("SendEmail")
    assert params["ConfigurationSetName"] == "rds-backup-events"


def test_given_no_configuration_set_when_notified_then_none_is_passed(settings, aws):
    calls = CallRecorder().attach(aws, "ses", settings.source_region)
    through_export()

    notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    [(_, params)] = calls.of("SendEmail")
    assert "ConfigurationSetName" not in params
