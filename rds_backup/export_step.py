"""Third link: the copy is available in the target region → export it to TARGET_BUCKET."""

from __future__ import annotations

from typing import Any

from events.rds import RdsSnapshotEvent
from rds_backup import tags
from rds_backup.aws import Aws
from rds_backup.exports import start_export
from rds_backup.settings import Settings
from rds_backup.snapshots import event_snapshot

STEP = "export"


def on_copy_finished(settings: Settings, aws: Aws, event: RdsSnapshotEvent) -> dict[str, Any]:
    # Emitted in the target region; the envelope of a forwarded event says the source's.
    copy = event_snapshot(
        settings, aws, event, region=settings.target_region, role=tags.Role.COPY, step=STEP
    )
    if isinstance(copy, str):
        return {"skipped": copy}
    started = start_export(
        settings,
        aws,
        region=copy.region,
        snapshot=copy.identifier,
        snapshot_arn=copy.arn,
        database=copy.database,
        redrive=event.is_replay,
    )
    return {"export": started.export_id, "outcome": started.outcome}
