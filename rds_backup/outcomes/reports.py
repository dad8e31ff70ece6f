"""The reports an outcome is told with (rds_backup/model/report.py holds their data; mail
renders them): a run's success, a run's failure, a stuck step, and any failure at all built
in one place (:func:`failure_report`), so every failure email names the same facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.model import capacity, console
from rds_backup.model.kinds import Kind
from rds_backup.model.naming import run_time
from rds_backup.model.report import ExportReport, FailureReport, Restorable, SuccessReport
from rds_backup.model.retention import Policy, kept_until
from rds_backup.observability import logger
from rds_backup.settings import Settings
from rds_backup.state import export_tables
from rds_backup.state.restorable import restorable
from rds_backup.state.runs import RunState

STUCK_REMEDY = (
    "The step's RDS event never came or the step has run far longer than usual. Check the "
    "snapshot and export task in the RDS console of that region; if it is stuck, cancel it, "
    "then start a new run (rds-backup start --db <database>)."
)


def failure_report(
    settings: Settings,
    *,
    step: str,
    cause: str,
    code: str | None,
    remedy: str,
    error_time: datetime | None = None,
    database: str | None = None,
    snapshot_id: str | None = None,
    run: str | None = None,
    region: str | None = None,
    exports: Sequence[ExportReport] = (),
    restorable: Sequence[Restorable] = (),
) -> FailureReport:
    """A failure of this stack: what failed, where, why and what to do (now, unless the
    failure says when it happened)."""
    return FailureReport(
        stack=settings.stack_name,
        step=step,
        cause=cause,
        error_time=error_time or clock.now(),
        remedy=remedy,
        database=database,
        snapshot_id=snapshot_id,
        run=run,
        region=region,
        code=code,
        exports=tuple(exports),
        stack_region=settings.source_region,
        restorable=tuple(restorable),
    )


# The emails name the restorable copy of at most this many databases (one listing each).
RESTORABLE_MAX = 20


def restorable_of(
    settings: Settings, aws: Aws, databases: Sequence[str], kind: Kind | None = None
) -> tuple[Restorable, ...]:
    """For each database a failure names, its newest restorable copy (principle 9)."""
    named = list(dict.fromkeys(db.lower() for db in databases if db))[:RESTORABLE_MAX]
    return tuple(restorable(settings, aws, db, kind) for db in named)


def run_failure(
    settings: Settings,
    aws: Aws,
    run: RunState,
    step: str,
    cause: str,
    region: str,
    code: str,
    remedy: str,
) -> FailureReport:
    """A step of ``run`` failed: the report names the run's snapshot, its exports, and the
    database's newest restorable copy (this run's, when its copy is available)."""
    return failure_report(
        settings,
        step=step,
        cause=cause,
        code=code,
        remedy=remedy,
        database=run.database,
        snapshot_id=run.snapshot_id,
        run=run.run,
        region=region,
        exports=run.export_reports(settings),
        restorable=restorable_of(
            settings, aws, [run.database], run.copy.kind if run.copy else None
        ),
    )


def stuck_report(
    settings: Settings, aws: Aws, run: RunState, step: str, cause: str, region: str
) -> FailureReport:
    return run_failure(settings, aws, run, step, cause, region, "StepOverdue", STUCK_REMEDY)


def success_report(settings: Settings, aws: Aws, run: RunState, released: bool) -> SuccessReport:
    """A run that succeeded: where its copy and exports are, how long it is kept."""
    kept = run.source is not None and not released
    copy_raw = run.copy.raw if run.copy else {}
    source_raw = run.source.raw if run.source else {}
    size = copy_raw.get("AllocatedStorage") or source_raw.get("AllocatedStorage")
    until, rule = kept_until(run.backup_time, Policy.of(settings))
    return SuccessReport(
        stack=settings.stack_name,
        database=run.database,
        run=run.run,
        backup_time=run.backup_time,
        source_region=settings.source_region,
        source_snapshot_id=run.snapshot_id,
        target_region=settings.target_region,
        copy_snapshot_id=run.snapshot_id,
        exports=tuple(_with_warnings(aws, run, e) for e in run.export_reports(settings)),
        source_snapshot_kept=kept,
        next_export=capacity.next_export_due(settings, run.database, run_time(run.run).date())
        if settings.export_every_days > 1
        else None,
        allocated_gib=size if isinstance(size, int) else None,
        kept_until=until,
        retention=rule,
        copy_url=console.snapshot_url(settings.target_region, run.snapshot_id),
        source_url=console.snapshot_url(settings.source_region, run.snapshot_id) if kept else "",
        restore_command=console.restore_command(
            settings.target_region, run.snapshot_id, run.database
        ),
    )


def _with_warnings(aws: Aws, run: RunState, export: ExportReport) -> ExportReport:
    """A COMPLETE export with the tables it left out (WarningMessage, export_tables_info)."""
    attempt = run.exports.get(export.region)
    if attempt is None or not attempt.complete:
        return export
    found = export_tables.read(aws, export.region, attempt.task, attempt.export_id)
    if found.warned:
        logger.warning(
            "export completed with warnings",
            export=attempt.export_id,
            warning=found.message,
            tables=[f"{t.table} {t.status}" for t in found.tables],
        )
    return replace(
        export,
        warning=found.message,
        table_problems=found.tables,
        tables_unreadable=found.unreadable,
    )
