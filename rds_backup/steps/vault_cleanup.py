"""vault_cleanup (the vault account's stack): the vault's own retention, ownership-exact
(rds_backup/vault/cleanup.py)."""

from __future__ import annotations

from typing import Any

from rds_backup.aws import Aws
from rds_backup.vault.cleanup import cleanup
from rds_backup.vault.settings import VaultSettings


def on_schedule(settings: VaultSettings, aws: Aws) -> dict[str, Any]:
    return cleanup(settings, aws)
