"""One-time checks: a later look at something RDS may not announce (a cluster copy's end:
no event exists; a drill's restore: its events are best effort), arranged as a **one-time
EventBridge Scheduler schedule** (``at(...)``, ``ActionAfterCompletion=DELETE``) whose target
puts our own "... Check Due" event on the default bus (EventBridge Scheduler User Guide,
"Schedule types": one-time schedules; "Using universal targets"/"templated targets": an
EventBridge PutEvents target with ``EventBridgeParameters``).

Why a schedule and not an SQS delay queue: a delay queue caps at 15 minutes
(``DelaySeconds`` ≤ 900), so an hours-long wait means re-enqueuing a message every 15 minutes
from inside a function, and the check would need an SQS event source, a queue policy and a
redrive queue of its own; a one-time schedule fires once at any time, delivers onto the bus
like every other fact of the chain (archived, replayable, through the same rules, on-failure
path and DLQs), deletes itself after it ran, and needs only ``scheduler:CreateSchedule`` on
this stack's schedule group plus ``iam:PassRole`` for the scheduler's role (which may only
put events on the default bus).

Idempotent: a schedule's name is derived from what it checks and the attempt, so a duplicate
arrangement is ``ConflictException`` (the work done).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.observability import logger
from rds_backup.settings import ConfigError, Settings

SOURCE = "rds-backup"
SCHEDULE_NAME_MAX = 64  # EventBridge Scheduler: 1-64 of [0-9a-zA-Z-_.]


def schedule_name(identifier: str, attempt: int, tag: str = "c") -> str:
    """Derived from what is checked and the attempt: a second arrangement of the same check
    is refused by Scheduler (ConflictException), so duplicates arrange nothing new."""
    digest = hashlib.sha256(identifier.lower().encode()).hexdigest()[:8]
    suffix = f"-{digest}-{tag}{attempt}"
    return identifier.lower()[: SCHEDULE_NAME_MAX - len(suffix)].rstrip("-") + suffix


def arrange(
    settings: Settings,
    aws: Aws,
    step: str,
    *,
    name: str,
    due: datetime,
    detail_type: str,
    detail: Mapping[str, Any],
    description: str,
    snapshot: str | None = None,
) -> str:
    """Arrange one check: "arranged", or "exists" when it was already arranged."""
    if not settings.copy_check_role_arn:
        raise ConfigError(["COPY_CHECK_ROLE_ARN: required to arrange the chain's checks"])
    partition = settings.export_role_arn.split(":")[1]
    bus = f"arn:{partition}:events:{settings.source_region}:{settings.account_id}:event-bus/default"
    try:
        aws.scheduler(settings.source_region).create_schedule(
            Name=name,
            GroupName=settings.copy_check_group,
            ScheduleExpression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Description=description[:512],
            Target={
                "Arn": bus,
                "RoleArn": settings.copy_check_role_arn,
                "Input": json.dumps(detail),
                "EventBridgeParameters": {"DetailType": detail_type, "Source": SOURCE},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
            },
        )
    except ClientError as error:
        if is_code(error, "ConflictException"):
            logger.info("check already arranged", schedule=name, detail_type=detail_type)
            return "exists"
        raise step_failed(step, error, snapshot=snapshot, region=settings.source_region) from error
    except BotoCoreError as error:
        raise step_failed(step, error, snapshot=snapshot, region=settings.source_region) from error
    logger.info("check arranged", schedule=name, detail_type=detail_type, due=due.isoformat())
    return "arranged"
