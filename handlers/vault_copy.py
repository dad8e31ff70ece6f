"""vault_copy (vault account): "Snapshot Shared With Vault" from the source account,
RDS-EVENT-0060 of a vault copy (a cross-Region copy finished) and the reconcile schedule →
one pass: report finished copies to the source bus, copy what waits while slots are free
(rds_backup/vault/copy.py).

Event models: events/vault.py (SharedWithVaultEvent), events/rds.py, events/schedule.py.
Samples: snapshot-shared-with-vault.json, rds-0060-copy-finished.json, scheduled.json.
Rule and IAM: infra/vault/serverless.yml.
Step: rds_backup/steps/vault_copy.py → rds_backup/vault/copy.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import RdsSnapshotEvent, ScheduledEvent
from events.parse import parse_event
from events.vault import SharedWithVaultEvent
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.steps.vault_copy import on_event
from rds_backup.vault.settings import load_vault_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: SharedWithVaultEvent | RdsSnapshotEvent | ScheduledEvent = parse_event(
        event, SharedWithVaultEvent | RdsSnapshotEvent | ScheduledEvent
    )
    return on_event(load_vault_settings(), get_aws(), parsed)
