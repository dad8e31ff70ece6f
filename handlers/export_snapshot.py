"""export_snapshot: RDS-EVENT-0060 (copy finished, target region) → export the copy to S3.

Event model: events/rds.py (RdsSnapshotEvent). Sample: rds-0060-copy-finished.json.
Rule and IAM: infra/functions/export_snapshot.yml (the event is forwarded from the target
region by infra/target-region/).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import RdsEventKind, RdsSnapshotEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.export_step import on_copy_finished
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent = parse_event(event, RdsSnapshotEvent)
    if parsed.kind is not RdsEventKind.COPY_FINISHED:
        logger.info("ignored: not a copy-finished event", kind=parsed.kind.value)
        return {"skipped": parsed.kind.value}
    return on_copy_finished(load_settings(), get_aws(), parsed)
