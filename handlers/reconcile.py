"""reconcile: hourly schedule → finish chains whose RDS event never came, report stuck ones.

Event model: events/schedule.py (ScheduledEvent). Sample: scheduled.json.
Rule and IAM: infra/functions/reconcile.yml.
Step: rds_backup/steps/reconcile.py.
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
from rds_backup.steps.reconcile import reconcile


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: ScheduledEvent = parse_event(event, ScheduledEvent)
    return reconcile(load_settings(), get_aws(), parsed.time, context).as_dict()
