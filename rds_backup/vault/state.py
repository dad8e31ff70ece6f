"""The vault's AWS reads and writes, in the vault account: what the source shares with it,
the copies it holds, its copies, its reports to the source bus, its deletions.

AWS facts:
- DescribeDBSnapshots / DescribeDBClusterSnapshots with ``SnapshotType="shared"`` list the
  manual snapshots other accounts share with the caller in that region (API reference,
  SnapshotType "shared"); a shared snapshot is named by its ARN.
- CopyDBSnapshot of a shared encrypted snapshot must name a key of the caller's
  (``KmsKeyId``: "If you copy an encrypted DB snapshot that is shared from another AWS
  account, then you must specify a value for this parameter"); a DB snapshot may come from
  another account and region in one call ("You can also specify an ARN of a snapshot that
  is in a different account and a different AWS Region"). A DB cluster snapshot shared
  from another account is copied in its own region (Aurora User Guide, "Copying a DB
  cluster snapshot across accounts"): a vault in another region refuses it with the fix.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.vault import VAULT_COPY_FINISHED, VAULT_SOURCE
from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model import tags
from rds_backup.model.kinds import KINDS, Kind, api, kind_of
from rds_backup.model.naming import parse_snapshot_id
from rds_backup.observability import count, logger
from rds_backup.state.bus import put_event_on
from rds_backup.vault.plan import DATABASE_TAG, RUN_TAG, SOURCE_TAG, VAULT_TAG, Held, Shared
from rds_backup.vault.settings import VaultSettings

STEP = "vault_copy"


def _pages(aws: Aws, region: str, kind: Kind, step: str, **params: Any) -> list[dict[str, Any]]:
    spec = api(kind)
    try:
        pages = aws.rds(region).get_paginator(spec.describe).paginate(**params)  # type: ignore[call-overload]
        return [dict(item) for page in pages for item in page.get(spec.list_key) or []]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error


def list_shared(settings: VaultSettings, aws: Aws, step: str = STEP) -> list[Shared]:
    """The source account's snapshots of ours shared with the vault, both kinds."""
    found = []
    for kind in KINDS:
        for raw in _pages(aws, settings.shared_region, kind, step, SnapshotType="shared"):
            arn = str(raw.get(api(kind).arn_field, ""))
            identifier = arn.rsplit(":", 1)[-1]
            parts = arn.split(":")
            if len(parts) < 7 or parts[4] != settings.source_account_id:
                continue
            parsed = parse_snapshot_id(settings.snapshot_prefix, identifier)
            if parsed is None:
                continue  # not a snapshot of the chain's (another tool's share)
            found.append(
                Shared(
                    arn=arn,
                    identifier=identifier,
                    kind=kind,
                    status=str(raw.get("Status", "")),
                    database=parsed[0],
                    run=parsed[1],
                )
            )
    return found


def held(settings: VaultSettings, raw: dict[str, Any]) -> Held | None:
    """The vault's own copy, or None. Ownership is exact: a manual snapshot tagged
    VAULT_TAG with this stack's name, whose id is the id of the shared snapshot it names
    in SOURCE_TAG, of the source account, with our prefix. Anything else (a person's copy,
    another stack's, a look-alike with copied tags) is never touched."""
    found = tags.as_dict(raw.get("TagList"))
    kind = kind_of(raw)
    identifier = str(raw.get(api(kind).id_field, ""))
    source = found.get(SOURCE_TAG, "")
    if raw.get("SnapshotType", "manual") != "manual":
        return None
    if found.get(VAULT_TAG) != settings.stack_name:
        return None
    parts = source.split(":")
    if len(parts) < 7 or parts[4] != settings.source_account_id:
        return None
    if parts[-1].lower() != identifier.lower():
        return None
    if parse_snapshot_id(settings.snapshot_prefix, identifier) is None:
        return None
    return Held(
        arn=str(raw.get(api(kind).arn_field, "")),
        identifier=identifier,
        kind=kind,
        status=str(raw.get("Status", "")),
        source_arn=source,
        created=raw.get("SnapshotCreateTime"),
        key_id=raw.get("KmsKeyId"),
    )


def list_held(settings: VaultSettings, aws: Aws, step: str = STEP) -> list[Held]:
    copies = []
    for kind in KINDS:
        for raw in _pages(aws, settings.vault_region, kind, step, SnapshotType="manual"):
            copy = held(settings, raw)
            if copy is not None:
                copies.append(copy)
    return copies


def start_copy(settings: VaultSettings, aws: Aws, item: Shared) -> str:
    """Copy the shared snapshot into the vault with the vault key, tagged as the vault's
    own, under the same (derived) id: "started", or "exists" (a duplicated or replayed
    event, or a racing pass, made it first: RDS refuses the second, atomically)."""
    copy_tags = tags.as_list(
        {
            VAULT_TAG: settings.stack_name,
            SOURCE_TAG: item.arn,
            DATABASE_TAG: item.database,
            RUN_TAG: item.run,
        }
    )
    rds = aws.rds(settings.vault_region)
    try:
        if item.kind is Kind.CLUSTER:
            extra: dict[str, Any] = {}
            if not settings.one_region:
                extra["SourceRegion"] = settings.shared_region
            rds.copy_db_cluster_snapshot(
                SourceDBClusterSnapshotIdentifier=item.arn,
                TargetDBClusterSnapshotIdentifier=item.identifier,
                KmsKeyId=settings.vault_kms_key_id,
                Tags=copy_tags,
                CopyTags=False,
                **extra,
            )
        else:
            request: dict[str, Any] = {
                "SourceDBSnapshotIdentifier": item.arn,
                "TargetDBSnapshotIdentifier": item.identifier,
                "KmsKeyId": settings.vault_kms_key_id,
                "Tags": copy_tags,
                "CopyTags": False,
            }
            if not settings.one_region:
                request["SourceRegion"] = settings.shared_region  # boto3 presigns it
            rds.copy_db_snapshot(**request)
    except (ClientError, BotoCoreError) as error:
        if isinstance(error, ClientError) and is_code(error, *api(item.kind).already_exists):
            logger.info("vault copy already exists; duplicate or replayed event")
            return "exists"
        failure = step_failed(
            STEP,
            error,
            database=item.database,
            snapshot=item.identifier,
            region=settings.vault_region,
            key=settings.vault_kms_key_id,
        )
        if (
            isinstance(error, ClientError)
            and is_code(error, "InvalidParameterCombination")
            and item.kind is Kind.CLUSTER
        ):
            failure.remedy = (
                "A DB cluster snapshot shared from another account is copied in its own "
                f"Region: deploy the vault with VAULT_REGION={settings.shared_region}."
            )
        raise failure from error
    logger.info("vault copy started", snapshot=item.identifier, kind=item.kind.value)
    count("VaultCopyStarted")
    return "started"


def report(
    settings: VaultSettings,
    aws: Aws,
    item: Shared,
    outcome: str,
    vault_copy_arn: str = "",
    cause: str = "",
) -> None:
    """Put "Vault Copy Finished" on the source account's bus (its policy allows us)."""
    detail = {"SnapshotArn": item.arn, "Outcome": outcome, "VaultCopyArn": vault_copy_arn}
    if cause:
        detail["Cause"] = cause[:2000]
    put_event_on(
        aws,
        settings.vault_region,
        STEP,
        source=VAULT_SOURCE,
        detail_type=VAULT_COPY_FINISHED,
        detail=detail,
        resources=[item.arn],
        bus_arn=settings.source_event_bus_arn,
    )
    logger.info("reported to the source", outcome=outcome, snapshot=item.identifier)


def delete_copy(settings: VaultSettings, aws: Aws, copy: Held, step: str) -> None:
    rds = aws.rds(settings.vault_region)
    try:
        if copy.kind is Kind.CLUSTER:
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=copy.identifier)
        else:
            rds.delete_db_snapshot(DBSnapshotIdentifier=copy.identifier)
    except ClientError as error:
        if is_code(error, *api(copy.kind).not_found):
            return
        raise step_failed(
            step, error, snapshot=copy.identifier, region=settings.vault_region
        ) from error
    except BotoCoreError as error:
        raise step_failed(
            step, error, snapshot=copy.identifier, region=settings.vault_region
        ) from error
