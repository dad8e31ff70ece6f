"""Arranging a cluster copy's later check: RDS emits no event when a CopyDBClusterSnapshot
finishes (docs/ARCHITECTURE.md, "AWS facts"; the Aurora User Guide's DB cluster snapshot
events are 0074/0075, 0168/0169, 0162/0163/0164 only), so the step that starts a cluster copy
arranges a one-time check (rds_backup/state/schedules.py) that puts "Cluster Copy Check Due"
on the default bus; check_copy (rds_backup/steps/check_copy.py) looks at the copy then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events.copy_finished import CHECK_DUE
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.observability import count
from rds_backup.settings import Settings
from rds_backup.state import schedules

STEP = "copy check"
# Delay before check N (1-based); later checks keep the last delay. A small cluster copies
# in minutes, a large one takes hours ("a cross-Region snapshot copy can take hours to
# complete", Aurora User Guide, "Copying a DB cluster snapshot").
BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=20),
    timedelta(minutes=40),
    timedelta(minutes=60),
)


def delay(attempt: int) -> timedelta:
    return BACKOFF[min(attempt, len(BACKOFF)) - 1]


def schedule_name(identifier: str, attempt: int) -> str:
    return schedules.schedule_name(identifier, attempt)


def arrange_check(
    settings: Settings, aws: Aws, copy_arn: str, started: datetime, attempt: int = 1
) -> str:
    """Arrange check ``attempt`` of the cluster copy ``copy_arn``: "arranged", or "exists"
    when that check was already arranged (a duplicate)."""
    identifier = copy_arn.rsplit(":", 1)[-1]
    due = clock.now() + delay(attempt)
    outcome = schedules.arrange(
        settings,
        aws,
        STEP,
        name=schedule_name(identifier, attempt),
        due=due,
        detail_type=CHECK_DUE,
        detail={"SourceArn": copy_arn, "Started": started.isoformat(), "Attempt": attempt},
        description=f"rds-backup: check cluster copy {identifier} (check {attempt})",
        snapshot=identifier,
    )
    if outcome == "arranged":
        count("CopyCheckArranged")
    return outcome
