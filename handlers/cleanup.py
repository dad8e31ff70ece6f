"""cleanup: the daily schedule → delete this stack's snapshots past retention, both regions.

Event model: events/schedule.py (ScheduledEvent). Sample: scheduled.json. Rule and IAM:
infra/functions/cleanup.yml.
Step: rds_backup/steps/cleanup.py (the rules: rds_backup/model/retention.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import ScheduledEvent
from events.parse import parse_event
from rds_backup import clock
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.cleanup import apply_cleanup, plan_cleanup


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: ScheduledEvent = parse_event(event, ScheduledEvent)
    logger.append_keys(event_time=parsed.time, replay=parsed.replay_name)
    settings, aws = load_settings(), get_aws()
    # Age is measured against the clock, not the event: a replayed schedule deletes no more.
    plan = plan_cleanup(settings, aws, clock.now())
    result = apply_cleanup(plan, settings, aws)
    return result.as_dict()
