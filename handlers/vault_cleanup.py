"""vault_cleanup (vault account): the cleanup schedule → delete the vault's own copies past
VAULT_RETENTION_DAYS, except what VAULT_KEEP_* and MIN_KEEP keep
(rds_backup/vault/cleanup.py). Its role is the only one an SCP lets delete in the vault
account (docs/VAULT.md).

Event model: events/schedule.py. Sample: scheduled.json.
Rule and IAM: infra/vault/serverless.yml.
Step: rds_backup/steps/vault_cleanup.py → rds_backup/vault/cleanup.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import ScheduledEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.steps.vault_cleanup import on_schedule
from rds_backup.vault.settings import load_vault_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parse_event(event, ScheduledEvent)
    return on_schedule(load_vault_settings(), get_aws())
