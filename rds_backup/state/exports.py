"""Snapshot exports to S3: derived ids, the latest attempt, and starting one idempotently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model.naming import export_id
from rds_backup.model.tags import Owned
from rds_backup.observability import count, logger
from rds_backup.settings import Settings

COMPLETE = "COMPLETE"
FAILED = frozenset({"FAILED", "CANCELED"})
IN_FLIGHT = frozenset({"STARTING", "IN_PROGRESS", "CANCELING"})
MAX_ATTEMPTS = 20
STEP = "export"


@dataclass(frozen=True)
class ExportAttempt:
    export_id: str
    attempt: int
    status: str  # upper-cased: RDS documents upper case, moto answers lower case
    task: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE


def latest_attempt(aws: Aws, region: str, snapshot_arn: str, snapshot: str) -> ExportAttempt | None:
    """The newest of our export attempts for a snapshot in its region, if any."""
    try:
        pages = (
            aws.rds(region).get_paginator("describe_export_tasks").paginate(SourceArn=snapshot_arn)
        )
        tasks = [task for page in pages for task in page.get("ExportTasks", [])]
    except ClientError as error:
        if is_code(error, "ExportTaskNotFound", "ExportTaskNotFoundFault"):
            return None
        raise step_failed(STEP, error, snapshot=snapshot, region=region) from error
    except BotoCoreError as error:
        raise step_failed(STEP, error, snapshot=snapshot, region=region) from error
    return pick_latest(tasks, region, snapshot_arn, snapshot)


def pick_latest(
    tasks: Iterable[Mapping[str, Any]], region: str, snapshot_arn: str, snapshot: str
) -> ExportAttempt | None:
    """Among export tasks, the newest attempt whose id we derived for this snapshot.

    Filters client-side: the SourceArn filter is a hint some implementations ignore, and
    only ids we derived count as ours.
    """
    attempts = {export_id(snapshot, region, n): n for n in range(1, MAX_ATTEMPTS + 1)}
    found = [
        ExportAttempt(
            str(task["ExportTaskIdentifier"]),
            attempts[task["ExportTaskIdentifier"]],
            str(task.get("Status", "")).upper(),
            dict(task),
        )
        for task in tasks
        if task.get("ExportTaskIdentifier") in attempts and task.get("SourceArn") == snapshot_arn
    ]
    return max(found, key=lambda a: a.attempt, default=None)


def begin_export(settings: Settings, aws: Aws, snapshot: Owned, attempt: int = 1) -> str:
    """Start export attempt ``attempt`` of our ``snapshot`` to its region's bucket:
    "started", or "exists" when that attempt was already started (a duplicate, a racing
    filler). When to start is decided by :mod:`rds_backup.limits`.

    Raises StepFailed for anything else, keeping AWS's code (ExportTaskLimitReachedFault
    means: no slot, the step waits), with the key named on KMS faults.
    """
    region = snapshot.region
    bucket = settings.source_bucket if region == settings.source_region else settings.target_bucket
    identifier = export_id(snapshot.identifier, region, attempt)
    try:
        _start(settings, aws, region, bucket, snapshot.arn, identifier)
    except ClientError as error:
        if _already_exists(error):
            logger.info("export already started", export=identifier)
            return "exists"
        raise _export_failed(
            settings, error, snapshot.database, snapshot.identifier, region
        ) from error
    except BotoCoreError as error:
        raise _export_failed(
            settings, error, snapshot.database, snapshot.identifier, region
        ) from error
    logger.info("export started", export=identifier, bucket=bucket, region=region)
    count("ExportStarted")
    return "started"


def _start(
    settings: Settings, aws: Aws, region: str, bucket: str, snapshot_arn: str, identifier: str
) -> None:
    request: dict[str, Any] = {
        "ExportTaskIdentifier": identifier,
        "SourceArn": snapshot_arn,
        "S3BucketName": bucket,
        "IamRoleArn": settings.export_role_arn,
        "KmsKeyId": settings.key_for(region),
        # normalised once by Settings, the same string IAM scopes (infra/iam.js)
        "S3Prefix": settings.export_s3_prefix,
    }
    aws.rds(region).start_export_task(**request)


def _already_exists(error: ClientError) -> bool:
    return is_code(error, "ExportTaskAlreadyExists", "ExportTaskAlreadyExistsFault")


def _export_failed(
    settings: Settings,
    error: ClientError | BotoCoreError,
    database: str,
    snapshot: str,
    region: str,
) -> Exception:
    return step_failed(
        STEP,
        error,
        database=database,
        snapshot=snapshot,
        region=region,
        key=settings.key_for(region),
    )
