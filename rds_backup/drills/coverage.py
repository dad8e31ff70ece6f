"""Is every selected database drilled in time? Once a day start_drill reports, per database,
how many days ago it last passed a drill (``DaysSinceSuccessfulDrill``), and how many selected
databases have none within twice DRILL_EVERY_DAYS (``DatabasesWithoutRecentDrill``): the
alarms on them (infra/alarms.js) tell a person that drills stopped proving the backups. A
database never drilled counts as overdue; its age is reported as that limit plus one day."""

from __future__ import annotations

from datetime import date
from typing import Any

from rds_backup.aws import Aws
from rds_backup.observability import drill_age, drills_overdue
from rds_backup.settings import Settings
from rds_backup.state import drill_results
from rds_backup.state.selection import select_databases

STEP = "drill"


def report_coverage(settings: Settings, aws: Aws, today: date) -> dict[str, Any]:
    limit = 2 * settings.drill_every_days
    overdue: list[str] = []
    ages: dict[str, float] = {}
    for item in select_databases(settings, aws).items:
        last = drill_results.latest_passed(settings, aws, item.identifier, STEP)
        days = float((today - last.day).days) if last is not None else float(limit + 1)
        ages[item.identifier] = days
        drill_age(item.identifier, days)
        if days > limit:
            overdue.append(item.identifier)
    drills_overdue(len(overdue))
    return {"overdue": overdue, "limit_days": limit, "days_since_passed": ages}
