"""Second link: our source snapshot is available → copy it into the target region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.rds import RdsSnapshotEvent
from rds_backup import tags
from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.exports import start_export
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.snapshots import event_snapshot

STEP = "copy"


def on_snapshot_created(settings: Settings, aws: Aws, event: RdsSnapshotEvent) -> dict[str, Any]:
    source = event_snapshot(
        settings, aws, event, region=settings.source_region, role=tags.Role.SOURCE, step=STEP
    )
    if isinstance(source, str):
        return {"skipped": source}
    result: dict[str, Any] = {"copy": copy_to_target(settings, aws, source)}
    if "source" in source.exports:
        started = start_export(
            settings,
            aws,
            region=source.region,
            snapshot=source.identifier,
            snapshot_arn=source.arn,
            database=source.database,
            redrive=event.is_replay,
        )
        result["source_export"] = {"id": started.export_id, "outcome": started.outcome}
    return result


def copy_to_target(settings: Settings, aws: Aws, source: tags.Owned) -> str:
    """CopyDBSnapshot, called in the target region with the source ARN; same id there."""
    copy_tags = tags.user_tags(source.tags) | tags.ours(
        settings, source.database, source.run, tags.Role.COPY, ",".join(source.exports)
    )
    request: dict[str, Any] = {
        "SourceDBSnapshotIdentifier": source.arn,
        "TargetDBSnapshotIdentifier": source.identifier,
        "KmsKeyId": settings.keys.target,
        "SourceRegion": settings.source_region,  # boto3 presigns the cross-region request
        "Tags": tags.as_list(copy_tags),
        "CopyTags": False,
    }
    if settings.target_option_group:
        request["OptionGroupName"] = settings.target_option_group
    try:
        aws.rds(settings.target_region).copy_db_snapshot(**request)
    except (ClientError, BotoCoreError) as error:
        if isinstance(error, ClientError) and is_code(
            error, "DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault"
        ):
            logger.info("copy already exists; duplicate or replayed event")
            return "exists"
        raise step_failed(
            STEP,
            error,
            database=source.database,
            snapshot=source.identifier,
            region=settings.target_region,
            key=settings.keys.target,
        ) from error
    logger.info("copy started", target_region=settings.target_region)
    count("CopyStarted")
    return "started"
