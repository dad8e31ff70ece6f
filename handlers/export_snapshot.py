"""export_snapshot: the export slots. RDS-EVENT-0060 (copy finished, target region) → export
the copy to S3; RDS-EVENT-0159/0160/0161 (an export ended, either region) → the freed export
slot starts the oldest waiting export (rds_backup/limits/). Clusters: "Cluster Copy
Finished" with Outcome available (our own event, rds_backup/steps/check_copy.py: RDS has none)
→ export the cluster copy; RDS-EVENT-0162/0163/0164 (a cluster export ended) → fill.

Event models: events/rds.py (RdsSnapshotEvent), events/copy_finished.py (CopyFinishedEvent).
Samples: rds-0060-copy-finished.json, rds-0159-export-failed.json,
rds-0160-export-canceled.json, rds-0161-export-completed.json,
rds-cluster-0164-export-completed.json, cluster-copy-finished.json.
Rule and IAM: infra/functions/export_snapshot.yml (the event is forwarded from the target
region by infra/target-region/).
Step: rds_backup/steps/export_snapshot.py.
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
from rds_backup.steps.export_snapshot import on_copy_finished, on_export_ended

EXPORT_ENDED = {
    RdsEventKind.EXPORT_COMPLETED,
    RdsEventKind.EXPORT_FAILED,
    RdsEventKind.EXPORT_CANCELED,
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent | CopyFinishedEvent = parse_event(
        event, RdsSnapshotEvent | CopyFinishedEvent
    )
    if isinstance(parsed, CopyFinishedEvent):
        if parsed.kind is RdsEventKind.COPY_FINISHED:
            return on_copy_finished(load_settings(), get_aws(), parsed)
        logger.info("ignored: the cluster copy did not finish", outcome=parsed.detail.outcome)
        return {"skipped": parsed.detail.outcome}
    if parsed.kind is RdsEventKind.COPY_FINISHED:
        return on_copy_finished(load_settings(), get_aws(), parsed)
    if parsed.kind in EXPORT_ENDED:
        return on_export_ended(load_settings(), get_aws(), parsed)
    logger.info("ignored: neither a copy finished nor an export ended", kind=parsed.kind.value)
    return {"skipped": parsed.kind.value}
