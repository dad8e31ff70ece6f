"""The remedy a person reads is the catalogue's (rds_backup/model/remedies.py), worded with the
stack's settings: a step's failure travels as data to notify, which emails it (SES, read back).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from events import load_sample
from handlers import export_snapshot, notify, start_backup
from rds_backup.errors import StepFailed
from rds_backup.local.seed import ACCOUNT
from tests.integration.chain import CONTEXT, snapshot_and_copy
from tests.support import fail_export, rds_event, sent_emails

UNKNOWN = "No remedy is catalogued"


def failed_invocation(function: str, error: StepFailed, payload: dict[str, Any]) -> dict[str, Any]:
    """What Lambda's on-failure destination puts on the bus once ``function`` gave up with
    ``error`` (its text is the record rds_backup.errors.reported leaves)."""
    event = load_sample("lambda-invocation-failure")
    event["detail"]["requestPayload"] = payload
    event["detail"]["requestContext"]["functionArn"] = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rds-backup-{function}:$LATEST"
    )
    event["detail"]["responsePayload"] = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
    }
    return event


def refuse(aws: Any, region: str, operation: str, code: str, message: str) -> None:
    def hook(**_: Any) -> Any:
        return AWSResponse("https://rds.local", 400, {}, None), {
            "Error": {"Code": code, "Message": message}
        }

    aws.rds(region).meta.events.register(f"before-call.rds.{operation}", hook)


def test_given_a_configured_database_that_does_not_exist_when_its_failure_is_emailed_then_db_identifier_and_the_selection_are_named(  # noqa: E501
    aws, monkeypatch
):
    monkeypatch.setenv("DB_IDENTIFIER", "orders,ghost,billing")
    start_backup.load_settings.cache_clear()
    notify.load_settings.cache_clear()
    scheduled = load_sample("scheduled")
    with pytest.raises(StepFailed) as raised:
        start_backup.handler(scheduled, CONTEXT)

    notify.handler(failed_invocation("start_backup", raised.value, scheduled), CONTEXT)

    [email] = sent_emails()
    assert "ghost" in email.subject
    assert "DatabaseNotFound" in email.body
    assert "Correct DB_IDENTIFIER" in email.body
    assert "DB_IDENTIFIER=orders,ghost,billing" in email.body
    assert UNKNOWN not in email.body


def test_given_the_target_bucket_is_missing_when_the_export_failure_is_emailed_then_the_bucket_setting_is_named(  # noqa: E501
    settings, aws
):
    snapshot_and_copy()
    refuse(
        aws,
        settings.target_region,
        "StartExportTask",
        "InvalidS3BucketFault",
        "The specified S3 bucket does not exist",
    )
    copied = rds_event("RDS-EVENT-0060", settings.target_region)
    with pytest.raises(StepFailed) as raised:
        export_snapshot.handler(copied, CONTEXT)
    record = json.loads(str(raised.value))
    assert record["operation"] == "StartExportTask"  # the call travels as data

    notify.handler(failed_invocation("export_snapshot", raised.value, copied), CONTEXT)

    [email] = sent_emails()
    assert "InvalidS3BucketFault" in email.body
    assert f"TARGET_BUCKET={settings.target_bucket}" in email.body
    assert UNKNOWN not in email.body


def test_given_an_export_task_failed_on_permissions_when_emailed_then_the_role_and_all_five_s3_actions_are_named(  # noqa: E501
    settings, aws
):
    snapshot_and_copy()
    export_snapshot.handler(rds_event("RDS-EVENT-0060", settings.target_region), CONTEXT)
    export_id = f"{load_sample('rds-0042-snapshot-created')['detail']['SourceIdentifier']}"
    fail_export(
        settings.target_region,
        f"{export_id}-{settings.target_region}",
        "The IAM role doesn't have the required permissions: s3:PutObject",
    )

    notify.handler(rds_event("RDS-EVENT-0159", settings.target_region), CONTEXT)

    [email] = sent_emails()
    assert f"EXPORT_ROLE_ARN={settings.export_role_arn}" in email.body
    # the five S3 actions StartExportTask's IamRoleArn needs (RDS API Reference)
    for action in ("s3:PutObject*", "s3:GetObject*", "s3:ListBucket", "s3:DeleteObject*"):
        assert action in email.body
    assert "s3:GetBucketLocation" in email.body
    assert UNKNOWN not in email.body
