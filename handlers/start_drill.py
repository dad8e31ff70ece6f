"""start_drill: the daily drill schedule → restore drills whose day has come, within the
drill slots (DRILL_CONCURRENCY) and the target region's DB instances quota.

Event model: events/schedule.py (ScheduledEvent). Sample: scheduled.json.
Rule and IAM: infra/functions/start_drill.yml.
Step: rds_backup/steps/start_drill.py (the drills: rds_backup/drills/).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import ScheduledEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.start_drill import start_drills


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: ScheduledEvent = parse_event(event, ScheduledEvent)
    logger.append_keys(event_time=parsed.time, replay=parsed.replay_name)
    return start_drills(load_settings(), get_aws())
