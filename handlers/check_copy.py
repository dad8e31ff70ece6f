"""check_copy: "Cluster Copy Check Due" (put on the default bus by a one-time EventBridge
Scheduler schedule that the copy step arranged) → look at the cluster copy once: available,
failed or vanished → "Cluster Copy Finished" on the bus; still copying → the next check,
later (rds_backup/steps/check_copy.py). RDS emits no event for a finished cluster copy.

Event model: events/copy_finished.py (CopyCheckDueEvent). Sample: cluster-copy-check-due.json.
Rule and IAM: infra/functions/check_copy.yml.
Step: rds_backup/steps/check_copy.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import CopyCheckDueEvent
from events.parse import parse_event
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.check_copy import check_copy


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: CopyCheckDueEvent = parse_event(event, CopyCheckDueEvent)
    return check_copy(load_settings(), get_aws(), parsed)
