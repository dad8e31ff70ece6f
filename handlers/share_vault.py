"""share_vault: our copy is available in TARGET_REGION (RDS-EVENT-0060; "Cluster Copy
Finished" with Outcome available) → share it with the vault account and put "Snapshot Shared
With Vault" on the vault's bus; "Vault Copy Finished" (from the vault account) → remove the
share, or tell a person the vault's copy failed (rds_backup/steps/share_vault.py).

Event models: events/rds.py, events/copy_finished.py, events/vault.py. Samples:
rds-0060-copy-finished.json, cluster-copy-finished.json, vault-copy-finished.json.
Rule and IAM: infra/functions/share_vault.yml.
Step: rds_backup/steps/share_vault.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import CopyFinishedEvent, RdsEventKind, RdsSnapshotEvent
from events.parse import parse_event
from events.vault import VaultCopyFinishedEvent
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.share_vault import on_copy_available, on_vault_copy_finished


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent | CopyFinishedEvent | VaultCopyFinishedEvent = parse_event(
        event, RdsSnapshotEvent | CopyFinishedEvent | VaultCopyFinishedEvent
    )
    if isinstance(parsed, VaultCopyFinishedEvent):
        return on_vault_copy_finished(load_settings(), get_aws(), parsed)
    if parsed.kind is not RdsEventKind.COPY_FINISHED:
        logger.info("ignored: no copy became available", kind=parsed.kind.value)
        return {"skipped": parsed.kind.value}
    return on_copy_available(load_settings(), get_aws(), parsed)
