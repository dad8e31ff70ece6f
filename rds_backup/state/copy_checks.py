"""Arranging a cluster copy's later check: RDS emits no event when a CopyDBClusterSnapshot
finishes (docs/ARCHITECTURE.md, "AWS facts"; the Aurora User Guide's DB cluster snapshot
events are 0074/0075, 0168/0169, 0162/0163/0164 only), so the step that starts a cluster copy
arranges a **one-time EventBridge Scheduler schedule** (``at(...)``,
``ActionAfterCompletion=DELETE``) whose target puts a "Cluster Copy Check Due" event on the
default bus; check_copy (rds_backup/steps/check_copy.py) looks at the copy then.

Why a schedule and not an SQS delay queue: a delay queue caps at 15 minutes
(``DelaySeconds`` ≤ 900), so an hours-long copy means re-enqueuing a message every 15 minutes
from inside a function, and the check function would need an SQS event source, a queue
policy and a redrive queue of its own; a one-time schedule fires once at any time, delivers
onto the bus like every other fact of the chain (archived, replayable, forwarded through the
same rules, on-failure path and DLQs), deletes itself after it ran, and needs only
``scheduler:CreateSchedule`` on this stack's schedule group plus ``iam:PassRole`` for the
scheduler's role (which may only ``events:PutEvents`` on the default bus).

Idempotent: the schedule's name is derived from the copy and the attempt, so a duplicate
arrangement is ``ConflictException`` (the work done).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from events.copy_finished import CHECK_DUE, SOURCE
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.observability import count, logger
from rds_backup.settings import ConfigError, Settings

STEP = "copy check"
# Delay before check N (1-based); later checks keep the last delay. A small cluster copies
# in minutes, a large one takes hours ("a cross-Region snapshot copy can take hours to
# complete", Aurora User Guide, "Copying a DB cluster snapshot").
BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=20),
    timedelta(minutes=40),
    timedelta(minutes=60),
)
SCHEDULE_NAME_MAX = 64  # EventBridge Scheduler: 1-64 of [0-9a-zA-Z-_.]


def delay(attempt: int) -> timedelta:
    return BACKOFF[min(attempt, len(BACKOFF)) - 1]


def schedule_name(identifier: str, attempt: int) -> str:
    """Derived from the copy and the attempt: a second arrangement of the same check is
    refused by Scheduler (ConflictException), so duplicates arrange nothing new."""
    digest = hashlib.sha256(identifier.lower().encode()).hexdigest()[:8]
    suffix = f"-{digest}-c{attempt}"
    return identifier.lower()[: SCHEDULE_NAME_MAX - len(suffix)].rstrip("-") + suffix


def arrange_check(
    settings: Settings, aws: Aws, copy_arn: str, started: datetime, attempt: int = 1
) -> str:
    """Arrange check ``attempt`` of the cluster copy ``copy_arn``: "arranged", or "exists"
    when that check was already arranged (a duplicate)."""
    if not settings.copy_check_role_arn:
        raise ConfigError(["COPY_CHECK_ROLE_ARN: required to observe cluster copies"])
    identifier = copy_arn.rsplit(":", 1)[-1]
    due = clock.now() + delay(attempt)
    partition = settings.export_role_arn.split(":")[1]
    bus = f"arn:{partition}:events:{settings.source_region}:{settings.account_id}:event-bus/default"
    detail = {"SourceArn": copy_arn, "Started": started.isoformat(), "Attempt": attempt}
    name = schedule_name(identifier, attempt)
    try:
        aws.scheduler(settings.source_region).create_schedule(
            Name=name,
            GroupName=settings.copy_check_group,
            ScheduleExpression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Description=f"rds-backup: check cluster copy {identifier} (check {attempt})",
            Target={
                "Arn": bus,
                "RoleArn": settings.copy_check_role_arn,
                "Input": json.dumps(detail),
                "EventBridgeParameters": {"DetailType": CHECK_DUE, "Source": SOURCE},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
            },
        )
    except ClientError as error:
        if is_code(error, "ConflictException"):
            logger.info("copy check already arranged", schedule=name, attempt=attempt)
            return "exists"
        raise step_failed(
            STEP, error, snapshot=identifier, region=settings.source_region
        ) from error
    except BotoCoreError as error:
        raise step_failed(
            STEP, error, snapshot=identifier, region=settings.source_region
        ) from error
    logger.info("copy check arranged", schedule=name, attempt=attempt, due=due.isoformat())
    count("CopyCheckArranged")
    return "arranged"
