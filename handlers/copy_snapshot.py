"""copy_snapshot: RDS-EVENT-0042 (manual snapshot created, source region) → cross-region copy.

Event model: events/rds.py (RdsSnapshotEvent). Sample: rds-0042-snapshot-created.json.
Rule and IAM: infra/functions/copy_snapshot.yml.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import RdsEventKind, RdsSnapshotEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.copy_step import on_snapshot_created
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent = parse_event(event, RdsSnapshotEvent)
    if parsed.kind is not RdsEventKind.SNAPSHOT_CREATED:
        logger.info("ignored: not a snapshot-created event", kind=parsed.kind.value)
        return {"skipped": parsed.kind.value}
    return on_snapshot_created(load_settings(), get_aws(), parsed)
