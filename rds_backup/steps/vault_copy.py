"""vault_copy (the vault account's stack, infra/vault/serverless.yml): every trigger runs the
vault's one pass (rds_backup/vault/copy.py): report finished copies, fill the copy slots.
A "Snapshot Shared With Vault" from another account than SOURCE_ACCOUNT_ID is ignored (the
bus policy admits none; this is the second lock)."""

from __future__ import annotations

from typing import Any

from events.rds import RdsSnapshotEvent
from events.schedule import ScheduledEvent
from events.vault import SharedWithVaultEvent
from rds_backup.aws import Aws
from rds_backup.observability import logger
from rds_backup.vault.copy import sync
from rds_backup.vault.settings import VaultSettings


def on_event(
    settings: VaultSettings,
    aws: Aws,
    event: SharedWithVaultEvent | RdsSnapshotEvent | ScheduledEvent,
) -> dict[str, Any]:
    if isinstance(event, SharedWithVaultEvent):
        arn = event.snapshot
        logger.append_keys(snapshot=arn.identifier, database=event.detail.database)
        if arn.account != settings.source_account_id:
            logger.info("ignored: shared by another account than SOURCE_ACCOUNT_ID")
            return {"skipped": "other account"}
    return sync(settings, aws)
