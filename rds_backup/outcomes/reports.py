"""The reports an outcome is told with (rds_backup/model/report.py holds their data; mail
renders them): a run's success, a run's failure, a stuck step, and any failure at all built
in one place (:func:`failure_report`), so every failure email names the same facts.

A failure's remedy is the step's own when it set one (it knew better than the code), else
the catalogue's (rds_backup/model/remedies.py, every code botocore's models give for the
chain's calls), worded with this stack's settings and the failure's facts: "no known
remedy" never reaches a person for a code AWS documents."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.model import capacity, console
from rds_backup.model.kinds import Kind
from rds_backup.model.naming import run_time
from rds_backup.model.remedies import remedy_for
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
    operation: str | None = None,
    kind: Kind | None = None,
) -> FailureReport:
    """A failure of this stack: what failed, where, why and what to do (now, unless the
    failure says when it happened). ``remedy`` empty: the catalogue's for ``code``."""
    remedy = remedy or remedy_of(
        settings,
        code=code,
        operation=operation,
        step=step,
        database=database,
        snapshot=snapshot_id,
        region=region,
        cause=cause,
        kind=kind,
    )
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


def remedy_of(
    settings: Settings,
    *,
    code: str | None,
    operation: str | None = None,
    step: str | None = None,
    database: str | None = None,
    snapshot: str | None = None,
    region: str | None = None,
    cause: str | None = None,
    kind: Kind | None = None,
) -> str:
    """The catalogue's remedy for one failure, worded with the stack's settings. ``step`` is
    the function's short name or a step label ("export", "reconcile (copy_snapshot)"): the
    catalogue reads the function from it to name whose role lacks a permission."""
    words = [w for w in re.split(r"[ ()]+", step or "") if w]
    function = next((w for w in words if "_" in w), words[0] if words else None)
    return remedy_for(
        code,
        operation=operation,
        settings=settings,
        database=database,
        snapshot=snapshot,
        region=region,
        kind=kind.value if kind is not None else None,
        step=function,
        cause=cause,
    ).text


class Failure(Protocol):
    """A step's failure as data: :class:`rds_backup.errors.StepFailed`, or the record notify
    reads back (events/lambda_failure.py ``FailureFacts``)."""

    step: str
    cause: str
    code: str | None
    database: str | None
    snapshot: str | None
    region: str | None
    operation: str | None
    remedy: str

    @property
    def parts(self) -> Sequence[Failure]: ...


def remedy_told(settings: Settings, failure: Failure) -> str:
    """The remedy a person is told for ``failure``: the step's own, else for a failure that
    gathers others (one start or reconcile pass for many databases) each part's once, else
    the catalogue's for its code."""
    if failure.remedy:
        return failure.remedy
    if failure.parts:
        return " ".join(dict.fromkeys(remedy_told(settings, part) for part in failure.parts))
    return remedy_of(
        settings,
        code=failure.code,
        operation=failure.operation,
        step=failure.step,
        database=failure.database,
        snapshot=failure.snapshot,
        region=failure.region,
        cause=failure.cause,
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
        kind=run.copy.kind if run.copy else None,
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
