"""First link: create one tagged manual snapshot per database in the source region: a DB
snapshot of an instance, a DB cluster snapshot of an Aurora or Multi-AZ DB cluster
(rds_backup/model/kinds.py), with the same derived name and tags.

Before creating anything, tonight's run is checked against the manual snapshot quota of
both regions (rds_backup/limits/: a source snapshot here, its copy there; instances count
against ManualSnapshots, clusters against ManualClusterSnapshots): databases that
do not fit are named in one "Snapshot Quota Reached" event (→ one email) instead of
half-running into refusals. Each database's snapshot is tagged with the exports its run
expects: every night, or every EXPORT_EVERY_DAYS nights (rds_backup/model/capacity.py).

Which databases: resolved at each run by rds_backup/state/selection.py (DB_IDENTIFIER names and
DB_SELECT_TAG); a configured name that is no database, or an ambiguous one, fails by name
while the others go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, is_code, step_failed
from rds_backup.limits import headroom, report_quota
from rds_backup.mail import digest
from rds_backup.model import capacity, manifest, tags
from rds_backup.model.kinds import Kind, api
from rds_backup.model.kinds import create as create_snapshot
from rds_backup.model.naming import run_id, run_time, snapshot_id
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state import manifests
from rds_backup.state.history import expected_export_hours
from rds_backup.state.inventory import snapshots_by_id
from rds_backup.state.selection import Selection, select_databases
from rds_backup.state.snapshots import describe_snapshot

STEP = "snapshot"
MANIFEST_STEP = "restore manifest"


@dataclass
class StartResult:
    run: str
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[StepFailed] = field(default_factory=list)
    over_quota: list[str] = field(default_factory=list)  # not started: manual snapshot quota
    kinds: dict[str, Kind] = field(default_factory=dict)  # the selected DB clusters

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "run": self.run,
            "created": self.created,
            "existing": self.existing,
            "failed": {f.database: str(f) for f in self.failed},
        }
        if self.over_quota:
            result["over_quota"] = self.over_quota
        return result


class StartFailed(StepFailed):
    """Some databases could not be snapshotted; the others were. Raised after all ran."""

    def __init__(self, result: StartResult) -> None:
        causes = "; ".join(str(f) for f in result.failed)
        databases = ",".join(f.database or "" for f in result.failed)
        super().__init__(
            STEP, causes, database=databases, code=result.failed[0].code, parts=result.failed
        )
        self.remedy = " ".join(dict.fromkeys(f.remedy for f in result.failed if f.remedy))
        self.result = result


def start_backup(
    settings: Settings,
    aws: Aws,
    when: datetime,
    databases: Sequence[str] | None = None,
) -> StartResult:
    """Snapshot each database for the run at ``when``; duplicates and replays are no-ops.

    Every database is attempted; failures are collected and raised together at the end so
    one missing database neither blocks the others nor goes unreported.
    """
    result = StartResult(run=run_id(when))
    rds = aws.rds(settings.source_region)
    for warning in capacity.plan(settings).warnings:
        logger.warning("capacity warning", warning=warning)
    selection = select_databases(settings, aws)
    wanted = _selected(settings, selection, databases, result)
    if digest.enabled(settings):
        digest.open_run(settings, aws, result.run, wanted)  # before any outcome can exist
    made = _already_made(settings, aws, result.run, wanted, result.kinds)
    result.existing.extend(
        snapshot_id(settings.snapshot_prefix, db, result.run) for db in wanted if db.lower() in made
    )
    todo = [db for db in wanted if db.lower() not in made]
    kinds = {db: result.kinds.get(db, Kind.INSTANCE) for db in todo}
    # What earlier nights measured, once for the night: the export queue's order
    expected = expected_export_hours(
        settings, aws, [db for db in todo if _exports_tonight(settings, db, when)], result.run
    )
    for database in _within_quota(settings, aws, todo, kinds, result):
        kind = kinds[database]
        identifier = snapshot_id(settings.snapshot_prefix, database, result.run)
        logger.append_keys(database=database, snapshot=identifier, run=result.run, kind=kind.value)
        exports = _exports_tonight(settings, database, when)
        try:
            create_snapshot(
                rds,
                kind,
                database,
                identifier,
                tags.as_list(
                    tags.ours(
                        settings,
                        database,
                        result.run,
                        tags.Role.SOURCE,
                        exports,
                        requested=databases is not None,
                    )
                    | _expected_tag(expected.get(database.lower()) if exports else None)
                ),
            )
        except ClientError as error:
            if is_code(error, *api(kind).already_exists):
                _check_existing_is_ours(settings, aws, database, identifier, kind, result)
                continue
            failure = step_failed(
                STEP, error, database=database, snapshot=identifier, region=settings.source_region
            )
            logger.error("snapshot not started", code=failure.code, cause=failure.cause)
            result.failed.append(failure)
            continue
        except BotoCoreError as error:
            result.failed.append(
                step_failed(
                    STEP,
                    error,
                    database=database,
                    snapshot=identifier,
                    region=settings.source_region,
                )
            )
            continue
        logger.info("snapshot started", region=settings.source_region)
        count("SnapshotStarted")
        result.created.append(identifier)
        _record_manifest(settings, aws, selection, database, kind, identifier, result)
    if result.failed:
        count("SnapshotFailed", len(result.failed))
        raise StartFailed(result)
    return result


def _expected_tag(hours: float | None) -> dict[str, str]:
    """The export's expected duration (rds_backup/state/history.py), when history has one."""
    return {} if hours is None else {tags.EXPECTED_EXPORT_HOURS: f"{hours:.3f}"}


def _record_manifest(
    settings: Settings,
    aws: Aws,
    selection: Selection,
    database: str,
    kind: Kind,
    identifier: str,
    result: StartResult,
) -> None:
    """The restore manifest of tonight's snapshot, beside the copies in the target region
    (rds_backup/state/manifests.py), from the listing the selection read. A manifest that
    cannot be written is a failure a person hears of; the backup itself goes on."""
    taken = clock.now()
    if kind is Kind.CLUSTER:
        record = selection.cluster_records.get(database.lower())
        if record is None:
            return
        made = manifest.of_cluster(
            database, identifier, taken, settings.source_region, record, selection.instance_records
        )
    else:
        instance = selection.instance_records.get(database.lower())
        if instance is None:
            return
        made = manifest.of_instance(database, identifier, taken, settings.source_region, instance)
    try:
        manifests.write_manifest(settings, aws, made, MANIFEST_STEP)
    except StepFailed as failure:
        failure.remedy = (
            f"The snapshot {identifier} was taken; only its restore manifest is missing (a "
            "restore then needs the instance class, port and groups by hand). Let "
            f"start_backup's role put objects under s3://{settings.target_bucket}/"
            f"{settings.export_s3_prefix}/{manifests.FOLDER}/ (and the bucket's policy allow "
            "it). The next night writes its own."
        )
        logger.error("restore manifest not written", code=failure.code, cause=failure.cause)
        result.failed.append(failure)


def _exports_tonight(settings: Settings, database: str, when: datetime) -> str:
    """The exports tag of tonight's snapshot: "target" (and "source"), or "" on a night this
    database is not exported (EXPORT_EVERY_DAYS > 1; the copy is still made)."""
    if not capacity.export_due(settings, database, run_time(run_id(when)).date()):
        return ""
    return "source,target" if settings.store_to_source_s3 else "target"


def _already_made(
    settings: Settings, aws: Aws, run: str, wanted: Sequence[str], kinds: dict[str, Kind]
) -> set[str]:
    """Databases (lower case) whose snapshot of ``run`` exists in either region: a late,
    duplicated or replayed start must not snapshot them again, even when notify already
    released the source and only the copy remains. Read by the derived ids of ``wanted``
    (a ``db-snapshot-id`` filter, each kind its own), not by listing every snapshot the
    regions hold: the call count stays the fleet's, whatever retention and other teams
    keep there."""
    by_kind: dict[Kind, list[str]] = {}
    for database in wanted:
        kind = kinds.get(database, Kind.INSTANCE)
        by_kind.setdefault(kind, []).append(snapshot_id(settings.snapshot_prefix, database, run))
    found: set[str] = set()
    for region in (settings.source_region, settings.target_region):
        for kind, identifiers in by_kind.items():
            for raw in snapshots_by_id(aws, region, identifiers, STEP, (kind,)):
                owned = tags.owned(settings, raw, region)
                if owned is not None and owned.run == run:
                    found.add(owned.database.lower())
    return found


def _within_quota(
    settings: Settings,
    aws: Aws,
    databases: list[str],
    kinds: dict[str, Kind],
    result: StartResult,
) -> list[str]:
    """The databases whose snapshot and copy fit the manual snapshot quota of both regions
    tonight (instances: ManualSnapshots; clusters: ManualClusterSnapshots); the others are
    named in one "Snapshot Quota Reached" event per quota (→ one email)."""
    fitting: set[str] = set()
    for kind in Kind:
        group = [db for db in databases if kinds[db] is kind]
        if not group:
            continue
        fits, reached = headroom(settings, aws, group, result.run, STEP, kind)
        fitting.update(fits)
        if reached is not None:
            result.over_quota.extend(reached.databases)
            report_quota(settings, aws, reached)
    return [db for db in databases if db in fitting]


def _selected(
    settings: Settings,
    selection: Selection,
    requested: Sequence[str] | None,
    result: StartResult,
) -> list[str]:
    """The databases to snapshot (instances, and DB clusters: ``result.kinds``): every
    selected one, or those of ``requested`` (which must be selected). A configured database
    that could not be resolved fails by name."""
    asked = None if requested is None else {db.lower() for db in requested}
    for problem in selection.problems:
        if asked is None or problem.identifier in asked:
            result.failed.append(problem.failure(STEP, settings.source_region))
    chosen = []
    for instance in selection.instances:
        if asked is None or instance.identifier in asked:
            chosen.append(instance.identifier)
    names = [item.identifier for item in selection.items]
    for cluster in selection.clusters:
        if asked is not None and cluster.identifier not in asked:
            continue
        if names.count(cluster.identifier) > 1:
            # Selected as an instance and as a cluster (by tag): their snapshots would share
            # the derived id in two RDS namespaces; neither is backed up, by name.
            result.failed.append(
                StepFailed(
                    STEP,
                    f"{cluster.identifier} is selected both as a DB instance and as a DB "
                    "cluster; their snapshots would share one derived name",
                    database=cluster.identifier,
                    region=settings.source_region,
                    code="DatabaseAmbiguous",
                    remedy="Tag only one of them with DB_SELECT_TAG, or rename one.",
                )
            )
            if cluster.identifier in chosen:
                chosen.remove(cluster.identifier)
            continue
        chosen.append(cluster.identifier)
        result.kinds[cluster.identifier] = Kind.CLUSTER
    known = {item.identifier for item in selection.items} | {
        p.identifier for p in selection.problems
    }
    for name in dict.fromkeys(requested or ()):
        if name.lower() not in known:
            result.failed.append(
                StepFailed(
                    STEP,
                    "not selected by this stack (neither named in DB_IDENTIFIER nor tagged "
                    f"{settings.db_select_tag or 'DB_SELECT_TAG'})",
                    database=name,
                    code="DatabaseNotConfigured",
                    remedy="Add the database to DB_IDENTIFIER (or tag it with DB_SELECT_TAG) "
                    "and redeploy, or fix the request.",
                )
            )
    return chosen


def _check_existing_is_ours(
    settings: Settings,
    aws: Aws,
    database: str,
    identifier: str,
    kind: Kind,
    result: StartResult,
) -> None:
    """A snapshot with our derived name exists: a duplicate event, unless someone else made it."""
    snapshot = describe_snapshot(aws, settings.source_region, identifier, STEP, kind)
    if snapshot is None or tags.owned(settings, snapshot, settings.source_region) is None:
        result.failed.append(
            StepFailed(
                STEP,
                f"a snapshot named {identifier} exists but was not made by this stack "
                f"({settings.stack_name})",
                database=database,
                snapshot=identifier,
                region=settings.source_region,
                code="ForeignSnapshotNameClash",
                remedy="Rename or delete the foreign snapshot, or change SNAPSHOT_PREFIX.",
            )
        )
        return
    logger.info(
        "snapshot already exists; duplicate or replayed event",
        database=database,
        snapshot=identifier,
        run=result.run,
    )
    result.existing.append(identifier)
