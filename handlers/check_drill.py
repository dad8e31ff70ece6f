"""check_drill: an RDS event about a drill instance or cluster (RDS-EVENT-0043 restored,
0005 created, 0003 deleted, 0016 credentials reset, 0170 cluster created; target region,
forwarded) or "Drill Check Due" (a one-time schedule) → the drill's next step: credentials,
the probe's SQL checks, deletion, the end ("Drill Finished"), then the next waiting drill.

Event models: events/drill.py (RdsDatabaseEvent, DrillCheckDueEvent). Samples:
rds-instance-0043-restored.json, rds-cluster-0170-created.json, drill-check-due.json.
Rule and IAM: infra/functions/check_drill.yml.
Step: rds_backup/steps/check_drill.py (the drills: rds_backup/drills/).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events.drill import DrillCheckDueEvent, RdsDatabaseEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.check_drill import on_check_due, on_database_event


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsDatabaseEvent | DrillCheckDueEvent = parse_event(
        event, RdsDatabaseEvent | DrillCheckDueEvent
    )
    if isinstance(parsed, DrillCheckDueEvent):
        return on_check_due(load_settings(), get_aws(), parsed)
    return on_database_event(load_settings(), get_aws(), parsed)
