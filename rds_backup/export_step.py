"""Third link: the copy is available in the target region → export it to TARGET_BUCKET."""

from __future__ import annotations

from typing import Any

from events.rds import RdsSnapshotEvent
from rds_backup import tags
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.exports import start_export
from rds_backup.observability import logger
from rds_backup.scope import out_of_scope
from rds_backup.settings import Settings
from rds_backup.snapshots import find_owned

STEP = "export"


def on_copy_finished(settings: Settings, aws: Aws, event: RdsSnapshotEvent) -> dict[str, Any]:
    arn = event.snapshot  # emitted in the target region; the envelope says the source's
    logger.append_keys(snapshot=arn.identifier, region=arn.region)
    if skipped := out_of_scope(settings, arn, [settings.target_region]):
        return {"skipped": skipped}
    copy = find_owned(settings, aws, arn.region, arn.identifier, STEP)
    if copy is None or copy.role is not tags.Role.COPY:
        logger.info("ignored: copy gone or not made by this stack")
        return {"skipped": "not ours or gone"}
    logger.append_keys(database=copy.database, run=copy.run)
    if not copy.available:
        raise StepFailed(
            STEP,
            f"copy is {copy.status}, not available",
            database=copy.database,
            snapshot=copy.identifier,
            region=arn.region,
            code="InvalidDBSnapshotState",
        )
    started = start_export(
        settings,
        aws,
        region=arn.region,
        snapshot=copy.identifier,
        snapshot_arn=copy.arn,
        database=copy.database,
        redrive=event.is_replay,
    )
    return {"export": started.export_id, "outcome": started.outcome}
