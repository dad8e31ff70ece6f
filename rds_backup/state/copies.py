"""Cross-region copies: CopyDBSnapshot or CopyDBClusterSnapshot (rds_backup/model/kinds.py), called
in the target region with the source ARN.

The copy keeps the source's id (derived), so a second start of the same copy is refused by
RDS as ``DBSnapshotAlreadyExists`` / ``DBClusterSnapshotAlreadyExistsFault``: that is the
work done. When to copy is decided by :mod:`rds_backup.limits` (copies in flight per
destination region: 20 DB snapshots, 5 DB cluster snapshots). No RDS event marks a finished
cluster copy: a started one arranges its own later check (rds_backup/state/copy_checks.py).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup import clock
from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model import tags
from rds_backup.model.kinds import api
from rds_backup.model.kinds import copy as copy_snapshot
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.copy_checks import arrange_check

STEP = "copy"


def copy_to_target(settings: Settings, aws: Aws, source: tags.Owned) -> str:
    """Start the copy of ``source``; "started", or "exists" when it was already made.

    Raises StepFailed (code kept: SnapshotQuotaExceeded for the copy limit or the manual
    snapshot quota, KMS faults with the key named) for anything else.
    """
    copy_tags = tags.user_tags(source.tags) | tags.ours(
        settings,
        source.database,
        source.run,
        tags.Role.COPY,
        ",".join(source.exports),
        requested=source.requested,
    )
    if expected := source.tags.get(tags.EXPECTED_EXPORT_HOURS):
        copy_tags[tags.EXPECTED_EXPORT_HOURS] = expected  # the export queue's order
    request: dict[str, Any] = {
        "SourceDBSnapshotIdentifier": source.arn,
        "TargetDBSnapshotIdentifier": source.identifier,
        "KmsKeyId": settings.keys.target,
        "SourceRegion": settings.source_region,  # boto3 presigns the cross-region request
        "Tags": tags.as_list(copy_tags),
        "CopyTags": False,
    }
    if source.cluster and source.raw.get("StorageEncrypted") is False:
        # CopyDBClusterSnapshot, KmsKeyId (RDS API Reference): "If you copy an unencrypted
        # DB cluster snapshot and specify a value for the KmsKeyId parameter, an error is
        # returned." The copy stays unencrypted, like its source (docs/DEPLOY.md).
        del request["KmsKeyId"]
    if settings.target_option_group and not source.cluster:
        request["OptionGroupName"] = settings.target_option_group  # clusters have none
    try:
        copy_snapshot(aws.rds(settings.target_region), source.kind, request)
    except (ClientError, BotoCoreError) as error:
        if isinstance(error, ClientError) and is_code(error, *api(source.kind).already_exists):
            logger.info("copy already exists; duplicate or replayed event")
            if source.cluster:
                _observe(settings, aws, source)  # the first try may have failed before it
            return "exists"
        raise step_failed(
            STEP,
            error,
            database=source.database,
            snapshot=source.identifier,
            region=settings.target_region,
            key=settings.keys.target,
        ) from error
    if source.cluster:
        _observe(settings, aws, source)
    logger.info(
        "copy started",
        snapshot=source.identifier,
        kind=source.kind.value,
        target_region=settings.target_region,
    )
    count("CopyStarted")
    return "started"


def _observe(settings: Settings, aws: Aws, source: tags.Owned) -> None:
    """No RDS event marks a finished cluster copy: arrange its first check."""
    target = parse_snapshot_arn(source.arn).in_region(settings.target_region)
    arrange_check(settings, aws, str(target), clock.now())
