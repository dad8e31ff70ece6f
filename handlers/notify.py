"""notify: export/copy outcomes and handler failures → one email per run outcome.

Reacts to RDS-EVENT-0161 (export completed), 0159 (failed), 0160 (canceled), 0061 (copy
canceled) from either region, and to "Lambda Function Invocation Result - Failure"
events from the other handlers' on-failure destination. Also deletes the source
snapshot when KEEP_SOURCE_SNAPSHOT=false and nothing still needs it.

Event models: events/rds.py, events/lambda_failure.py. Samples: rds-0159/0160/0161-*.json,
rds-0061-copy-canceled.json, lambda-invocation-failure.json.
Rule and IAM: infra/functions/notify.yml.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import LambdaFailureEvent, RdsSnapshotEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.notify import on_handler_failure, on_rds_event
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: RdsSnapshotEvent | LambdaFailureEvent = parse_event(
        event, RdsSnapshotEvent | LambdaFailureEvent
    )
    settings = load_settings()
    if isinstance(parsed, LambdaFailureEvent):
        return on_handler_failure(settings, get_aws(), parsed, context)
    return on_rds_event(settings, get_aws(), parsed, context)
