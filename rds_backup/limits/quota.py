"""The manual snapshot quota, which does not drain by itself.

100 manual DB snapshots per region by default, adjustable (DescribeAccountAttributes:
``ManualSnapshots`` Used/Max); DB cluster snapshots have their own quota,
``ManualClusterSnapshots`` (100 by default, "Quotas in Amazon Aurora"). Exceeding it is
*also* SnapshotQuotaExceeded ("Cannot create more than 100 manual snapshots"), the copy
limit's code, told apart from it by the message, or, when the message says neither, by
Used >= Max. It is reported at once, with the numbers and the fix: a "Snapshot Quota
Reached" event that notify turns into one email per run and region.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.quota import DETAIL_TYPE as QUOTA_DETAIL_TYPE
from events.quota import SOURCE as QUOTA_SOURCE
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, step_failed
from rds_backup.limits.queue import Slot
from rds_backup.model.kinds import Kind, api
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.bus import put_event

COPY_LIMIT_TEXT = re.compile(r"cannot copy more than|across regions", re.IGNORECASE)
MANUAL_QUOTA_TEXT = re.compile(r"manual (db )?(cluster )?snapshots", re.IGNORECASE)


@dataclass(frozen=True)
class Usage:
    region: str
    used: int
    max: int

    @property
    def free(self) -> int:
        return max(0, self.max - self.used)


def manual_snapshot_usage(aws: Aws, region: str, step: str, kind: Kind = Kind.INSTANCE) -> Usage:
    """``ManualSnapshots`` (DB snapshots) or ``ManualClusterSnapshots`` (DB cluster snapshots)
    Used/Max of the region (DescribeAccountAttributes)."""
    name = api(kind).quota
    try:
        answer = aws.rds(region).describe_account_attributes()
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error
    for quota in answer.get("AccountQuotas", []):
        if quota.get("AccountQuotaName") == name:
            return Usage(region, int(quota.get("Used", 0)), int(quota.get("Max", 0)))
    raise StepFailed(
        step,
        f"DescribeAccountAttributes did not report {name}",
        region=region,
        code="QuotaUnknown",
    )


@dataclass
class QuotaReached:
    """The manual snapshot quota stops (part of) a run: who is not backed up, and why."""

    region: str
    used: int
    max: int
    needed: int
    run: str
    step: str
    databases: list[str] = field(default_factory=list)
    quota: str = "ManualSnapshots"  # or ManualClusterSnapshots

    def as_detail(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "region": self.region,
            "used": self.used,
            "max": self.max,
            "needed": self.needed,
            "run": self.run,
            "step": self.step,
            "databases": self.databases,
        }


def quota_reached(
    settings: Settings,
    aws: Aws,
    region: str,
    message: str,
    run: str,
    kind: Kind = Kind.INSTANCE,
) -> QuotaReached | None:
    """A SnapshotQuotaExceeded in ``region``: the manual snapshot quota (returned, with the
    numbers) or the copy limit (None: the step waits). Both variants of the text are
    accepted; when the text names neither, Used >= Max decides."""
    if COPY_LIMIT_TEXT.search(message) and not MANUAL_QUOTA_TEXT.search(message):
        return None
    usage = manual_snapshot_usage(aws, region, Slot.COPY.value, kind)
    if not MANUAL_QUOTA_TEXT.search(message) and usage.used < usage.max:
        return None
    return QuotaReached(
        region, usage.used, usage.max, 1, run, Slot.COPY.value, quota=api(kind).quota
    )


def report_quota(settings: Settings, aws: Aws, reached: QuotaReached) -> None:
    """Put "Snapshot Quota Reached" on the default bus: notify emails it once per run and
    region. Raises if the event cannot be put (a person must hear of it)."""
    logger.error(
        "manual snapshot quota reached",
        region=reached.region,
        used=reached.used,
        max=reached.max,
        needed=reached.needed,
        databases=reached.databases,
    )
    count("SnapshotQuotaReached")
    put_event(
        settings,
        aws,
        reached.step,
        source=QUOTA_SOURCE,
        detail_type=QUOTA_DETAIL_TYPE,
        detail=reached.as_detail(),
    )


def headroom(
    settings: Settings,
    aws: Aws,
    databases: Sequence[str],
    run: str,
    step: str,
    kind: Kind = Kind.INSTANCE,
) -> tuple[list[str], QuotaReached | None]:
    """Which of tonight's databases (all of ``kind``) fit that kind's manual snapshot quota
    in both regions (a source snapshot in the source region, its copy in the target region),
    in a fair order that rotates each night; and, when some do not fit, what to report."""
    usages = [
        manual_snapshot_usage(aws, region, step, kind)
        for region in (settings.source_region, settings.target_region)
    ]
    tightest = min(usages, key=lambda u: u.free)
    if tightest.free >= len(databases):
        return list(databases), None
    ordered = sorted(
        databases, key=lambda db: hashlib.sha256(f"{run}:{db.lower()}".encode()).hexdigest()
    )
    fits, refused = ordered[: tightest.free], ordered[tightest.free :]
    reached = QuotaReached(
        tightest.region,
        tightest.used,
        tightest.max,
        len(databases),
        run,
        step,
        sorted(refused),
        quota=api(kind).quota,
    )
    return [db for db in databases if db in fits], reached
