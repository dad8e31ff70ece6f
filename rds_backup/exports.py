"""Snapshot exports to S3: derived ids, the latest attempt, and starting one idempotently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.naming import export_id
from rds_backup.observability import count, logger
from rds_backup.settings import ConfigError, Settings

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


@dataclass(frozen=True)
class ExportStart:
    outcome: str  # started | exists | failed-earlier
    attempt: ExportAttempt | None
    export_id: str


def start_export(
    settings: Settings,
    aws: Aws,
    *,
    region: str,
    snapshot: str,
    snapshot_arn: str,
    database: str,
    redrive: bool,
) -> ExportStart:
    """Start the export of ``snapshot`` to the bucket of ``region``, once.

    An attempt that exists and has not failed is the work done. A failed attempt is only
    retried on a re-drive (a replayed event or reconcile): the failure was already
    reported, and retrying blindly on every duplicate would repeat it.
    """
    bucket = settings.source_bucket if region == settings.source_region else settings.target_bucket
    # The first attempt is started blind and the attempts are read only when it is refused:
    # one call in the usual case instead of a DescribeExportTasks and then the start.
    identifier = export_id(snapshot, region, 1)
    try:
        _start(settings, aws, region, bucket, snapshot_arn, identifier)
    except (ClientError, ConfigError) as refused:
        # Already there, or refused for another reason (a quota, a key): what exists decides,
        # exactly as if it had been read first.
        latest = latest_attempt(aws, region, snapshot_arn, snapshot)
        if latest is not None and not latest.failed:
            logger.info("export already started", export=latest.export_id, status=latest.status)
            return ExportStart("exists", latest, latest.export_id)
        if latest is not None and not redrive:
            logger.warning("export failed earlier; waiting for a re-drive", export=latest.export_id)
            return ExportStart("failed-earlier", latest, latest.export_id)
        if latest is None:
            if isinstance(refused, ClientError) and _already_exists(refused):
                return ExportStart("exists", None, identifier)
            if isinstance(refused, ConfigError):
                raise
            raise _export_failed(settings, refused, database, snapshot, region) from refused
        identifier = export_id(snapshot, region, latest.attempt + 1)
        try:
            _start(settings, aws, region, bucket, snapshot_arn, identifier)
        except ClientError as error:
            if _already_exists(error):
                return ExportStart("exists", None, identifier)
            raise _export_failed(settings, error, database, snapshot, region) from error
        except BotoCoreError as error:
            raise _export_failed(settings, error, database, snapshot, region) from error
    except BotoCoreError as error:
        raise _export_failed(settings, error, database, snapshot, region) from error
    logger.info("export started", export=identifier, bucket=bucket, region=region)
    count("ExportStarted")
    return ExportStart("started", None, identifier)


def _start(
    settings: Settings, aws: Aws, region: str, bucket: str, snapshot_arn: str, identifier: str
) -> None:
    request: dict[str, Any] = {
        "ExportTaskIdentifier": identifier,
        "SourceArn": snapshot_arn,
        "S3BucketName": bucket,
        "IamRoleArn": settings.export_role_arn,
        "KmsKeyId": settings.key_for(region),
    }
    if settings.export_s3_prefix.strip("/"):
        request["S3Prefix"] = settings.export_s3_prefix.strip("/")
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
