"""Settling a run: act on its current state on AWS (never on the event alone, so a late,
duplicated or replayed event sees the same truth as the first one): release the source if
allowed, and tell the outcome its state calls for, once. notify does it when an ending event
comes; reconcile when that event was lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.mail.delivery import deliver, require_idempotency_table
from rds_backup.model.naming import run_time
from rds_backup.observability import backup_succeeded, count, logger
from rds_backup.outcomes import keys
from rds_backup.outcomes.release import release_source
from rds_backup.outcomes.reports import run_failure, success_report
from rds_backup.settings import Settings
from rds_backup.state.runs import Outcome, RunState

# A failed export's remedy comes from the catalogue, read from the task's FailureCause
# (rds_backup/model/remedies.py, EXPORT_FAILURES: the documented causes, each with its fix).
EXPORT_REMEDY = ""


def settle_run(
    settings: Settings,
    aws: Aws,
    run: RunState,
    context: Any = None,
    *,
    copy_canceled: bool = False,
) -> dict[str, Any]:
    """Act on a run's current state: release the source if allowed, and send the email its
    outcome calls for (once)."""
    require_idempotency_table(settings)
    logger.append_keys(database=run.database, run=run.run, snapshot=run.snapshot_id)
    result: dict[str, Any] = {"outcome": run.outcome.value}
    result["source_released"] = release_source(settings, aws, run)
    if copy_canceled and run.copy is None:
        report = run_failure(
            settings,
            aws,
            run,
            "copy",
            "the cross-region copy was canceled",
            settings.target_region,
            "CopyCanceled",
            "Replay the run's RDS-EVENT-0042 event to copy again.",
        )
        result["email"] = deliver(
            settings, aws, keys.copy_canceled(run.snapshot_id), report, context
        )
    elif run.outcome is Outcome.SUCCEEDED:
        success = success_report(settings, aws, run, result["source_released"])
        result["outcome"] = success.outcome if success.warned else run.outcome.value
        if _recent(settings, run):
            # Only a recent run is the heartbeat: a replay of an old run is not news.
            backup_succeeded(run.database)
        if success.tables_left_out:
            count("ExportTablesLeftOut", success.tables_left_out)
        result["email"] = deliver(settings, aws, keys.succeeded(run.snapshot_id), success, context)
    elif run.outcome is Outcome.FAILED and (failed := run.failed_export) is not None:
        cause = str(failed.task.get("FailureCause") or f"export {failed.status.lower()}")
        region = next(r for r, a in run.exports.items() if a is failed)
        report = run_failure(
            settings,
            aws,
            run,
            "export",
            cause,
            region,
            f"Export{failed.status.title()}",
            EXPORT_REMEDY,
        )
        result["email"] = deliver(
            settings, aws, keys.export_failed(run.snapshot_id, failed.export_id), report, context
        )
    return result


def _recent(settings: Settings, run: RunState) -> bool:
    return clock.now() - run_time(run.run) <= timedelta(hours=settings.backup_alarm_hours)
