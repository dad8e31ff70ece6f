"""Looking up one of our snapshots by its derived id, in a given region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup import tags
from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.settings import Settings


def describe_snapshot(aws: Aws, region: str, identifier: str, step: str) -> dict[str, Any] | None:
    """The snapshot as DescribeDBSnapshots returns it (with TagList), or None if gone."""
    try:
        found = aws.rds(region).describe_db_snapshots(DBSnapshotIdentifier=identifier)
    except ClientError as error:
        if is_code(error, "DBSnapshotNotFound", "DBSnapshotNotFoundFault"):
            return None
        raise step_failed(step, error, snapshot=identifier, region=region) from error
    except BotoCoreError as error:
        raise step_failed(step, error, snapshot=identifier, region=region) from error
    snapshots = found.get("DBSnapshots") or []
    return dict(snapshots[0]) if snapshots else None


def find_owned(
    settings: Settings, aws: Aws, region: str, identifier: str, step: str
) -> tags.Owned | None:
    """Our snapshot with that id in that region, or None (gone, or not ours)."""
    snapshot = describe_snapshot(aws, region, identifier, step)
    return tags.owned(settings, snapshot, region) if snapshot else None
