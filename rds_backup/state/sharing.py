"""Sharing our copies with the vault account (ModifyDB[Cluster]SnapshotAttribute, attribute
``restore``) and reading whether the copy's key can be shared (KMS DescribeKey and
GetKeyPolicy). Writes only to snapshots this stack owns; the caller proved it
(rds_backup/model/tags.py ``owned``).

RDS facts: a manual snapshot is shared by adding the account to its ``restore`` attribute
and unshared by removing it (API reference, ModifyDBSnapshotAttribute /
ModifyDBClusterSnapshotAttribute: ValuesToAdd / ValuesToRemove); up to 20 accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, step_failed
from rds_backup.model import key_policy
from rds_backup.model.kinds import Kind
from rds_backup.model.tags import VAULT_COPY, Owned

RESTORE = "restore"


def set_shared(aws: Aws, snapshot: Owned, account: str, step: str, shared: bool) -> None:
    """Add ``account`` to (``shared``) or remove it from the snapshot's ``restore``
    attribute. Both are idempotent on RDS: adding a present account or removing an absent
    one changes nothing."""
    change = {"ValuesToAdd" if shared else "ValuesToRemove": [account]}
    rds = aws.rds(snapshot.region)
    try:
        if snapshot.kind is Kind.CLUSTER:
            rds.modify_db_cluster_snapshot_attribute(
                DBClusterSnapshotIdentifier=snapshot.identifier, AttributeName=RESTORE, **change
            )
        else:
            rds.modify_db_snapshot_attribute(
                DBSnapshotIdentifier=snapshot.identifier, AttributeName=RESTORE, **change
            )
    except (ClientError, BotoCoreError) as error:
        raise _failed(step, error, snapshot) from error


@dataclass(frozen=True)
class KeyVerdict:
    """Whether the copy's key lets the vault account copy it; ``why`` when it does not."""

    shareable: bool
    key: str | None  # the key's ARN (None: not encrypted)
    why: str = ""
    aws_managed: bool = False  # aws/rds: no key policy change can make it shareable


def key_verdict(aws: Aws, snapshot: Owned, account: str, step: str) -> KeyVerdict:
    """Read the copy's key: none (unencrypted, shareable), AWS managed (``aws/rds``: never
    shareable), or customer managed (shareable when its policy allows ``account``)."""
    raw = snapshot.raw
    key = raw.get("KmsKeyId")
    if not raw.get("Encrypted", bool(key)) or not key:
        return KeyVerdict(True, None)
    kms = aws.client("kms", snapshot.region)
    try:
        metadata = kms.describe_key(KeyId=str(key))["KeyMetadata"]
        if metadata.get("KeyManager") == "AWS":
            return KeyVerdict(
                False,
                str(metadata.get("Arn", key)),
                "encrypted with the AWS managed key aws/rds, which cannot be shared",
                aws_managed=True,
            )
        policy = kms.get_key_policy(KeyId=str(key), PolicyName="default")["Policy"]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            step, error, snapshot=snapshot.identifier, region=snapshot.region, key=str(key)
        ) from error
    arn = str(metadata.get("Arn", key))
    if not key_policy.allows_account(policy, account):
        return KeyVerdict(
            False,
            arn,
            f"encrypted with {arn}, whose key policy does not let account {account} use it "
            "(kms:Decrypt and kms:CreateGrant)",
        )
    return KeyVerdict(True, arn)


def record_vault_copy(aws: Aws, snapshot: Owned, vault_copy_arn: str, step: str) -> None:
    """Tag our copy with where the vault keeps its own (tags.VAULT_COPY): the fact status
    shows, kept on AWS like every other fact of the chain."""
    if snapshot.tags.get(VAULT_COPY) == vault_copy_arn:
        return
    try:
        aws.rds(snapshot.region).add_tags_to_resource(
            ResourceName=snapshot.arn, Tags=[{"Key": VAULT_COPY, "Value": vault_copy_arn}]
        )
    except (ClientError, BotoCoreError) as error:
        raise _failed(step, error, snapshot) from error


def _failed(step: str, error: ClientError | BotoCoreError, snapshot: Owned) -> StepFailed:
    return step_failed(
        step,
        error,
        database=snapshot.database,
        snapshot=snapshot.identifier,
        region=snapshot.region,
    )
