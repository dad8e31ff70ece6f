"""What earlier nights measured: each database's expected export duration, from its own
earlier export tasks (DescribeExportTasks gives ``TaskStartTime`` and ``TaskEndTime`` of
every task RDS keeps, RDS API Reference, ExportTask).

start_backup reads it once a night, for the databases it snapshots, and tags each source
with it (``rds-backup:export-hours``, carried to the copy); the export queue then starts the
longest expected export first (rds_backup/limits/queue.py), with no read of its own. The
tasks are found by derived id (``export-task-identifier``): the first attempts of the
same database's runs on the ``NIGHTS`` days before, at the same time of day (the nightly
schedule's runs), so the read does not grow with the account's history or other teams'
exports. A database with no such task (new, or exported on other nights) has no tag: the
queue estimates it from its size.

The estimate is a hint for the order, never a decision: a failed read is logged and the
night goes on, ordered by size.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.model.naming import export_id, run_id, run_time, snapshot_id
from rds_backup.observability import logger
from rds_backup.settings import Settings
from rds_backup.state.inventory import IDS_PER_CALL

NIGHTS = 7  # the earlier nights an estimate is taken from


def expected_export_hours(
    settings: Settings, aws: Aws, databases: Iterable[str], run: str
) -> dict[str, float]:
    """Lower-cased database → mean hours of its COMPLETE target-region exports of the
    ``NIGHTS`` runs before ``run`` at the same time of day; databases without one are left
    out. A read that fails leaves every database out (logged)."""
    region = settings.target_region
    when = run_time(run)
    wanted: dict[str, str] = {}  # export task id → database
    for database in databases:
        for night in range(1, NIGHTS + 1):
            earlier = snapshot_id(
                settings.snapshot_prefix, database, run_id(when - timedelta(days=night))
            )
            wanted[export_id(earlier, region)] = database.lower()
    ids = sorted(wanted)
    hours: dict[str, list[float]] = {}
    rds = aws.rds(region)
    try:
        for start in range(0, len(ids), IDS_PER_CALL):
            batch = ids[start : start + IDS_PER_CALL]
            pages = rds.get_paginator("describe_export_tasks").paginate(
                Filters=[{"Name": "export-task-identifier", "Values": batch}]
            )
            for page in pages:
                for task in page.get("ExportTasks", []):
                    took = _hours(dict(task))
                    name = wanted.get(str(task.get("ExportTaskIdentifier")))
                    if name is not None and took is not None:
                        hours.setdefault(name, []).append(took)
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            "earlier export durations not read; tonight's exports are ordered by size",
            region=region,
            error=str(error),
        )
        return {}
    return {database: statistics.mean(found) for database, found in hours.items()}


def _hours(task: Mapping[str, Any]) -> float | None:
    if str(task.get("Status", "")).upper() != "COMPLETE":
        return None
    started, ended = task.get("TaskStartTime"), task.get("TaskEndTime")
    if not isinstance(started, datetime) or not isinstance(ended, datetime):
        return None
    took = (_utc(ended) - _utc(started)).total_seconds() / 3600
    return took if took > 0 else None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
