"""check_drill: move a restore drill one step (rds_backup/drills/advance.py) when RDS says
something happened to a drill instance or cluster (RDS-EVENT-0043/0005/0003/0016/0170 in the
target region, forwarded) or when one of the drill's one-time checks is due ("Drill Check
Due"). When a drill ends, its slot is free: the next waiting drill starts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from events.drill import DrillCheckDueEvent, RdsDatabaseEvent
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.drills import advance, fill_drills
from rds_backup.model import drills as model
from rds_backup.model.kinds import Kind
from rds_backup.observability import logger
from rds_backup.settings import Settings
from rds_backup.state import restores

STEP = "drill"
DAY = re.compile(r"-(\d{8})(?:-\d+)?$")


def on_check_due(settings: Settings, aws: Aws, event: DrillCheckDueEvent) -> dict[str, Any]:
    detail = event.detail
    outcome = advance(
        settings,
        aws,
        detail.database,
        detail.day,
        clock.now(),
        check=(detail.phase, detail.attempt),
    )
    return _then_fill(settings, aws, outcome)


def on_database_event(settings: Settings, aws: Aws, event: RdsDatabaseEvent) -> dict[str, Any]:
    arn = event.database
    if arn.account != settings.account_id or arn.region != settings.target_region:
        logger.info("ignored: not in this stack's account and target region")
        return {"skipped": "out of scope"}
    if not model.is_drill_id(settings.snapshot_prefix, arn.identifier):
        logger.info("ignored: not a drill of this stack", identifier=arn.identifier)
        return {"skipped": "not a drill"}
    found = _drill_of(
        settings, aws, arn.identifier, Kind.CLUSTER if arn.is_cluster else Kind.INSTANCE
    )
    if found is None:
        logger.info("ignored: drill unknown (gone, and its name does not say its database)")
        return {"skipped": "unknown drill"}
    database, day = found
    outcome = advance(
        settings,
        aws,
        database,
        day,
        clock.now(),
        restored_at=min(event.happened, clock.now()) if event.restored else None,
    )
    return _then_fill(settings, aws, outcome)


def _drill_of(settings: Settings, aws: Aws, identifier: str, kind: Kind) -> tuple[str, date] | None:
    """(database, drill day) of a drill instance, cluster, or a cluster drill's instance: from
    its tags while it exists, else from its name (``<prefix>-drill-<db>-<YYYYMMDD>``; a name
    shortened with a hash does not say its database: its own checks carry it instead)."""
    candidates = [(identifier, kind)]
    member = re.sub(r"-\d+$", "", identifier)
    if kind is Kind.INSTANCE and member != identifier:
        candidates.append((member, Kind.CLUSTER))
    for name, candidate in candidates:
        record = restores.describe_database(aws, settings.target_region, candidate, name, STEP)
        drill = model.owned_drill(settings, record, candidate) if record else None
        if drill is not None:
            return drill.database, drill.day
    for name, _ in candidates:
        match = DAY.search(name)
        head = f"{settings.snapshot_prefix}-drill-"
        if match and name.lower().startswith(head):
            day = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC).date()
            database = name[len(head) : match.start()].lower()
            if model.drill_id(settings.snapshot_prefix, database, day) == name.lower():
                return database, day
    return None


def _then_fill(settings: Settings, aws: Aws, outcome: dict[str, Any]) -> dict[str, Any]:
    if "finished" in outcome:
        outcome["drills"] = fill_drills(settings, aws, clock.now(), STEP).as_dict()
    return outcome
