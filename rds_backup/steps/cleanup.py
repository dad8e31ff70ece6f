"""Daily cleanup: delete this stack's snapshots past retention in both regions.

:func:`plan_cleanup` reads (two paginated listings per region, tags from the describe
response, never ListTagsForResource) and decides with :mod:`rds_backup.model.retention`; the plan
alone is the dry run. :func:`apply_cleanup` deletes what the plan says, keeps going past a
failed deletion, and raises :class:`CleanupFailed` at the end so a person hears of it.

With DELETE_OLD_EXPORTS=true the plan also lists the S3 export folders of our snapshots
that are deleted now or already gone past retention; no other key is ever touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, is_code, step_failed
from rds_backup.model.coverage import Departure, backed
from rds_backup.model.kinds import Kind, api
from rds_backup.model.kinds import delete as delete_snapshot
from rds_backup.model.naming import RUN_ID, export_id, run_time, snapshot_id
from rds_backup.model.retention import Decision, Policy, Snapshot, decide
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.coverage import left_selection, owned_snapshots, selection_now
from rds_backup.state.inventory import export_tasks, export_tasks_in_flight

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ErrorTypeDef, ObjectIdentifierTypeDef

STEP = "cleanup"
EXPORTS_IN_FLIGHT = frozenset({"STARTING", "IN_PROGRESS", "CANCELING"})
NOT_FOUND = (*api(Kind.INSTANCE).not_found, *api(Kind.CLUSTER).not_found)
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


@dataclass(frozen=True)
class ExportFolder:
    """One export's S3 folder (``s3://bucket/<EXPORT_S3_PREFIX>/<export-id>/``) to delete."""

    region: str
    bucket: str
    key_prefix: str
    snapshot: str
    export_id: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key_prefix}"

    def as_row(self) -> dict[str, str]:
        return {
            "region": self.region,
            "uri": self.uri,
            "export_id": self.export_id,
            "snapshot": self.snapshot,
        }


@dataclass(frozen=True)
class CleanupPlan:
    """Every manual snapshot seen in both regions with its decision; printable as a dry run."""

    now: datetime
    retention_days: int
    decisions: tuple[Decision, ...]
    exports: tuple[ExportFolder, ...] = ()
    # Databases with our snapshots that are not selected now (rds_backup/model/coverage.py);
    # those that still exist keep every snapshot (KEEP_UNSELECTED, retention rule 9).
    departures: tuple[Departure, ...] = ()

    @property
    def deletions(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.delete)

    @property
    def kept(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.delete)

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per snapshot: region, id, database, age days, decision, reason."""
        return [
            {
                "region": d.snapshot.region,
                "id": d.snapshot.identifier,
                "database": d.snapshot.database,
                "age_days": d.age_days,
                "decision": "delete" if d.delete else "keep",
                "reason": d.reason.value,
            }
            for d in sorted(
                self.decisions,
                key=lambda d: (d.snapshot.region, d.snapshot.database or "", d.snapshot.identifier),
            )
        ]

    def as_dict(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for decision in self.decisions:
            reasons[decision.reason.value] = reasons.get(decision.reason.value, 0) + 1
        return {
            "now": self.now.isoformat(),
            "retention_days": self.retention_days,
            "delete": len(self.deletions),
            "keep": len(self.kept),
            "reasons": reasons,
            "snapshots": self.to_rows(),
            "exports": [folder.as_row() for folder in self.exports],
            "left_selection": [departure.as_dict() for departure in self.departures],
        }


@dataclass
class CleanupResult:
    deleted: list[str] = field(default_factory=list)  # "<region>/<snapshot id>"
    already_gone: list[str] = field(default_factory=list)
    kept: int = 0
    exports_deleted: list[str] = field(default_factory=list)  # s3:// folder URIs
    export_objects_deleted: int = 0
    failed: list[StepFailed] = field(default_factory=list)
    # What happened to each item of the plan, keyed like the plan's rows
    # ("<region>/<snapshot id>" or an export's s3:// URI): deleted, already gone,
    # failed: <cause>, kept: <why>. Items the plan keeps are not listed.
    outcomes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A small summary (counts; each deletion is in the logs)."""
        return {
            "deleted": len(self.deleted),
            "already_gone": len(self.already_gone),
            "kept": self.kept,
            "exports_deleted": len(self.exports_deleted),
            "export_objects_deleted": self.export_objects_deleted,
            "failed": [str(failure) for failure in self.failed],
            "outcomes": dict(self.outcomes),
        }


class CleanupFailed(StepFailed):
    """Some deletions failed; every other one was attempted. Raised after all ran."""

    def __init__(self, result: CleanupResult) -> None:
        causes = "; ".join(str(f) for f in result.failed)
        first = result.failed[0]
        super().__init__(
            STEP,
            f"{len(result.failed)} deletion(s) failed: {causes}",
            database=",".join(dict.fromkeys(f.database for f in result.failed if f.database)),
            snapshot=first.snapshot if len(result.failed) == 1 else None,
            region=first.region if len(result.failed) == 1 else None,
            code=first.code,
        )
        self.remedy = " ".join(dict.fromkeys(f.remedy for f in result.failed if f.remedy))
        self.result = result


def plan_cleanup(settings: Settings, aws: Aws, now: datetime) -> CleanupPlan:
    """Read both regions and decide, per manual snapshot, keep or delete. Changes nothing."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    snapshots: list[Snapshot] = []
    in_flight_arns: set[str] = set()
    in_flight_exports: set[str] = set()
    exported: dict[tuple[str, str], str] = {}  # (region, export id) → snapshot id
    for region in _regions(settings):
        # A listing that fails raises (StepFailed, with its region) before any deletion: a
        # partial view could hide the newest copy.
        snapshots.extend(_snapshots(settings, aws, region))
        # Every export task (a history RDS keeps) only to find old exports to delete;
        # otherwise the ones in progress, which keep their snapshot.
        listed = export_tasks if settings.delete_old_exports else export_tasks_in_flight
        for task in listed(aws, region, STEP):
            source = str(task.get("SourceArn", "")).rsplit(":", 1)[-1]
            exported[(region, str(task.get("ExportTaskIdentifier", "")).lower())] = source
            if str(task.get("Status", "")).upper() in EXPORTS_IN_FLIGHT:
                in_flight_arns.add(str(task.get("SourceArn", "")).lower())
                in_flight_exports.add(str(task.get("ExportTaskIdentifier", "")).lower())
    # A database no longer selected gets no new backup: while it exists, its last ones stay.
    gone = left_selection(
        settings, selection_now(settings, aws, STEP), backed(snapshots, settings.target_region)
    )
    frozen = [(departure.database, departure.kind) for departure in gone if departure.frozen]
    decisions = tuple(decide(snapshots, in_flight_arns, Policy.of(settings), now, frozen))
    for decision in decisions:
        logger.debug(
            "snapshot decided",
            snapshot=decision.snapshot.identifier,
            region=decision.snapshot.region,
            database=decision.snapshot.database,
            age_days=decision.age_days,
            reason=decision.reason.value,
        )
    exports: tuple[ExportFolder, ...] = ()
    if settings.delete_old_exports:
        try:
            exports = tuple(
                _old_exports(settings, aws, decisions, in_flight_exports, now, exported)
            )
        except (ClientError, BotoCoreError) as error:
            raise step_failed(STEP, error) from error
    plan = CleanupPlan(now, settings.retention_days, decisions, exports, tuple(gone))
    logger.info(
        "cleanup planned",
        left_selection=[f"{d.database} ({d.kind}): {d.why}" for d in gone],
        delete=len(plan.deletions),
        keep=len(plan.kept),
        exports=len(exports),
        reasons=plan.as_dict()["reasons"],
    )
    return plan


def apply_cleanup(plan: CleanupPlan, settings: Settings, aws: Aws) -> CleanupResult:
    """Delete what the plan says. Every deletion is attempted; failures raise at the end."""
    result = CleanupResult(kept=len(plan.kept))
    for decision in plan.deletions:
        _delete_snapshot(aws, decision, result)
    # An export outlives a snapshot that could not be deleted: they go together next time.
    undeleted = {(f.snapshot or "").lower() for f in result.failed}
    for folder in plan.exports:
        if folder.snapshot.lower() in undeleted:
            logger.warning("export kept; its snapshot was not deleted", export=folder.uri)
            result.outcomes[folder.uri] = "kept: its snapshot was not deleted"
            continue
        _delete_export(aws, folder, result)
    logger.info(
        "cleanup finished",
        deleted=len(result.deleted),
        already_gone=len(result.already_gone),
        failed=len(result.failed),
        exports_deleted=len(result.exports_deleted),
    )
    if result.failed:
        raise CleanupFailed(result)
    return result


def _regions(settings: Settings) -> tuple[str, str]:
    return (settings.source_region, settings.target_region)


def _snapshots(settings: Settings, aws: Aws, region: str) -> Iterator[Snapshot]:
    return owned_snapshots(settings, aws, region, STEP)


def _delete_snapshot(aws: Aws, decision: Decision, result: CleanupResult) -> None:
    snapshot = decision.snapshot
    where = f"{snapshot.region}/{snapshot.identifier}"
    fields: dict[str, Any] = {
        "snapshot": snapshot.identifier,
        "region": snapshot.region,
        "database": snapshot.database,
        "age_days": decision.age_days,
    }
    try:
        delete_snapshot(aws.rds(snapshot.region), snapshot.kind, snapshot.identifier)
    except ClientError as error:
        if is_code(error, *NOT_FOUND):
            logger.info("snapshot already gone", **fields)
            result.already_gone.append(where)
            result.outcomes[where] = "already gone"
            return
        _record_failure(error, decision, where, fields, result)
        return
    except BotoCoreError as error:
        _record_failure(error, decision, where, fields, result)
        return
    logger.info("snapshot deleted", reason=decision.reason.value, **fields)
    count("SnapshotDeleted")
    result.deleted.append(where)
    result.outcomes[where] = "deleted"


def _record_failure(
    error: ClientError | BotoCoreError,
    decision: Decision,
    where: str,
    fields: dict[str, Any],
    result: CleanupResult,
) -> None:
    failure = step_failed(
        STEP,
        error,
        database=decision.snapshot.database,
        snapshot=decision.snapshot.identifier,
        region=decision.snapshot.region,
    )
    logger.error("snapshot not deleted", code=failure.code, cause=failure.cause, **fields)
    count("SnapshotDeleteFailed")
    result.failed.append(failure)
    result.outcomes[where] = f"failed: {failure.cause}"


# --- exports (DELETE_OLD_EXPORTS) -------------------------------------------------------


def _old_exports(
    settings: Settings,
    aws: Aws,
    decisions: Sequence[Decision],
    in_flight_exports: set[str],
    now: datetime,
    exported: dict[tuple[str, str], str] | None = None,
) -> Iterator[ExportFolder]:
    """Export folders of our snapshots that are deleted now, or gone and past retention.

    A folder is matched only when its name is exactly an export id this system derives
    (``naming.export_id``) from one of our snapshot ids, and no snapshot of that id is kept
    in either region. A shortened (hashed) id of a long database name does not round-trip:
    it is matched through RDS's export task record (``exported``: its SourceArn names the
    snapshot, whether or not the snapshot still exists), or against the snapshots being
    deleted now. Exports in flight are never touched.
    """
    deleting = {(d.snapshot.region, d.snapshot.identifier.lower()) for d in decisions if d.delete}
    existing = {d.snapshot.identifier.lower() for d in decisions if not d.delete}
    databases = {db.lower() for db in settings.db_identifiers}
    ours = re.compile(
        rf"^{re.escape(settings.snapshot_prefix)}-(?P<db>.+)-(?P<run>\d{{8}}-\d{{4}})$"
    )
    retention = timedelta(days=settings.retention_days)
    base = settings.export_s3_prefix  # normalised by Settings, as IAM scopes it
    for region, bucket in (
        (settings.source_region, settings.source_bucket),
        (settings.target_region, settings.target_bucket),
    ):
        known = [identifier for (where, identifier) in deleting if where == region]
        for folder in _folders(aws, region, bucket, f"{base}/" if base else ""):
            if folder.lower() in in_flight_exports:
                continue
            # RDS's own record names the snapshot of a shortened (hashed) export id even
            # when the snapshot is gone; without one, the name must round-trip.
            recorded = (exported or {}).get((region, folder.lower()))
            if recorded and _derives(recorded, region, folder):
                snapshot: str | None = recorded
            else:
                snapshot = _snapshot_of(folder, region, known)
            if snapshot is None or snapshot.lower() in existing:
                continue
            if (region, snapshot.lower()) not in deleting:
                match = ours.match(snapshot)
                if not match or not RUN_ID.match(match["run"]):
                    continue
                # one of our databases' derived ids (a long name's is shortened with a hash)
                if not any(
                    snapshot_id(settings.snapshot_prefix, db, match["run"]) == snapshot.lower()
                    for db in databases
                ):
                    continue
                if now - run_time(match["run"]) <= retention:
                    continue
            yield ExportFolder(
                region=region,
                bucket=bucket,
                key_prefix=f"{base}/{folder}/" if base else f"{folder}/",
                snapshot=snapshot,
                export_id=folder,
            )


def _folders(aws: Aws, region: str, bucket: str, prefix: str) -> Iterator[str]:
    paginator = aws.s3(region).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = common.get("Prefix", "")[len(prefix) :].rstrip("/")
            if name:
                yield name


def _derives(snapshot: str, region: str, folder: str) -> bool:
    """``folder`` is an export id we derive for ``snapshot`` in ``region`` (any attempt)."""
    match = re.search(r"-a(\d+)$", folder)
    attempts = {1, int(match.group(1))} if match else {1}
    return any(export_id(snapshot, region, n).lower() == folder.lower() for n in attempts)


def _snapshot_of(folder: str, region: str, known: Sequence[str]) -> str | None:
    """The snapshot id an export folder was derived from, or None if it is not one of ours.

    Short ids round-trip from the name; long ids were shortened with a hash, so they are
    recognised only against the snapshots being deleted now (``known``).
    """
    match = re.match(rf"^(?P<base>.+)-{re.escape(region)}(?:-a(?P<attempt>\d+))?$", folder)
    if match is None:
        return None
    attempt = int(match["attempt"] or 1)
    for snapshot in known:
        if export_id(snapshot, region, attempt) == folder:
            return snapshot
    base = match["base"]
    # A shortened name also round-trips (to its hashed base), so the id must look like ours.
    if RUN_ID.match(base[-13:]) and export_id(base, region, attempt) == folder:
        return base
    return None


def _delete_export(aws: Aws, folder: ExportFolder, result: CleanupResult) -> None:
    s3 = aws.s3(folder.region)
    fields: dict[str, Any] = {
        "export": folder.uri,
        "snapshot": folder.snapshot,
        "region": folder.region,
    }
    deleted = 0
    errors: list[ErrorTypeDef] = []
    try:
        for batch in _batches(_keys(aws, folder), DELETE_BATCH):
            response = s3.delete_objects(
                Bucket=folder.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            errors.extend(response.get("Errors", []))
            deleted += len(batch) - len(response.get("Errors", []))
    except (ClientError, BotoCoreError) as error:
        failure = step_failed(STEP, error, snapshot=folder.snapshot, region=folder.region)
        _export_failed(failure, fields, result)
        return
    finally:
        result.export_objects_deleted += deleted
    if errors:
        first = errors[0]
        failure = StepFailed(
            STEP,
            f"{len(errors)} object(s) not deleted under {folder.uri}: "
            f"{first.get('Key')}: {first.get('Message')}",
            snapshot=folder.snapshot,
            region=folder.region,
            code=first.get("Code"),
        )
        _export_failed(failure, fields, result)
        return
    logger.info("export deleted", objects=deleted, **fields)
    count("ExportDeleted")
    result.exports_deleted.append(folder.uri)
    result.outcomes[folder.uri] = f"deleted ({deleted} objects)"


def _export_failed(failure: StepFailed, fields: dict[str, Any], result: CleanupResult) -> None:
    logger.error("export not deleted", code=failure.code, cause=failure.cause, **fields)
    count("ExportDeleteFailed")
    result.failed.append(failure)
    result.outcomes[str(fields["export"])] = f"failed: {failure.cause}"


def _keys(aws: Aws, folder: ExportFolder) -> Iterator[ObjectIdentifierTypeDef]:
    paginator = aws.s3(folder.region).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=folder.bucket, Prefix=folder.key_prefix):
        for item in page.get("Contents", []):
            yield {"Key": item["Key"]}


def _batches(
    items: Iterator[ObjectIdentifierTypeDef], size: int
) -> Iterator[list[ObjectIdentifierTypeDef]]:
    batch: list[ObjectIdentifierTypeDef] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
