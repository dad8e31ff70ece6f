"""A failure email says whether the database can be restored now (docs/ARCHITECTURE.md,
principle 9): a failed export leaves its copy restorable, and the email and the digest say
so, with the restore command; a database with no copy at all says that instead."""

from __future__ import annotations

import json

from events import load_sample
from handlers import notify
from rds_backup.settings import load_settings
from tests.integration.chain import CONTEXT, through_export
from tests.support import SAMPLE_SNAPSHOT, fail_export, failure_record, sent_emails

EXPORT_ID = f"{SAMPLE_SNAPSHOT}-us-west-2"


def test_given_a_failed_export_with_its_copy_available_when_told_then_the_copy_is_restorable(
    settings, aws
):
    # given the copy is available in the target region and its export failed
    through_export()
    fail_export("us-west-2", EXPORT_ID, "The IAM role rds-s3-export cannot write to the bucket")

    # when the failure is told
    notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)

    # then the email says the copy restores, and how
    [email] = sent_emails()
    assert "Can it be restored now?" in email.body
    assert f"restorable from {SAMPLE_SNAPSHOT} (us-west-2" in email.body
    assert "rds-backup restore --stack" in email.body
    assert f"--snapshot {SAMPLE_SNAPSHOT}" in email.body
    assert "never drilled" in email.body


def test_given_a_start_failure_with_no_copy_ever_made_when_told_then_it_says_none_is_restorable(
    settings, aws
):
    # given start_backup failed for orders before any copy existed
    event = load_sample("lambda-invocation-failure")
    event["detail"]["requestContext"]["functionArn"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:rds-backup-dev-start_backup:$LATEST"
    )
    event["detail"]["requestPayload"] = load_sample("scheduled")
    event["detail"]["responsePayload"]["errorMessage"] = failure_record(
        "snapshot", "InvalidDBInstanceState", "Instance is not available", database="orders"
    )

    # when notify tells it
    notify.handler(event, CONTEXT)

    # then the email says there is nothing to restore from yet
    [email] = sent_emails()
    assert "NO restorable copy in us-west-2" in email.body


def test_given_a_digest_of_failed_exports_when_sent_then_it_counts_the_restorable_databases(
    settings, aws, monkeypatch
):
    # given NOTIFY_MODE=digest and one database whose export failed with its copy available
    monkeypatch.setenv("NOTIFY_MODE", "digest")
    monkeypatch.setenv("DB_IDENTIFIER", "orders")
    load_settings.cache_clear()
    through_export()
    fail_export("us-west-2", EXPORT_ID, "bucket policy denies the export role")

    # when the run's only outcome is recorded, the digest goes out
    notify.handler(load_sample("rds-0159-export-failed"), CONTEXT)

    # then it is not "0 backed up" alone: the database is restorable
    [email] = sent_emails()
    assert "1 failed" in email.subject
    assert "1 of 1 restorable" in email.subject
    assert json.dumps(SAMPLE_SNAPSHOT)[1:-1] in email.body
