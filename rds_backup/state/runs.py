"""A run's state, read from AWS: its source snapshot, its copy, and each expected export.

notify decides from this state, never from the event alone: a late, duplicated or
replayed event sees the same truth as the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from rds_backup.arns import SnapshotArn
from rds_backup.aws import Aws
from rds_backup.model import console, tags
from rds_backup.model.kinds import of_arn_kind
from rds_backup.model.naming import export_uri, run_time
from rds_backup.model.report import ExportReport
from rds_backup.settings import Settings
from rds_backup.state.exports import ExportAttempt, latest_attempt
from rds_backup.state.snapshots import find_owned


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class RunState:
    snapshot_id: str
    database: str
    run: str
    source_arn: str
    copy_arn: str
    source: tags.Owned | None
    copy: tags.Owned | None
    exports: dict[str, ExportAttempt | None]  # region → latest attempt, for each expected one

    @property
    def outcome(self) -> Outcome:
        if any(attempt is not None and attempt.failed for attempt in self.exports.values()):
            return Outcome.FAILED
        if not self.exports:
            # Not an export night for this database (EXPORT_EVERY_DAYS): the copy is the run.
            copied = self.copy is not None and self.copy.available
            return Outcome.SUCCEEDED if copied else Outcome.PENDING
        if all(a is not None and a.complete for a in self.exports.values()):
            return Outcome.SUCCEEDED
        return Outcome.PENDING

    @property
    def failed_export(self) -> ExportAttempt | None:
        return next((a for a in self.exports.values() if a is not None and a.failed), None)

    @property
    def backup_time(self) -> datetime:
        for snapshot, key in (
            (self.source, "SnapshotCreateTime"),
            (self.copy, "OriginalSnapshotCreateTime"),
        ):
            value = snapshot.raw.get(key) if snapshot else None
            if isinstance(value, datetime):
                return value
        return run_time(self.run)

    def export_reports(self, settings: Settings) -> tuple[ExportReport, ...]:
        return tuple(
            _report(settings, region, attempt)
            for region, attempt in self.exports.items()
            if attempt is not None
        )


def load_run(settings: Settings, aws: Aws, snapshot: SnapshotArn, step: str) -> RunState | None:
    """The state of the run owning ``snapshot`` (in either region), or None if not ours.

    The copy is read first: it carries the run's tags (the source's, CopyTags), so when it
    is there and an export of the run is still waiting or running, nothing can be decided
    from the source (it is not released, no email is due) and it is not read (one call
    fewer for each event of a run in progress: a copy's 0060, the first of two exports'
    0161). Otherwise the source is read too: its release and the outcome email need it."""
    kind = of_arn_kind(snapshot.kind)
    copy = find_owned(settings, aws, settings.target_region, snapshot.identifier, step, kind)

    def latest(region: str, arn: str) -> ExportAttempt | None:
        return latest_attempt(aws, region, arn, snapshot.identifier)

    if copy is not None and copy.role is tags.Role.COPY:
        pending = assemble(settings, snapshot, None, copy, latest)
        if pending is not None and pending.outcome is Outcome.PENDING and pending.exports:
            return pending
        exports = pending.exports if pending is not None else {}
        source = find_owned(settings, aws, settings.source_region, snapshot.identifier, step, kind)
        return assemble(settings, snapshot, source, copy, lambda region, _: exports.get(region))
    source = find_owned(settings, aws, settings.source_region, snapshot.identifier, step, kind)
    return assemble(settings, snapshot, source, copy, latest)


def assemble(
    settings: Settings,
    snapshot: SnapshotArn,
    source: tags.Owned | None,
    copy: tags.Owned | None,
    latest: Callable[[str, str], ExportAttempt | None],
) -> RunState | None:
    """Build a run from its snapshots and a way to find the latest export attempt of a
    snapshot ARN in a region (one call per export, or a lookup in an inventory)."""
    known = copy or source
    if known is None:
        return None
    arns = {
        settings.source_region: str(snapshot.in_region(settings.source_region)),
        settings.target_region: str(snapshot.in_region(settings.target_region)),
    }
    regions = {"source": settings.source_region, "target": settings.target_region}
    exports = {
        regions[name]: latest(regions[name], arns[regions[name]])
        for name in known.exports
        if name in regions
    }
    return RunState(
        snapshot_id=snapshot.identifier,
        database=known.database,
        run=known.run,
        source_arn=arns[settings.source_region],
        copy_arn=arns[settings.target_region],
        source=source,
        copy=copy,
        exports=exports,
    )


def _report(settings: Settings, region: str, attempt: ExportAttempt) -> ExportReport:
    task: dict[str, Any] = attempt.task
    bucket = str(
        task.get("S3Bucket")
        or (settings.source_bucket if region == settings.source_region else settings.target_bucket)
    )
    prefix = str(task.get("S3Prefix") or "")
    size = task.get("TotalExtractedDataInGB")
    folder = "/".join(part for part in (prefix.strip("/"), attempt.export_id) if part)
    return ExportReport(
        region=region,
        bucket=bucket,
        export_id=attempt.export_id,
        s3_uri=export_uri(bucket, prefix, attempt.export_id),
        status=attempt.status,
        size_gb=size if isinstance(size, int | float) else None,
        started=task.get("TaskStartTime"),
        finished=task.get("TaskEndTime"),
        failure_cause=task.get("FailureCause"),
        console_url=console.s3_url(region, bucket, folder),
        warning=str(task.get("WarningMessage") or "") or None,
    )
