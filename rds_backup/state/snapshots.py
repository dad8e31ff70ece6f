"""Looking up one of our snapshots by its derived id, in a given region."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.copy_finished import CopyFinishedEvent
from events.rds import RdsSnapshotEvent
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, is_code, step_failed
from rds_backup.model import tags
from rds_backup.model.kinds import Kind, api, describe_one, of_arn_kind
from rds_backup.model.scope import out_of_scope
from rds_backup.observability import logger
from rds_backup.settings import Settings


def describe_snapshot(
    aws: Aws, region: str, identifier: str, step: str, kind: Kind = Kind.INSTANCE
) -> dict[str, Any] | None:
    """The snapshot as DescribeDB[Cluster]Snapshots returns it (with TagList), or None if
    gone."""
    try:
        snapshots = describe_one(aws.rds(region), kind, identifier)
    except ClientError as error:
        if is_code(error, *api(kind).not_found):
            return None
        raise step_failed(step, error, snapshot=identifier, region=region) from error
    except BotoCoreError as error:
        raise step_failed(step, error, snapshot=identifier, region=region) from error
    return snapshots[0] if snapshots else None


def find_owned(
    settings: Settings,
    aws: Aws,
    region: str,
    identifier: str,
    step: str,
    kind: Kind = Kind.INSTANCE,
) -> tags.Owned | None:
    """Our snapshot (of ``kind``) with that id in that region, or None (gone, or not ours)."""
    snapshot = describe_snapshot(aws, region, identifier, step, kind)
    return tags.owned(settings, snapshot, region) if snapshot else None


def event_snapshot(
    settings: Settings,
    aws: Aws,
    event: RdsSnapshotEvent | CopyFinishedEvent,
    *,
    region: str,
    role: tags.Role,
    step: str,
    known: Mapping[str, tags.Owned] | None = None,
) -> tags.Owned | str:
    """The event's snapshot if this stack made it, in ``role``, in ``region``; else the
    reason to skip it (logged once). ``known``: our snapshots of that region this
    invocation has just read (lower-cased id → record, e.g. a fill's view): one found there
    is not described again; one not found there is.

    Raises a retryable StepFailed while the snapshot is not available yet: RDS events are
    best effort and may arrive early, and a retry beats acting too soon.
    """
    arn = event.snapshot
    logger.append_keys(snapshot=arn.identifier, region=arn.region)
    if skipped := out_of_scope(settings, arn, [region]):
        return skipped
    kind = of_arn_kind(arn.kind)
    found = (known or {}).get(arn.identifier.lower())
    if found is not None and found.kind is kind and found.region == arn.region:
        owned: tags.Owned | None = found
    else:
        owned = find_owned(settings, aws, arn.region, arn.identifier, step, kind)
    if owned is None or owned.role is not role:
        logger.info("ignored: snapshot gone or not made by this stack", role=role.value)
        return "not ours or gone"
    logger.append_keys(database=owned.database, run=owned.run)
    if not owned.available:
        raise StepFailed(
            step,
            f"{role.value} snapshot is {owned.status}, not available",
            database=owned.database,
            snapshot=owned.identifier,
            region=arn.region,
            code="InvalidDBClusterSnapshotStateFault"
            if owned.cluster
            else "InvalidDBSnapshotState",
        )
    return owned
