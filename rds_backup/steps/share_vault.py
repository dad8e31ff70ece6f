"""share_vault: each night's copy also goes to the vault account (docs/VAULT.md).

- Our copy is available in TARGET_REGION (RDS-EVENT-0060 for a DB snapshot copy, "Cluster
  Copy Finished" with Outcome available for a cluster copy: the same events export_snapshot
  starts from) → check its key can be shared, add the vault account to its ``restore``
  attribute, and put "Snapshot Shared With Vault" on the vault's bus (VAULT_EVENT_BUS_ARN):
  an account is told nothing by RDS when a snapshot is shared with it.
- "Vault Copy Finished" from the vault (on the default bus, allowed by its bus policy) →
  Outcome available: tag our copy with the vault copy's ARN (``rds-backup:vault-copy``,
  what status shows) and remove the share (the vault holds its own copy, on its own key);
  failed: keep the share (the vault's reconcile retries while it is shared) and fail with
  the vault's cause, so a person reads it once (notify, keys.failure).

A copy whose key cannot be shared (the AWS managed ``aws/rds``; a customer managed key whose
policy does not allow the vault account) is **refused with the fix**, not re-encrypted:
re-encrypting is one more manual snapshot per database and night against the quota and the
copy slots, while the fix is one setting or two key policy statements, made once. The
refusal is a StepFailed with code VaultKeyNotShareable: after Lambda's retries, notify
emails it once per run and database with the remedy.

Duplicated or replayed events are harmless: sharing twice changes nothing, the vault's copy
id is derived (one copy), and removing an absent share is a no-op.
"""

from __future__ import annotations

from typing import Any

from events.copy_finished import CopyFinishedEvent
from events.rds import RdsSnapshotEvent
from events.vault import SHARED, SOURCE, VaultCopyFinishedEvent
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.model import tags
from rds_backup.model.kinds import of_arn_kind
from rds_backup.model.scope import out_of_scope
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.bus import put_event_on
from rds_backup.state.sharing import key_verdict, record_vault_copy, set_shared
from rds_backup.state.snapshots import event_snapshot, find_owned

STEP = "share_vault"
KEY_NOT_SHAREABLE = "VaultKeyNotShareable"
VAULT_COPY_FAILED = "VaultCopyFailed"


def on_copy_available(
    settings: Settings, aws: Aws, event: RdsSnapshotEvent | CopyFinishedEvent
) -> dict[str, Any]:
    """Share the available copy with the vault and tell the vault."""
    vault = settings.vault_account_id
    if vault is None or settings.vault_event_bus_arn is None:
        return {"skipped": "no vault (VAULT_ACCOUNT_ID unset)"}
    copy = event_snapshot(
        settings, aws, event, region=settings.target_region, role=tags.Role.COPY, step=STEP
    )
    if isinstance(copy, str):
        return {"skipped": copy}
    verdict = key_verdict(aws, copy, vault, STEP)
    if not verdict.shareable:
        raise StepFailed(
            STEP,
            f"the copy is {verdict.why}; it was not shared with the vault account {vault}",
            database=copy.database,
            snapshot=copy.identifier,
            region=copy.region,
            code=KEY_NOT_SHAREABLE,
            remedy=_key_remedy(settings, vault, verdict.key, verdict.aws_managed),
        )
    set_shared(aws, copy, vault, STEP, shared=True)
    put_event_on(
        aws,
        copy.region,
        STEP,
        source=SOURCE,
        detail_type=SHARED,
        detail={"SnapshotArn": copy.arn, "Database": copy.database, "Run": copy.run},
        resources=[copy.arn],
        bus_arn=settings.vault_event_bus_arn,
    )
    logger.info("copy shared with the vault", vault_account=vault, key=verdict.key)
    count("SharedWithVault")
    return {"shared": copy.arn, "vault_account": vault}


def on_vault_copy_finished(
    settings: Settings, aws: Aws, event: VaultCopyFinishedEvent
) -> dict[str, Any]:
    """The vault reports its copy: remove the share (available), or tell a person (failed)."""
    vault = settings.vault_account_id
    if vault is None:
        return {"skipped": "no vault (VAULT_ACCOUNT_ID unset)"}
    arn = event.snapshot
    logger.append_keys(snapshot=arn.identifier, region=arn.region)
    if skipped := out_of_scope(settings, arn, [settings.target_region]):
        return {"skipped": skipped}
    copy = find_owned(settings, aws, arn.region, arn.identifier, STEP, of_arn_kind(arn.kind))
    if copy is None or copy.role is not tags.Role.COPY:
        logger.info("ignored: the shared copy is gone or not ours")
        return {"skipped": "not ours or gone"}
    if event.detail.outcome == "failed":
        raise StepFailed(
            STEP,
            f"the vault account {vault} could not copy the shared copy: {event.detail.cause}",
            database=copy.database,
            snapshot=copy.identifier,
            region=copy.region,
            code=VAULT_COPY_FAILED,
            remedy=(
                "The share is kept, so the vault's reconcile copies it again once the cause "
                "is fixed (docs/VAULT.md, 'When a vault copy fails')."
            ),
        )
    if event.detail.vault_copy_arn:
        record_vault_copy(aws, copy, event.detail.vault_copy_arn, STEP)
    set_shared(aws, copy, vault, STEP, shared=False)
    logger.info("vault holds its copy; share removed", vault_copy=event.detail.vault_copy_arn)
    count("VaultShareRemoved")
    return {"unshared": copy.arn, "vault_copy": event.detail.vault_copy_arn}


def _key_remedy(settings: Settings, vault: str, key: str | None, aws_managed: bool) -> str:
    where = settings.target_region
    if aws_managed or key is None:
        first = (
            f"Encrypt the copies with a customer managed key in {where}: set TARGET_KMS_KEY_ID "
            "(or KMS_KEY_ID) to it and redeploy; the default aws/rds key can never be shared"
        )
    else:
        first = f"Add the two statements of docs/VAULT.md ('Key policies') for account {vault}"
        first += f" to the policy of {key}"
    return (
        f"{first}. Then the next night's copy is shared by itself; to vault tonight's copy, "
        "replay its copy-finished event (rds-backup replay) after the fix."
    )
