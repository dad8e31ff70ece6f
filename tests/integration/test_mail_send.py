"""mail.send on moto: one HTML + text message; SES faults are raised, not swallowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ses.models import ses_backends

from rds_backup.mail import Email, render_failure, send
from rds_backup.model.report import FailureReport

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
SENDER = "backups@example.com"
RECIPIENTS = ["dba@example.com", "oncall@example.com"]


@pytest.fixture
def ses() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("ses", region_name=REGION)


def sent_messages() -> list[object]:
    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def a_failure_email() -> Email:
    return render_failure(
        FailureReport(
            stack="rds-backup",
            step="export",
            cause="IamRoleMissingPermissions: the role cannot write to backups-fra",
            error_time=datetime(2026, 11, 25, 3, 21, 4, tzinfo=UTC),
            remedy="",
            database="orders",
            snapshot_id="rds-backup-orders-20261125-0300",
            run="20261125-0300",
            region="eu-central-1",
            code="IamRoleMissingPermissions",
        )
    )


def test_given_a_verified_sender_when_an_email_is_sent_then_ses_has_it_with_subject_and_body(ses):
    ses.verify_email_identity(EmailAddress=SENDER)
    email = a_failure_email()

    message_id = send(ses, SENDER, RECIPIENTS, email)

    [message] = sent_messages()
    assert message.id == message_id
    assert message.source == SENDER
    assert message.subject == email.subject
    assert message.destinations["ToAddresses"] == RECIPIENTS
    assert message.body == email.html  # moto keeps the HTML part when both are given
    assert "rds-backup-orders-20261125-0300" in message.body
    assert "rds-backup replay --stack" in message.body


def test_given_a_non_ascii_subject_when_sent_then_it_arrives_intact(ses):
    ses.verify_email_identity(EmailAddress=SENDER)
    email = Email(
        subject="[rds-backup] ✅ café backed up — 20261125-0300", html="<p>é</p>", text="é"
    )

    send(ses, SENDER, ["dba@example.com"], email)

    [message] = sent_messages()
    assert message.subject == email.subject
    assert message.body == "<p>é</p>"


def test_given_an_unverified_sender_when_an_email_is_sent_then_message_rejected_is_raised(ses):
    with pytest.raises(ClientError) as raised:
        send(ses, "nobody@example.com", RECIPIENTS, a_failure_email())

    assert raised.value.response["Error"]["Code"] == "MessageRejected"
    assert sent_messages() == []


def test_given_no_recipients_when_an_email_is_sent_then_it_is_refused_before_calling_ses(ses):
    ses.verify_email_identity(EmailAddress=SENDER)

    with pytest.raises(ValueError, match="recipient"):
        send(ses, SENDER, [], a_failure_email())

    assert sent_messages() == []
