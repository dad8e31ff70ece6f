"""The vault's one pass, run by every trigger (handlers/vault_copy.py): the "Snapshot
Shared With Vault" event, RDS-EVENT-0060 of a vault copy (a cross-Region copy finished),
and the reconcile schedule (a lost event; a same-Region copy, for which RDS documents no
event; a slot freed while nothing else happened):

1. read what the source shares with the vault and the copies the vault holds;
2. report each finished copy whose share is still there ("Vault Copy Finished", available:
   the source removes the share, so the report stops by itself) and each failed one (the
   source tells a person, once; the share stays, so the copy is retried once the person
   has deleted the failed copy);
3. fill the copy slots, oldest run first, through the main chain's filler
   (rds_backup/limits/ ``fill_slots``): at most 20 DB snapshot copies / 5 DB cluster
   snapshot copies in progress, never beyond the manual snapshot quota; a refusal for the
   limit (SnapshotQuotaExceeded) stops the fill and the rest keep waiting; a copy refused
   for another reason is reported failed and the fill goes on.

Exactly once: the copy id is the shared snapshot's (derived) id, so a second start is
refused by RDS as AlreadyExists and counted as made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rds_backup.aws import Aws
from rds_backup.errors import SNAPSHOT_QUOTA_CODE, StepFailed
from rds_backup.limits import Filled, Slot, fill_slots, manual_snapshot_usage
from rds_backup.model.kinds import Kind
from rds_backup.observability import count, logger
from rds_backup.vault.plan import Shared, plan
from rds_backup.vault.settings import VaultSettings
from rds_backup.vault.state import STEP, list_held, list_shared, report, start_copy


def sync(settings: VaultSettings, aws: Aws) -> dict[str, Any]:
    """Report what finished, then copy what waits while slots are free."""
    shared = list_shared(settings, aws)
    copies = list_held(settings, aws)
    first = plan(shared, copies)
    quota_free = None
    if first.waiting_count:
        quota_free = {
            kind: manual_snapshot_usage(aws, settings.vault_region, STEP, kind).free
            for kind, items in first.waiting.items()
            if items
        }
    decided = plan(shared, copies, quota_free)
    for item, copy in decided.finished:
        report(settings, aws, item, "available", copy.arn)
    for item, copy in decided.failed:
        report(settings, aws, item, "failed", copy.arn, f"the vault copy is {copy.status}")
    result: dict[str, Any] = {
        "shared": len(shared),
        "reported": len(decided.finished),
        "failed": [item.identifier for item, _ in decided.failed],
    }
    for kind, waiting in decided.waiting.items():
        if not waiting:
            continue
        result[kind.value] = _fill(settings, aws, kind, waiting, decided.free[kind], quota_free)
    return result


def _fill(
    settings: VaultSettings,
    aws: Aws,
    kind: Kind,
    waiting: list[Shared],
    free: int,
    quota_free: dict[Kind, int] | None,
) -> dict[str, Any]:
    filled = Filled(Slot.COPY, free)
    failed: list[str] = []

    def start(item: Shared) -> str:
        try:
            return start_copy(settings, aws, item)
        except StepFailed as failure:
            if failure.code == SNAPSHOT_QUOTA_CODE:
                raise
            cause = failure.cause + (f" Fix: {failure.remedy}" if failure.remedy else "")
            logger.error("vault copy refused", snapshot=item.identifier, code=failure.code)
            report(settings, aws, item, "failed", cause=f"{failure.code}: {cause}")
            failed.append(item.identifier)
            return "failed"

    def refused(failure: StepFailed, rest: Sequence[Shared]) -> None:
        logger.info("vault copies wait for a slot", waiting=len(rest), cause=failure.cause)

    fill_slots(filled, waiting, start, SNAPSHOT_QUOTA_CODE, refused)
    if quota_free is not None and quota_free.get(kind, 1) == 0 and filled.waiting:
        # The quota does not drain by itself: a person raises it or lowers the retention.
        logger.error(
            "the vault's manual snapshot quota is reached; copies wait (nothing is lost: they "
            "stay shared). Raise the quota (Service Quotas, Amazon RDS, "
            "'Manual DB instance snapshots') or lower VAULT_RETENTION_DAYS / VAULT_KEEP_*",
            kind=kind.value,
            waiting=len(filled.waiting),
            region=settings.vault_region,
        )
        count("VaultQuotaReached")
    answer = filled.as_dict()
    if failed:
        answer["failed"] = failed
    return answer
