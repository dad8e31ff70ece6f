"""Can this database be restored now? Its newest available copy in the target region and its
last drill, for the emails that tell of a failure (a failed export, a failed snapshot or the
quota leave the earlier copies as restorable as they were: docs/ARCHITECTURE.md, principle 9).

One filtered listing per database (DescribeDBSnapshots / DescribeDBClusterSnapshots with the
``db-instance-id`` / ``db-cluster-id`` filter: copies keep their source's identifier) and its
newest drill result (rds_backup/state/drill_results.py). A read that fails says "unknown"
rather than failing the email that needs it.
"""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.model import console, tags
from rds_backup.model.kinds import Kind, api
from rds_backup.model.report import Restorable
from rds_backup.observability import logger
from rds_backup.settings import Settings
from rds_backup.state import drill_results

STEP = "restorable"
FILTER = {Kind.INSTANCE: "db-instance-id", Kind.CLUSTER: "db-cluster-id"}


def restorable(settings: Settings, aws: Aws, database: str, kind: Kind | None = None) -> Restorable:
    """The database's newest available copy of ours in the target region and its last drill."""
    newest: tags.Owned | None = None
    try:
        for candidate in (kind,) if kind is not None else (Kind.INSTANCE, Kind.CLUSTER):
            newest = _newest(settings, aws, database, candidate) or newest
            if newest is not None:
                break
        last = drill_results.latest_result(settings, aws, database, STEP)
    except StepFailed as failure:
        logger.warning("could not tell whether a copy is restorable", cause=str(failure))
        return Restorable(database, settings.target_region, last_drill="unknown (see the logs)")
    drill = ""
    if last is not None:
        minutes = last.restore_seconds
        timed = f", restored in {round(minutes / 60, 1)} min" if minutes is not None else ""
        drill = f"{last.outcome.value} {last.day.isoformat()}{timed}"
    if newest is None:
        return Restorable(database, settings.target_region, last_drill=drill)
    created = newest.raw.get("OriginalSnapshotCreateTime") or newest.raw.get("SnapshotCreateTime")
    return Restorable(
        database,
        settings.target_region,
        copy_id=newest.identifier,
        copy_time=created if isinstance(created, datetime) else None,
        last_drill=drill,
        restore_command=console.restore_ours(
            settings.stack_name, settings.source_region, database, newest.identifier
        ),
    )


def _newest(settings: Settings, aws: Aws, database: str, kind: Kind) -> tags.Owned | None:
    spec = api(kind)
    rds = aws.rds(settings.target_region)
    found: list[tags.Owned] = []
    try:
        pages = rds.get_paginator(spec.describe).paginate(  # type: ignore[call-overload]
            SnapshotType="manual",
            Filters=[{"Name": FILTER[kind], "Values": [database.lower()]}],
        )
        for page in pages:
            for raw in page.get(spec.list_key, []):
                owned = tags.owned(settings, raw, settings.target_region)
                if owned and owned.role is tags.Role.COPY and owned.available:
                    found.append(owned)
    except (ClientError, BotoCoreError) as error:
        logger.warning("could not list the copies", database=database, error=str(error))
        return None
    return max(found, key=lambda o: o.run, default=None)
