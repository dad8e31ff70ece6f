"""start_drill: the daily drill schedule → start the drills whose day has come, as many as
the drill slots and the target region's DB instances quota allow (rds_backup/drills/queue.py);
the others wait for a drill to end (check_drill) or for reconcile's next pass. Then the
drill coverage metrics of the fleet (rds_backup/drills/coverage.py)."""

from __future__ import annotations

from typing import Any

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.drills import fill_drills
from rds_backup.drills.coverage import report_coverage
from rds_backup.observability import logger
from rds_backup.settings import Settings

STEP = "drill"


def start_drills(settings: Settings, aws: Aws) -> dict[str, Any]:
    if not settings.drills_enabled:
        logger.warning(
            "restore drills are off: set DRILL_SUBNET_GROUP (or RESTORE_SUBNET_GROUP) to a DB "
            "subnet group in TARGET_REGION (docs/RECOVERY.md)"
        )
        return {"skipped": "drills are off"}
    # The drill day is today's (the schedule's time is not used: a replayed schedule starts
    # nothing a drill of today did not already start; derived ids make it idempotent).
    now = clock.now()
    filled = fill_drills(settings, aws, now, STEP).as_dict()
    return {"drills": filled, "coverage": report_coverage(settings, aws, now.date())}
