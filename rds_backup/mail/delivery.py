"""Exactly one email per outcome (docs/ARCHITECTURE.md, principle 2), the way NOTIFY_MODE asks.

Exactly-once rests on powertools idempotency on DynamoDB: the outcome key (snapshot +
outcome, or a failure's run, step and code: rds_backup/outcomes/keys.py) is claimed with a
conditional write before the email is sent. A concurrent duplicate finds the claim in
progress and raises (Lambda retries it later, then sees it completed); a failed send
releases the claim, so the retry sends. Plain "conditional put, then send" would lose the
email when SES fails after the claim.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import ClientError

from rds_backup.aws import Aws
from rds_backup.errors import step_failed
from rds_backup.mail import digest
from rds_backup.mail.render import render, send
from rds_backup.model.report import (
    DigestReport,
    DrillReport,
    FailureReport,
    NoticeReport,
    SuccessReport,
)
from rds_backup.observability import count, logger
from rds_backup.settings import ConfigError, Settings

STEP = "notify"
# Longer than any archive replay window, so a replay never re-sends an email.
CLAIM_DAYS = 400


def deliver(
    settings: Settings,
    aws: Aws,
    key: str,
    report: SuccessReport | FailureReport | DrillReport,
    context: Any = None,
) -> str:
    """Tell one outcome the way NOTIFY_MODE asks: on its own (per-database), in the run's
    digest (digest; rds_backup/mail/digest.py), or only when it is a failure (failures).
    Outcomes that belong to no run (cleanup, a reconcile pass, a restore drill) are told at
    once."""

    def send_now(claim: str, email: SuccessReport | FailureReport | DigestReport) -> str:
        return send_once(settings, aws, claim, email, context)

    good = isinstance(report, SuccessReport) or (isinstance(report, DrillReport) and report.passed)
    if settings.notify_mode == "failures" and good:
        logger.info("success not emailed (NOTIFY_MODE=failures)", key=key)
        return "not-emailed"
    if isinstance(report, DrillReport):
        return send_once(settings, aws, key, report, context)
    if digest.enabled(settings) and report.run and report.database:
        return digest.record(settings, aws, key, report, send_now)
    return send_now(key, report)


def require_idempotency_table(settings: Settings) -> str:
    """Checked before anything is changed: without the table no email can be sent once, and
    a handler must not delete a source and then fail for want of it."""
    if not settings.idempotency_table:
        raise ConfigError(["IDEMPOTENCY_TABLE: required by notify to send each email once"])
    return settings.idempotency_table


def send_once(
    settings: Settings,
    aws: Aws,
    key: str,
    report: SuccessReport | FailureReport | DigestReport | DrillReport | NoticeReport,
    context: Any = None,
) -> str:
    """Render and send the email for ``key`` unless it was already sent."""
    persistence = DynamoDBPersistenceLayer(
        table_name=require_idempotency_table(settings),
        boto3_client=aws.dynamodb(settings.source_region),
    )
    config = IdempotencyConfig(expires_after_seconds=CLAIM_DAYS * 24 * 3600)
    if context is not None:
        # Lets a claim left "in progress" by a timed-out invocation expire with it, so the
        # retry can send; without it the claim would block that email for CLAIM_DAYS.
        config.register_lambda_context(context)
    sent_now: list[str] = []

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="claim",
        persistence_store=persistence,
        config=config,
        key_prefix=f"{settings.stack_name}-email",
    )
    def claimed(claim: dict[str, str]) -> dict[str, str]:
        email = render(report)
        try:
            message_id = send(
                aws.ses(settings.source_region),
                settings.sender,
                settings.admin_emails,
                email,
                configuration_set=settings.ses_configuration_set,
            )
        except ClientError as error:
            raise step_failed(STEP, error, region=settings.source_region) from error
        sent_now.append(message_id)
        return {"message_id": message_id, "subject": email.subject}

    delivered = claimed(claim={"key": key})
    if sent_now:
        outcome = {
            SuccessReport: "success",
            DigestReport: "digest",
            DrillReport: "drill",
            NoticeReport: "notice",
        }.get(type(report), "failure")
        logger.info("email sent", key=key, outcome=outcome, message_id=delivered["message_id"])
        count("EmailSent")
        return "sent"
    logger.info("email already sent for this outcome; nothing to do", key=key)
    return "already-sent"
