"""The vault account's two events (docs/VAULT.md). An account receives no event when a
snapshot is shared with it (RDS User Guide, "Sharing a DB snapshot for Amazon RDS": sharing
is an attribute of the snapshot, ModifyDBSnapshotAttribute, and no RDS event category names
it), so the chain says so itself, across accounts (EventBridge User Guide, "Sending and
receiving events between AWS accounts"):

- "Snapshot Shared With Vault" (source rds-backup), put by the source account's share_vault
  on the vault's bus: this copy (``SnapshotArn``, in the source account) is shared with the
  vault; the vault copies it (rds_backup/vault/copy.py).
- "Vault Copy Finished" (source rds-backup.vault), put by the vault on the source account's
  default bus: the vault's copy of ``SnapshotArn`` is ``available`` (``VaultCopyArn``) or
  ``failed``; share_vault removes the share either way (a failed copy is told by the vault).

Both name the shared snapshot by its ARN, so region and account come from the ARN, never
from the envelope (which forwarding rewrites).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.envelope import EventBridgeEvent
from rds_backup.arns import SnapshotArn, parse_snapshot_arn

SOURCE = "rds-backup"
VAULT_SOURCE = "rds-backup.vault"
SHARED = "Snapshot Shared With Vault"
VAULT_COPY_FINISHED = "Vault Copy Finished"
DETAIL_TYPES = (SHARED, VAULT_COPY_FINISHED)


class _Shared(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    snapshot_arn: str = Field(alias="SnapshotArn", max_length=2048)  # in the source account

    @field_validator("snapshot_arn")
    @classmethod
    def _is_snapshot_arn(cls, value: str) -> str:
        parse_snapshot_arn(value)  # raises on anything but a DB (cluster) snapshot ARN
        return value

    @property
    def snapshot(self) -> SnapshotArn:
        return parse_snapshot_arn(self.snapshot_arn)


class SharedDetail(_Shared):
    database: str = Field(alias="Database", max_length=63)
    run: str = Field(alias="Run", pattern=r"^\d{8}-\d{4}$")


class VaultCopyDetail(_Shared):
    outcome: Literal["available", "failed"] = Field(alias="Outcome")
    vault_copy_arn: str = Field(default="", alias="VaultCopyArn", max_length=2048)
    cause: str = Field(default="", alias="Cause", max_length=2000)


class SharedWithVaultEvent(EventBridgeEvent[SharedDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Snapshot Shared With Vault"] = Field(alias="detail-type")

    @property
    def snapshot(self) -> SnapshotArn:
        return self.detail.snapshot


class VaultCopyFinishedEvent(EventBridgeEvent[VaultCopyDetail]):
    source: Literal["rds-backup.vault"]
    detail_type: Literal["Vault Copy Finished"] = Field(alias="detail-type")

    @property
    def snapshot(self) -> SnapshotArn:
        return self.detail.snapshot
