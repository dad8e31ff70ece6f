"""What a run's email says, as typed data. notify builds these; mail renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ExportReport:
    """One export of one snapshot to one bucket (the latest attempt)."""

    region: str
    bucket: str
    export_id: str
    s3_uri: str  # s3://bucket/prefix/export-id/
    status: str  # COMPLETE, FAILED, CANCELED, IN_PROGRESS, STARTING, … (upper-cased)
    size_gb: int | None = None
    started: datetime | None = None
    finished: datetime | None = None
    failure_cause: str | None = None

    @property
    def duration_minutes(self) -> float | None:
        if self.started and self.finished:
            return round((self.finished - self.started).total_seconds() / 60, 1)
        return None


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
