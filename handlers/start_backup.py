"""start_backup: the nightly schedule or a "Backup Requested" event → one snapshot per database.

Event models: events/schedule.py, events/backup_requested.py. Samples: scheduled.json,
backup-requested.json. Rule and IAM: infra/functions/start_backup.yml.
Step: rds_backup/steps/start_backup.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events import BackupRequestedEvent, ScheduledEvent
from events.parse import parse_event
from rds_backup import clock
from rds_backup.aws import get_aws
from rds_backup.errors import reported
from rds_backup.observability import logger, metrics
from rds_backup.settings import load_settings
from rds_backup.steps.start_backup import start_backup

# A replayed start older than this would create a snapshot for a long-past run: skip it.
MAX_REPLAYED_START_AGE = timedelta(hours=24)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@reported
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed: ScheduledEvent | BackupRequestedEvent = parse_event(
        event, ScheduledEvent | BackupRequestedEvent
    )
    if parsed.is_replay and clock.now() - parsed.time > MAX_REPLAYED_START_AGE:
        logger.warning(
            "replayed start is too old to run; skipped",
            event_time=parsed.time,
            replay=parsed.replay_name,
        )
        return {"skipped": "replayed start older than 24h"}
    databases = parsed.detail.databases if isinstance(parsed, BackupRequestedEvent) else None
    result = start_backup(load_settings(), get_aws(), parsed.time, databases)
    return result.as_dict()
