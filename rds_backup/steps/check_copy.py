"""A cluster copy's end, observed without a polling loop: RDS emits no event when a
CopyDBClusterSnapshot finishes (DESIGN.md "Aurora"; the Aurora User Guide's DB cluster
snapshot events are 0074/0075, 0168/0169, 0162/0163/0164 only).

When a cluster copy starts, the copy step arranges one later check: a **one-time EventBridge
Scheduler schedule** (``at(...)``, ``ActionAfterCompletion=DELETE``) whose target puts a
"Cluster Copy Check Due" event on the default bus; the rule sends it to check_copy. The check
looks at the copy once and then either

- puts "Cluster Copy Finished" (Outcome ``available``) on the bus: export_snapshot runs
  exactly as for RDS-EVENT-0060, copy_snapshot fills the freed cluster copy slot, and notify
  releases the source;
- puts "Cluster Copy Finished" (Outcome ``failed``, or ``vanished``: the copy is gone while
  its source is still there, which is how a cluster copy is canceled) → notify emails the
  failure once;
- or, still ``copying``/``creating``, arranges the next check with a longer delay
  (:data:`BACKOFF`), until STEP_DEADLINE_HOURS from the copy's start; past it no check is
  arranged and reconcile reports the copy stuck.

Why a schedule and not an SQS delay queue: a delay queue caps at 15 minutes
(``DelaySeconds`` ≤ 900), so an hours-long copy means re-enqueuing a message every 15 minutes
from inside a function, and the check function would need an SQS event source, a queue
policy and a redrive queue of its own; a one-time schedule fires once at any time, delivers
onto the bus like every other fact of the chain (archived, replayable, forwarded through the
same rules, on-failure path and DLQs), deletes itself after it ran, and needs only
``scheduler:CreateSchedule`` on this stack's schedule group plus ``iam:PassRole`` for the
scheduler's role (which may only ``events:PutEvents`` on the default bus).

Idempotent: the schedule's name is derived from the copy and the attempt, so a duplicate
arrangement is ``ConflictException`` (the work done); a duplicated or replayed check finds
the copy as it is, and the "finished" facts it puts are idempotent downstream (the export id
is derived; notify sends each email once). A replayed check of a run whose snapshots are both
gone (retention) does nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.copy_finished import CHECK_DUE, COPY_FINISHED, SOURCE, CopyCheckDueEvent
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, is_code, step_failed
from rds_backup.model.kinds import Kind
from rds_backup.model.scope import out_of_scope
from rds_backup.model.tags import owned
from rds_backup.observability import count, logger
from rds_backup.settings import ConfigError, Settings
from rds_backup.state.snapshots import describe_snapshot

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
IN_PROGRESS = frozenset({"copying", "creating"})


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


def check_copy(settings: Settings, aws: Aws, event: CopyCheckDueEvent) -> dict[str, Any]:
    """Look at the copy once; say it finished, failed or vanished, or check again later."""
    arn = event.snapshot
    attempt = event.detail.attempt
    logger.append_keys(snapshot=arn.identifier, region=arn.region, attempt=attempt)
    if skipped := out_of_scope(settings, arn, [settings.target_region]):
        return {"skipped": skipped}
    raw = describe_snapshot(aws, arn.region, arn.identifier, STEP, Kind.CLUSTER)
    copy = owned(settings, raw, arn.region) if raw else None
    if raw is not None and copy is None:
        logger.info("ignored: not made by this stack")
        return {"skipped": "not ours"}
    if copy is None:
        source = describe_snapshot(aws, settings.source_region, arn.identifier, STEP, Kind.CLUSTER)
        if source is None or owned(settings, source, settings.source_region) is None:
            logger.info("ignored: neither the copy nor its source exists any more")
            return {"skipped": "run gone"}
        return {"outcome": _finished(settings, aws, event, "vanished", "")}
    status = copy.status.lower()
    if status in IN_PROGRESS:
        if clock.now() - event.detail.started > timedelta(hours=settings.step_deadline_hours):
            logger.warning(
                "cluster copy still running past STEP_DEADLINE_HOURS; reconcile reports it",
                status=status,
            )
            return {"outcome": "overdue", "status": status}
        return {
            "outcome": "copying",
            "next_check": arrange_check(settings, aws, str(arn), event.detail.started, attempt + 1),
        }
    outcome = "available" if status == "available" else "failed"
    return {"outcome": _finished(settings, aws, event, outcome, status)}


def _finished(
    settings: Settings, aws: Aws, event: CopyCheckDueEvent, outcome: str, status: str
) -> str:
    """Put "Cluster Copy Finished" on the default bus (raises if it cannot be put)."""
    detail = {
        "SourceArn": event.detail.source_arn,
        "Started": event.detail.started.isoformat(),
        "Outcome": outcome,
        "Status": status,
        "Checks": event.detail.attempt,
    }
    try:
        answer = aws.events(settings.source_region).put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": COPY_FINISHED,
                    "Detail": json.dumps(detail),
                    "Resources": [event.detail.source_arn],
                }
            ]
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error
    if answer.get("FailedEntryCount"):
        raise StepFailed(
            STEP,
            "could not put the Cluster Copy Finished event: "
            + str(answer.get("Entries", [{}])[0].get("ErrorMessage", "")),
            region=settings.source_region,
            code="PutEventsFailed",
        )
    log = logger.info if outcome == "available" else logger.error
    log("cluster copy ended", outcome=outcome, status=status, checks=event.detail.attempt)
    count("ClusterCopyEnded")
    return outcome
