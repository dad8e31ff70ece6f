"""The facts the fleet's coverage and departures are decided from (rds_backup/model/coverage.py):
this stack's snapshots of a region, and the databases selected now.

Read by reconcile each hour (the target region's copies: one DescribeDBSnapshots and one
DescribeDBClusterSnapshots page per 100 snapshots, so this read grows with retention), by
cleanup (both regions, which it lists anyway) and by ``status``/``doctor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import step_failed
from rds_backup.model import tags
from rds_backup.model.coverage import Backed, Coverage, Departure, Key, backed, coverage, departures
from rds_backup.model.kinds import arn_of, identifier_of, kind_of
from rds_backup.model.retention import Snapshot
from rds_backup.settings import Settings
from rds_backup.state.inventory import manual_snapshots
from rds_backup.state.selection import Selection, select_databases


def owned_snapshots(settings: Settings, aws: Aws, region: str, step: str) -> Iterator[Snapshot]:
    """Manual DB and DB cluster snapshots of one region, with the database and role of those
    proven ours (``tags.owned``); tags come from the describe response's TagList."""
    for raw in manual_snapshots(aws, region, step):
        mine = tags.owned(settings, raw, region)
        yield Snapshot(
            region=region,
            identifier=identifier_of(raw),
            arn=arn_of(raw),
            status=raw.get("Status", ""),
            created=raw.get("SnapshotCreateTime"),
            database=mine.database if mine else None,
            role=mine.role if mine else None,
            kind=kind_of(raw),
        )


def selection_now(settings: Settings, aws: Aws, step: str) -> Selection:
    """The databases selected now; an AWS error is this step's failure, with its region."""
    try:
        return select_databases(settings, aws)
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=settings.source_region) from error


def left_selection(
    settings: Settings, selection: Selection, backups: dict[Key, Backed]
) -> list[Departure]:
    """The databases with backups of this stack that ``selection`` leaves out, and why."""
    return departures(
        settings,
        backups,
        _keys(selection),
        selection.instance_records,
        selection.cluster_records,
        {problem.identifier: problem.cause for problem in selection.problems},
    )


def read_coverage(settings: Settings, aws: Aws, now: datetime, step: str) -> Coverage:
    """Selected databases, those without an available copy within BACKUP_ALARM_HOURS, and
    the departures, from the target region's snapshots and the selection now."""
    snapshots = owned_snapshots(settings, aws, settings.target_region, step)
    backups = backed(snapshots, settings.target_region)
    selection = selection_now(settings, aws, step)
    gone = left_selection(settings, selection, backups)
    return coverage(settings, now, _keys(selection), backups, gone)


def _keys(selection: Selection) -> Iterable[Key]:
    return [(item.identifier, item.kind) for item in selection.items]
