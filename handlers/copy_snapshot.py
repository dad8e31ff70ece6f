"""copy_snapshot: the copy slots. RDS-EVENT-0042 (our snapshot created, source region) →
cross-region copy; RDS-EVENT-0060/0061 (a copy ended, target region, forwarded) → the freed
copy slot starts the oldest waiting copy (rds_backup/limits/). Clusters: RDS-EVENT-0075
(our cluster snapshot created) → cluster copy; "Cluster Copy Finished" (our own event, any
outcome: rds_backup/steps/check_copy.py) → the freed cluster copy slot is filled.

Event models: events/rds.py (RdsSnapshotEvent), events/copy_finished.py (CopyFinishedEvent).
Samples: rds-0042-snapshot-created.json, rds-0060-copy-finished.json,
rds-0061-copy-canceled.json, rds-cluster-0075-snapshot-created.json,
cluster-copy-finished.json.
Rule and IAM: infra/functions/copy_snapshot.yml.
Step: rds_backup/steps/copy_snapshot.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import CopyFinishedEvent, RdsEventKind, RdsSnapshotEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.copy_snapshot import on_copy_ended, on_snapshot_created

COPY_ENDED = {RdsEventKind.COPY_FINISHED, RdsEventKind.COPY_CANCELED}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent | CopyFinishedEvent = parse_event(
        event, RdsSnapshotEvent | CopyFinishedEvent
    )
    if isinstance(parsed, CopyFinishedEvent):
        return on_copy_ended(load_settings(), get_aws(), parsed)
    if parsed.kind is RdsEventKind.SNAPSHOT_CREATED:
        return on_snapshot_created(load_settings(), get_aws(), parsed)
    if parsed.kind in COPY_ENDED:
        return on_copy_ended(load_settings(), get_aws(), parsed)
    logger.info("ignored: neither a snapshot created nor a copy ended", kind=parsed.kind.value)
    return {"skipped": parsed.kind.value}
