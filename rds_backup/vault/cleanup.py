"""The vault's own retention: its copies older than VAULT_RETENTION_DAYS are deleted, except
what GFS (VAULT_KEEP_DAILY / WEEKLY / MONTHLY) and MIN_KEEP keep, decided by the main
chain's rules (rds_backup/model/retention.py). Ownership-exact: only the vault's own copies
(rds_backup/vault/state.py ``held``) are ever considered; the source account's retention
never reaches here, and nothing the source does shortens this one."""

from __future__ import annotations

from typing import Any

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.model.retention import Policy, Snapshot, decide
from rds_backup.model.tags import Role
from rds_backup.observability import count, logger
from rds_backup.vault.plan import Held
from rds_backup.vault.settings import VaultSettings
from rds_backup.vault.state import delete_copy, list_held

STEP = "vault_cleanup"


def policy_of(settings: VaultSettings) -> Policy:
    return Policy(
        retention_days=settings.retention_days,
        source_region="",  # the vault has no source snapshots of its own
        target_region=settings.vault_region,
        min_keep=settings.min_keep,
        keep_daily=settings.keep_daily,
        keep_weekly=settings.keep_weekly,
        keep_monthly=settings.keep_monthly,
    )


def _as_snapshot(settings: VaultSettings, copy: Held) -> Snapshot:
    database = copy.identifier[len(settings.snapshot_prefix) + 1 :].rsplit("-", 2)[0]
    return Snapshot(
        region=settings.vault_region,
        identifier=copy.identifier,
        arn=copy.arn,
        status=copy.status,
        created=copy.created,
        database=database.lower(),
        role=Role.COPY,
        kind=copy.kind,
    )


def cleanup(settings: VaultSettings, aws: Aws, dry_run: bool = False) -> dict[str, Any]:
    copies = list_held(settings, aws, STEP)
    decisions = decide(
        [_as_snapshot(settings, c) for c in copies], (), policy_of(settings), clock.now()
    )
    deleted = []
    for copy, decision in zip(copies, decisions, strict=True):
        if not decision.delete:
            continue
        if not dry_run:
            delete_copy(settings, aws, copy, STEP)
        deleted.append(copy.identifier)
        logger.info(
            "vault copy past retention", snapshot=copy.identifier, age_days=decision.age_days
        )
    if deleted and not dry_run:
        count("VaultCopyDeleted", len(deleted))
    return {"kept": len(copies) - len(deleted), "deleted": deleted, "dry_run": dry_run}
