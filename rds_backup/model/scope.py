"""Is an RDS event about a snapshot this stack could own? Checked before any AWS call."""

from __future__ import annotations

from collections.abc import Collection

from rds_backup.arns import SnapshotArn
from rds_backup.observability import logger
from rds_backup.settings import Settings


def out_of_scope(settings: Settings, arn: SnapshotArn, regions: Collection[str]) -> str | None:
    """Why the event's snapshot is none of ours (logged once), or None if it may be ours.

    Ownership itself is proven later from the snapshot's tags; this only rules out, with
    no AWS call, what cannot be ours: another account, another region, a name without our
    prefix (automated ``rds:``, AWS Backup ``awsbackup:``). DB snapshots and DB cluster
    snapshots alike (rds_backup/model/kinds.py).
    """
    reason = None
    if arn.account != settings.account_id:
        reason = "other account"
    elif arn.region not in regions:
        reason = "not in " + " or ".join(sorted(regions))
    elif not arn.identifier.lower().startswith(f"{settings.snapshot_prefix}-"):
        reason = "not ours"
    if reason is not None:
        logger.info("ignored: out of scope", reason=reason)
    return reason
