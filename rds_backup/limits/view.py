"""What a slot filler decides from: our snapshots in both regions, the copies in flight into
the target region and the export tasks that count, read in as few calls as the decision
allows. A failed read raises: deciding from a partial view could start too much.

Two readers, for the two questions the chain asks:

- :func:`work_view` (the events' fills, reconcile): the work in flight. Every run in
  progress keeps its source snapshot until its copy is available and every export of its
  run is complete (rds_backup/outcomes/release.py), so the source region's manual
  snapshots (short: sources stay only that long) are both queues, and the target region is
  read by derived id (a filtered describe, however many copies retention keeps). Copies
  in flight are then ours only: another tool's copies into the region are not counted; if
  they hold the last slots RDS refuses ours, which then wait (RDS enforces the limit either
  way). Export tasks: those in progress and those of the snapshots found, by ARN, never the
  whole history. With KEEP_SOURCE_SNAPSHOT the kept sources are too many to describe by
  id: every copy and every export task is read instead.
- :func:`full_view` (``status``): every manual snapshot of both regions, every export task.

Tags come with the snapshots: never one ListTagsForResource per snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rds_backup.aws import Aws
from rds_backup.model import tags
from rds_backup.model.kinds import KINDS, Kind, origin_region
from rds_backup.settings import Settings
from rds_backup.state.exports import IN_FLIGHT, ExportAttempt, pick_latest
from rds_backup.state.inventory import (
    export_tasks,
    export_tasks_in_flight,
    export_tasks_of,
    manual_snapshots,
    snapshots_by_id,
    snapshots_of,
)

EXPORT_SLOTS = 5  # per account, all regions
COPY_SLOTS = 20  # per destination region
CLUSTER_COPY_SLOTS = 5  # DB cluster snapshot copies, per destination region
SETTLED = frozenset({"available", "failed"})
Tasks = dict[str, list[dict[str, Any]]]  # region → export tasks there


@dataclass
class View:
    """Our snapshots in both regions, the copies in flight into the target region, and the
    export tasks of both regions: everything a filler decides from."""

    sources: dict[str, tags.Owned]  # lower-cased id → our source snapshot (source region)
    copies: dict[str, tags.Owned]  # lower-cased id → our copy (target region)
    copies_in_flight: int  # cross-region copies in progress into the target region (anyone's)
    tasks: Tasks  # region → every export task there that the decision needs
    cluster_copies_in_flight: int = 0  # DB cluster snapshot copies among those

    @property
    def exports_in_flight(self) -> int:
        return count_in_flight(self.tasks)

    def latest(self, snapshot: tags.Owned) -> ExportAttempt | None:
        return pick_latest(
            (t for t in self.tasks.get(snapshot.region, ()) if t.get("SourceArn") == snapshot.arn),
            snapshot.region,
            snapshot.arn,
            snapshot.identifier,
        )


def count_in_flight(tasks: Tasks) -> int:
    """Export tasks in progress, both regions together: what the 5-export limit counts."""
    return sum(
        1
        for region_tasks in tasks.values()
        for task in region_tasks
        if str(task.get("Status", "")).upper() in IN_FLIGHT
    )


def work_view(
    settings: Settings,
    aws: Aws,
    step: str,
    *,
    kinds: tuple[Kind, ...] = KINDS,
    exports: bool = True,
    extra_ids: Collection[str] = (),
    running: Tasks | None = None,
    scoped: bool = True,
) -> View:
    """The work in flight (module docstring). ``kinds``: the snapshot kinds to read (a copy
    slot is per kind, so a copy event's fill reads its own kind only; the export limit is
    shared, so an export fill reads both). ``exports``: read the export tasks too.
    ``extra_ids``: target-region copies to read by id besides the sources' (a re-driven
    export whose source is gone). ``running``: export tasks in progress, if already read.
    ``scoped``: read the sources of the selected databases only, when DB_IDENTIFIER names
    them (:func:`_sources`); reconcile passes False and reads every manual snapshot."""
    keep = settings.keep_source_snapshot
    sources = _sources(settings, aws, step, kinds, scoped=scoped)
    if keep:
        target = manual_snapshots(aws, settings.target_region, step, kinds)
    else:
        target = _copies_by_id(settings, aws, step, kinds, sources, extra_ids)
    view = _with_target(settings, sources, target)
    if not exports:
        return view
    if keep:
        view.tasks = read_tasks(settings, aws, step)
    elif view.sources or view.copies or running is not None:
        # (no source and no copy: no run in flight, nothing to start or to check)
        in_progress = running if running is not None else read_in_flight(settings, aws, step)
        snapshots = [*view.sources.values(), *view.copies.values()]
        view.tasks = _merge(in_progress, read_tasks_of(settings, aws, snapshots, step))
    return view


def _copies_by_id(
    settings: Settings,
    aws: Aws,
    step: str,
    kinds: tuple[Kind, ...],
    sources: dict[str, tags.Owned],
    extra_ids: Collection[str],
) -> Iterator[dict[str, Any]]:
    """The target region's records of the sources' copies, each kind read by the ids of
    its own sources (no DescribeDBClusterSnapshots for a fleet with no cluster source);
    ``extra_ids`` (a re-driven export whose source is gone, kind unknown) in every kind."""
    extra = {i.lower() for i in extra_ids}
    for kind in kinds:
        wanted = sorted({key for key, s in sources.items() if s.kind is kind} | extra)
        if wanted:
            yield from snapshots_by_id(aws, settings.target_region, wanted, step, (kind,))


def full_view(settings: Settings, aws: Aws, step: str) -> View:
    """Every manual snapshot of ours in both regions and every export task (``status``)."""
    sources = _sources(settings, aws, step, KINDS)
    target = manual_snapshots(aws, settings.target_region, step, KINDS)
    view = _with_target(settings, sources, target)
    view.tasks = read_tasks(settings, aws, step)
    return view


def _sources(
    settings: Settings, aws: Aws, step: str, kinds: tuple[Kind, ...], *, scoped: bool = False
) -> dict[str, tags.Owned]:
    """Our source snapshots in the source region. ``scoped`` with databases selected by name
    only (no DB_SELECT_TAG): the manual snapshots of those databases (a ``db-instance-id`` /
    ``db-cluster-id`` filter), so the reads do not grow with what other teams keep in the
    region; DB cluster snapshots only for names with no DB snapshot of ours in flight (a
    fleet of instances mid-night reads no cluster snapshot at all). Else every manual
    snapshot of the region. A name that left DB_IDENTIFIER mid-run is found by reconcile,
    which reads unscoped."""
    names = list(settings.db_identifiers)
    by_name = scoped and names and settings.db_select_tag is None
    if not by_name or settings.keep_source_snapshot:
        return _owned_sources(settings, manual_snapshots(aws, settings.source_region, step, kinds))
    found: dict[str, tags.Owned] = {}
    for kind in kinds:
        seen = {owned.database.lower() for owned in found.values()}
        wanted = [name for name in names if name.lower() not in seen]
        if wanted:
            records = snapshots_of(aws, settings.source_region, wanted, step, kind)
            found.update(_owned_sources(settings, records))
    return found


def _owned_sources(settings: Settings, records: Iterable[dict[str, Any]]) -> dict[str, tags.Owned]:
    found: dict[str, tags.Owned] = {}
    for raw in records:
        owned = tags.owned(settings, raw, settings.source_region)
        if owned is not None and owned.role is tags.Role.SOURCE:
            found[owned.identifier.lower()] = owned
    return found


def _with_target(
    settings: Settings, sources: dict[str, tags.Owned], target: Iterable[dict[str, Any]]
) -> View:
    """The view of ``sources`` and the target region's records ``target``: our copies, and
    the copies in flight into the region (ours, or any copied from another region)."""
    copies: dict[str, tags.Owned] = {}
    in_flight = cluster_in_flight = 0
    for raw in target:
        owned = tags.owned(settings, raw, settings.target_region)
        status = str(raw.get("Status", "")).lower()
        mine = owned is not None and owned.role is tags.Role.COPY
        if status not in SETTLED and (mine or _copied_here(raw, settings.target_region)):
            if "DBClusterSnapshotIdentifier" in raw:
                cluster_in_flight += 1
            else:
                in_flight += 1
        if owned is not None and mine:
            copies[owned.identifier.lower()] = owned
    return View(sources, copies, in_flight, {}, cluster_in_flight)


def read_tasks(settings: Settings, aws: Aws, step: str) -> Tasks:
    """Both regions' export tasks, all of them (the 5-export limit counts the whole account)."""
    return {
        region: export_tasks(aws, region, step)
        for region in (settings.source_region, settings.target_region)
    }


def read_in_flight(settings: Settings, aws: Aws, step: str) -> Tasks:
    """Both regions' export tasks in progress: what the 5-export limit counts."""
    return {
        region: export_tasks_in_flight(aws, region, step)
        for region in (settings.source_region, settings.target_region)
    }


def read_tasks_of(
    settings: Settings, aws: Aws, snapshots: Iterable[tags.Owned], step: str
) -> Tasks:
    """The export tasks of ``snapshots`` that may have one (an export of their role is
    expected), by ARN in their region: enough to know each one's latest attempt."""
    arns: dict[str, list[str]] = {}
    for snapshot in snapshots:
        if _EXPORT_OF_ROLE.get(snapshot.role) in snapshot.exports:
            arns.setdefault(snapshot.region, []).append(snapshot.arn)
    return {
        region: export_tasks_of(aws, region, sorted(set(wanted)), step)
        for region, wanted in arns.items()
    }


_EXPORT_OF_ROLE = {tags.Role.SOURCE: "source", tags.Role.COPY: "target"}


def _merge(*reads: Tasks) -> Tasks:
    """Export tasks by region from several reads, each task once."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for read in reads:
        for region, region_tasks in read.items():
            for task in region_tasks:
                merged.setdefault(region, {})[str(task.get("ExportTaskIdentifier"))] = task
    return {region: list(found.values()) for region, found in merged.items()}


def _copied_here(raw: dict[str, Any], region: str) -> bool:
    origin = origin_region(raw)
    return origin is not None and origin != region
