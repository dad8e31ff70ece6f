"""notify: export/copy outcomes and handler failures → one email per run outcome.

Reacts to RDS-EVENT-0161 (export completed), 0159 (failed), 0160 (canceled), 0060 (copy
finished: release the source; a run without an export tonight is done), 0061 (copy
canceled) from either region; to "Lambda Function Invocation Result - Failure" events from
the other handlers' on-failure destination; and to "Snapshot Quota Reached" (the manual
snapshot quota stopped part of a run); to "Cluster Copy Finished" (our own event: a cluster
copy is available, failed or vanished; rds_backup/steps/check_copy.py). Also deletes the source
snapshot when KEEP_SOURCE_SNAPSHOT=false and nothing still needs it.

Event models: events/rds.py, events/lambda_failure.py, events/quota.py,
events/copy_finished.py. Samples: rds-0159/0160/0161-*.json, rds-0060/0061-copy-*.json,
rds-cluster-0164-*.json, lambda-invocation-failure.json, snapshot-quota-reached.json,
cluster-copy-finished.json.
Rule and IAM: infra/functions/notify.yml.
Step: rds_backup/steps/notify.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import CopyFinishedEvent, LambdaFailureEvent, RdsSnapshotEvent, SnapshotQuotaEvent
from events.drill import DrillFinishedEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.notify import (
    on_cluster_copy_ended,
    on_drill_finished,
    on_handler_failure,
    on_quota_reached,
    on_rds_event,
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: (
        RdsSnapshotEvent
        | LambdaFailureEvent
        | SnapshotQuotaEvent
        | CopyFinishedEvent
        | DrillFinishedEvent
    ) = parse_event(
        event,
        RdsSnapshotEvent
        | LambdaFailureEvent
        | SnapshotQuotaEvent
        | CopyFinishedEvent
        | DrillFinishedEvent,
    )
    settings = load_settings()
    if isinstance(parsed, LambdaFailureEvent):
        return on_handler_failure(settings, get_aws(), parsed, context)
    if isinstance(parsed, SnapshotQuotaEvent):
        return on_quota_reached(settings, get_aws(), parsed, context)
    if isinstance(parsed, CopyFinishedEvent):
        return on_cluster_copy_ended(settings, get_aws(), parsed, context)
    if isinstance(parsed, DrillFinishedEvent):
        return on_drill_finished(settings, get_aws(), parsed, context)
    return on_rds_event(settings, get_aws(), parsed, context)
