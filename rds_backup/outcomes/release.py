"""Releasing a run's source snapshot (KEEP_SOURCE_SNAPSHOT=false) once nothing needs it."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model.kinds import api
from rds_backup.model.kinds import delete as delete_snapshot
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.runs import RunState


def release_source(settings: Settings, aws: Aws, run: RunState) -> bool:
    """Delete the source snapshot (KEEP_SOURCE_SNAPSHOT=false) once the copy is available
    and every export of the run is complete. Never earlier; never anything not ours.

    Until then the source is the run's mark of work in progress: the slot fillers find the
    waiting copies and exports through the sources (rds_backup/limits/), and a source
    export may still need it."""
    if settings.keep_source_snapshot or run.source is None:
        return False
    if run.copy is None or not run.copy.available:
        return False
    if not all(attempt is not None and attempt.complete for attempt in run.exports.values()):
        return False  # an export waits, runs, or failed and may be re-driven
    kind = run.source.kind
    try:
        delete_snapshot(aws.rds(settings.source_region), kind, run.snapshot_id)
    except ClientError as error:
        if is_code(error, *api(kind).not_found):
            return True
        raise step_failed(
            "release source",
            error,
            database=run.database,
            snapshot=run.snapshot_id,
            region=settings.source_region,
        ) from error
    logger.info("source snapshot deleted; the copy is available", kept=False)
    count("SourceSnapshotDeleted")
    return True
