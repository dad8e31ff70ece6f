"""What a run's email says, as typed data. notify builds these; mail renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from rds_backup.model.drills import DrillResult

WITH_WARNINGS = "exported with warnings"


@dataclass(frozen=True)
class TableProblem:
    """One table the export skipped or failed."""

    table: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class Restorable:
    """Whether a database has a copy it can be restored from in the target region, even when
    tonight's run failed (a failed export does not make the copy less restorable)."""

    database: str
    region: str
    copy_id: str | None = None  # the newest available copy, None: there is none
    copy_time: datetime | None = None
    last_drill: str = ""  # e.g. "passed 2026-11-25, restored in 14.6 min"; "" never drilled
    restore_command: str = ""  # rds-backup restore ... for that copy

    @property
    def available(self) -> bool:
        return self.copy_id is not None


@dataclass(frozen=True)
class ExportReport:
    """One export of one snapshot to one bucket (the latest attempt)."""

    region: str
    bucket: str
    export_id: str
    s3_uri: str  # s3://bucket/prefix/export-id/
    status: str  # COMPLETE, FAILED, CANCELED, IN_PROGRESS, STARTING, … (upper-cased)
    size_gb: int | float | None = None  # TotalExtractedDataInGB
    started: datetime | None = None
    finished: datetime | None = None
    failure_cause: str | None = None
    console_url: str = ""
    warning: str | None = None  # the task's WarningMessage (COMPLETE with tables left out)
    table_problems: tuple[TableProblem, ...] = field(default_factory=tuple)
    tables_unreadable: str | None = None  # why export_tables_info could not be read

    @property
    def duration_minutes(self) -> float | None:
        if self.started and self.finished:
            return round((self.finished - self.started).total_seconds() / 60, 1)
        return None

    @property
    def warned(self) -> bool:
        return bool(self.warning or self.table_problems)


@dataclass(frozen=True)
class SuccessReport:
    stack: str
    database: str
    run: str
    backup_time: datetime  # when the source snapshot was taken
    source_region: str
    source_snapshot_id: str
    target_region: str
    copy_snapshot_id: str
    exports: tuple[ExportReport, ...]
    source_snapshot_kept: bool
    # EXPORT_EVERY_DAYS > 1: the next night this database is exported (None: every night)
    next_export: date | None = None
    kind: str = "instance"  # what the identifier names: a DB instance (or a cluster)
    allocated_gib: int | None = None  # the snapshot's AllocatedStorage
    kept_until: date | None = None  # the copy is kept at least until this day (retention)
    retention: str = ""  # the rule behind kept_until, in words
    copy_url: str = ""  # console page of the copy (target region)
    source_url: str = ""  # console page of the source snapshot, while it exists
    restore_command: str = ""  # AWS CLI: restore the copy as a new instance

    @property
    def warned(self) -> bool:
        return any(export.warned for export in self.exports)

    @property
    def outcome(self) -> str:
        return WITH_WARNINGS if self.warned else "backed up"

    @property
    def tables_left_out(self) -> int:
        return sum(len(export.table_problems) for export in self.exports)


@dataclass(frozen=True)
class FailureReport:
    stack: str
    step: str  # snapshot, copy, export, notify, cleanup, reconcile, or a handler name
    cause: str
    error_time: datetime
    remedy: str
    database: str | None = None
    snapshot_id: str | None = None
    run: str | None = None
    region: str | None = None
    code: str | None = None
    exports: tuple[ExportReport, ...] = field(default_factory=tuple)
    stack_region: str | None = None  # where the stack runs (its replay is started there)
    kind: str = "instance"
    # Per database the failure names: the newest copy it can be restored from (principle 9).
    restorable: tuple[Restorable, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DatabaseOutcome:
    """One database's line in a run's digest. Generic over what is backed up: an
    identifier and its kind (instance, cluster)."""

    identifier: str
    outcome: str  # failed | exported with warnings | backed up | still running
    kind: str = "instance"
    success: SuccessReport | None = None
    failure: FailureReport | None = None

    @property
    def restorable(self) -> bool:
        """A copy exists to restore from: a backed-up run's, or an earlier one's."""
        if self.success is not None:
            return True
        return self.failure is not None and any(r.available for r in self.failure.restorable)

    @property
    def rank(self) -> int:
        """Failures first, then warnings, then what still runs, then successes."""
        return {"failed": 0, WITH_WARNINGS: 1, "still running": 2}.get(self.outcome, 3)


@dataclass(frozen=True)
class DigestReport:
    """Every database's outcome of one run, in one email."""

    stack: str
    run: str
    source_region: str
    target_region: str
    outcomes: tuple[DatabaseOutcome, ...]
    cut_off: bool = False  # sent at DIGEST_CUTOFF_HOURS with databases still running
    cutoff_hours: int = 0

    @property
    def ordered(self) -> tuple[DatabaseOutcome, ...]:
        return tuple(sorted(self.outcomes, key=lambda o: (o.rank, o.identifier.lower())))

    def named(self, outcome: str) -> tuple[DatabaseOutcome, ...]:
        return tuple(o for o in self.ordered if o.outcome == outcome)

    @property
    def failed(self) -> int:
        return len(self.named("failed"))

    @property
    def warned(self) -> int:
        return len(self.named(WITH_WARNINGS))

    @property
    def running(self) -> int:
        return len(self.named("still running"))

    @property
    def succeeded(self) -> int:
        return len(self.named("backed up"))

    @property
    def restorable(self) -> int:
        """Databases with a copy to restore from, whatever tonight's outcome."""
        return sum(1 for o in self.outcomes if o.restorable)


@dataclass(frozen=True)
class DrillReport:
    """A restore drill's outcome (rds_backup/model/drills.py ``DrillResult``), told once."""

    stack: str
    target_region: str
    result: DrillResult
    next_drill: date | None = None
    restore_command: str = ""  # AWS CLI: restore that copy as a new instance (by hand)
    instance_url: str = ""

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def database(self) -> str:
        return self.result.database

    @property
    def run(self) -> str | None:
        return None  # a drill belongs to no nightly run: it is told on its own

    @property
    def rto_minutes(self) -> float | None:
        seconds = self.result.restore_seconds
        return None if seconds is None else round(seconds / 60, 1)

    @property
    def rpo_hours(self) -> float | None:
        seconds = self.result.rpo_seconds
        return None if seconds is None else round(seconds / 3600, 1)

    @property
    def first_query_minutes(self) -> float | None:
        seconds = self.result.first_query_seconds
        return None if seconds is None else round(seconds / 60, 1)


@dataclass(frozen=True)
class NoticeReport:
    """Something a person must hear that is neither a run's outcome nor a step's failure
    (a database that left the selection, rds_backup/model/coverage.py), told once."""

    stack: str
    headline: str
    when: datetime
    facts: tuple[tuple[str, str], ...]  # (label, value) rows
    paragraphs: tuple[tuple[str, str], ...]  # (heading, text)
    database: str | None = None

    @property
    def run(self) -> str | None:
        return None  # belongs to no nightly run: told on its own, in every NOTIFY_MODE
