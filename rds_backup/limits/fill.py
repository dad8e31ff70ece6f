"""AWS's limits, in one place: every copy and export of the chain is started from here, and
start_backup checks the manual snapshot quota here.

Concurrency limits (they drain by themselves; DESIGN.md "Limits and real semantics")
  exports  at most 5 in progress per account, all regions together ("You can have up to
           five concurrent DB snapshot export tasks in progress per AWS account", RDS/Aurora
           User Guide, "Creating snapshot export tasks"); refusal ExportTaskLimitReachedFault.
  copies   at most 20 cross-region copy requests in progress per destination region (RDS
           User Guide, "Copying a DB snapshot"); refusal SnapshotQuotaExceeded, "Cannot copy
           more than 20 snapshots across regions".
  cluster copies  "You can have up to five snapshot copy requests in progress to a single
           destination Region per account" (Aurora User Guide, "Copying a DB cluster
           snapshot", Limitations). Whether DB and DB cluster copies share one budget is not
           documented: each kind is counted against its own limit here, and a refusal by RDS
           (SnapshotQuotaExceeded) makes the copy wait either way.
  The export limit is one for both kinds (StartExportTask takes a DB snapshot or a DB
  cluster snapshot ARN, "Exporting DB cluster snapshot data to Amazon S3").
A step refused for one of these is *waiting*, never failed. The queue is not stored: it is
derived from AWS state each time (principle 1), so a lost or late event loses nothing:
  waiting copy    our source snapshot, available, with no copy in the target region;
  waiting export  our snapshot (the copy; the source with STORE_TO_SOURCE_S3), available,
                  whose run expects that export and that has no attempt yet, or whose
                  failed attempt an operator re-drove (replay) while every slot was busy
                  (tag ``rds-backup:retry-export`` = the failed attempt's id).
Order: oldest run first; within a run (all its steps wait from the same scheduled time), the
largest database first (longest expected), then the snapshot made first; ties broken by a
hash of run and database that changes every night, so no database always comes last.

The event that frees a slot fills it at once: a copy ending (0060/0061) → copy_snapshot
fills the copy slots of that copy's kind (DB or DB cluster snapshot); an export ending
(0159/0160/0161) or a copy becoming ready (0060) → export_snapshot fills export slots.
Reconcile fills both every hour (lost events).

No double start, and no counter of our own: every step's resource id is derived, so RDS
refuses a second start of the same step (``*AlreadyExists*``), atomically; and RDS enforces
each limit itself, atomically. A filler counts the free slots from the reads it made and
starts at most that many, oldest first; two fillers racing (concurrent or duplicated events)
find each other's start as AlreadyExists, count it as a slot used, and can at worst spend
one refused call, after which the step is still waiting. A semaphore item of our own (a
DynamoDB conditional counter) would be a second truth that drifts each time an ending event
is lost, which RDS allows (best effort), and would need reconcile to repair it.

The manual snapshot quota (does not drain)
  100 manual DB snapshots per region by default, adjustable (DescribeAccountAttributes:
  ``ManualSnapshots`` Used/Max); DB cluster snapshots have their own quota,
  ``ManualClusterSnapshots`` (100 by default, "Quotas in Amazon Aurora"). Exceeding it is
  *also* SnapshotQuotaExceeded ("Cannot create more than 100 manual snapshots"), told apart
  from the copy limit by the message, or, when the message says neither, by Used >= Max.
  It is reported at once, with the numbers and the fix: a "Snapshot Quota Reached" event
  that notify turns into one email per run and region.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events.quota import DETAIL_TYPE as QUOTA_DETAIL_TYPE
from events.quota import SOURCE as QUOTA_SOURCE
from rds_backup.aws import Aws
from rds_backup.errors import (
    EXPORT_LIMIT_CODE,
    SNAPSHOT_QUOTA_CODE,
    StepFailed,
    step_failed,
)
from rds_backup.model import tags
from rds_backup.model.kinds import KINDS, api, origin_region
from rds_backup.model.kinds import Kind as SnapshotKind
from rds_backup.model.naming import export_id, run_time
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.copies import copy_to_target
from rds_backup.state.exports import IN_FLIGHT, ExportAttempt, begin_export, pick_latest
from rds_backup.state.inventory import (
    export_tasks,
    export_tasks_in_flight,
    export_tasks_of,
    manual_snapshots,
    snapshots_by_id,
)

EXPORT_SLOTS = 5  # per account, all regions
COPY_SLOTS = 20  # per destination region
CLUSTER_COPY_SLOTS = 5  # DB cluster snapshot copies, per destination region
RETRY_EXPORT = f"{tags.NAMESPACE}retry-export"
COPY_CANCELED = f"{tags.NAMESPACE}copy-canceled"
SETTLED = frozenset({"available", "failed"})
COPY_LIMIT_TEXT = re.compile(r"cannot copy more than|across regions", re.IGNORECASE)
MANUAL_QUOTA_TEXT = re.compile(r"manual (db )?(cluster )?snapshots", re.IGNORECASE)


class Kind(StrEnum):
    COPY = "copy"
    EXPORT = "export"


# --- what AWS holds, read once per pass ---------------------------------------------------


@dataclass
class View:
    """Our snapshots in both regions, the copies in flight into the target region, and the
    export tasks of both regions: everything a filler decides from."""

    sources: dict[str, tags.Owned]  # lower-cased id → our source snapshot (source region)
    copies: dict[str, tags.Owned]  # lower-cased id → our copy (target region)
    copies_in_flight: int  # cross-region copies in progress into the target region (anyone's)
    tasks: dict[str, list[dict[str, Any]]]  # region → every export task there
    cluster_copies_in_flight: int = 0  # DB cluster snapshot copies among those

    @property
    def exports_in_flight(self) -> int:
        return sum(
            1
            for tasks in self.tasks.values()
            for task in tasks
            if str(task.get("Status", "")).upper() in IN_FLIGHT
        )

    def latest(self, snapshot: tags.Owned) -> ExportAttempt | None:
        return pick_latest(
            (t for t in self.tasks.get(snapshot.region, ()) if t.get("SourceArn") == snapshot.arn),
            snapshot.region,
            snapshot.arn,
            snapshot.identifier,
        )


def read_view(
    settings: Settings,
    aws: Aws,
    step: str,
    *,
    exports: bool = True,
    sources: bool = True,
    all_copies: bool = True,
    extra_ids: Collection[str] = (),
    tasks: dict[str, list[dict[str, Any]]] | None = None,
    in_flight_tasks: dict[str, list[dict[str, Any]]] | None = None,
    kinds: tuple[SnapshotKind, ...] = KINDS,
) -> View:
    """What a filler decides from, in few calls. A failed read raises: deciding from a
    partial view could start too much.

    - with ``exports``: both regions' export tasks (the 5-export limit is per account);
    - with ``sources``: the source region's manual snapshots (our sources stay there only
      until their copy is available, so the listing is short): the queue of copies;
    - the target region: with ``all_copies``, every manual snapshot (reconcile, status);
      without, only the copies of the sources found (and ``extra_ids``), by derived id (a
      filtered describe, however many copies retention keeps). That is enough for both
      queues: a source is kept until its copy is available and every export of its run is
      complete (notify.release_source), so every copy in flight and every export not yet
      started has its source. Copies in flight are then ours only: another tool's copies
      into the region are not counted, and if they hold the last slots RDS refuses ours,
      which then wait (RDS enforces the limit either way).
    ``tasks``: export tasks already read. Tags come with the snapshots: never one call per
    snapshot. Export tasks (RDS keeps every one after it ends): without ``all_copies``, the
    tasks in progress (``in_flight``, if already read) and those of the snapshots found,
    by ARN, never the whole history; with it (kept sources, status), every task.
    ``kinds``: the snapshot kinds to read. A copy slot is per kind (DB and DB cluster
    snapshot copies each have their own limit), so a copy event's fill reads its own kind
    only; the export limit is shared, so an export fill reads both.
    """
    found_sources: dict[str, tags.Owned] = {}
    copies: dict[str, tags.Owned] = {}
    in_flight = cluster_in_flight = 0
    if sources:
        for raw in manual_snapshots(aws, settings.source_region, step, kinds):
            owned = tags.owned(settings, raw, settings.source_region)
            if owned is not None and owned.role is tags.Role.SOURCE:
                found_sources[owned.identifier.lower()] = owned
    if all_copies:
        target = manual_snapshots(aws, settings.target_region, step, kinds)
    else:
        wanted = sorted(set(found_sources) | {i.lower() for i in extra_ids})
        target = (
            snapshots_by_id(aws, settings.target_region, wanted, step, kinds)
            if wanted
            else iter(())
        )
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
    if tasks is None and exports:
        if all_copies:
            tasks = read_tasks(settings, aws, step)
        elif found_sources or copies or in_flight_tasks is not None:
            # (no source and no copy: no run in flight, nothing to start or to check)
            snapshots = [*found_sources.values(), *copies.values()]
            running = (
                in_flight_tasks
                if in_flight_tasks is not None
                else read_in_flight(settings, aws, step)
            )
            tasks = _merge(running, read_tasks_of(settings, aws, snapshots, step))
    return View(found_sources, copies, in_flight, tasks or {}, cluster_in_flight)


def read_tasks(settings: Settings, aws: Aws, step: str) -> dict[str, list[dict[str, Any]]]:
    """Both regions' export tasks, all of them (the 5-export limit counts the whole account)."""
    return {
        region: export_tasks(aws, region, step)
        for region in (settings.source_region, settings.target_region)
    }


def read_in_flight(settings: Settings, aws: Aws, step: str) -> dict[str, list[dict[str, Any]]]:
    """Both regions' export tasks in progress: what the 5-export limit counts."""
    return {
        region: export_tasks_in_flight(aws, region, step)
        for region in (settings.source_region, settings.target_region)
    }


def read_tasks_of(
    settings: Settings, aws: Aws, snapshots: Iterable[tags.Owned], step: str
) -> dict[str, list[dict[str, Any]]]:
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


def _merge(*reads: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Export tasks by region from several reads, each task once."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for read in reads:
        for region, tasks in read.items():
            for task in tasks:
                merged.setdefault(region, {})[str(task.get("ExportTaskIdentifier"))] = task
    return {region: list(tasks.values()) for region, tasks in merged.items()}


def _copied_here(raw: dict[str, Any], region: str) -> bool:
    origin = origin_region(raw)
    return origin is not None and origin != region


# --- the waiting queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """One step waiting for a slot: copy ``snapshot`` into the target region, or export it
    in its own region (attempt ``attempt``)."""

    kind: Kind
    snapshot: tags.Owned
    attempt: int = 1

    @property
    def region(self) -> str:
        return self.snapshot.region

    @property
    def label(self) -> str:
        return f"{self.kind.value} {self.snapshot.region}/{self.snapshot.identifier}"


def order_key(snapshot: tags.Owned) -> tuple[datetime, int, datetime, str]:
    """Oldest run first. A run's steps all wait from the same scheduled time; among them the
    largest database first (AllocatedStorage: an export's time grows with the data, RDS User
    Guide, so longest-first shortens the night), then the snapshot made first, then a tie-break
    that rotates every night so equal databases take turns."""
    created = snapshot.raw.get("SnapshotCreateTime")
    made = _utc(created) if isinstance(created, datetime) else run_time(snapshot.run)
    size = snapshot.raw.get("AllocatedStorage")
    largest_first = -size if isinstance(size, int) else 0
    rotation = hashlib.sha256(f"{snapshot.run}:{snapshot.database.lower()}".encode()).hexdigest()
    return (run_time(snapshot.run), largest_first, made, rotation)


def waiting_copies(settings: Settings, view: View, redrive: Collection[str] = ()) -> list[Waiting]:
    """Copies not yet made, oldest first. A source whose copy was canceled (RDS-EVENT-0061,
    tag COPY_CANCELED) waits for a person: only a re-drive (a replayed 0042, ``redrive``)
    copies it again, so a deliberate cancel is not undone behind their back."""
    found = [
        Waiting(Kind.COPY, source)
        for key, source in view.sources.items()
        if source.available
        and key not in view.copies
        and (COPY_CANCELED not in source.tags or key in redrive)
    ]
    return sorted(found, key=lambda w: order_key(w.snapshot))


def waiting_exports(settings: Settings, view: View, redrive: Collection[str] = ()) -> list[Waiting]:
    """Exports not yet started, oldest first. ``redrive``: lower-cased snapshot ids whose
    failed attempt is re-driven now (a replayed 0060); a tagged retry counts the same."""
    wanted = {
        settings.source_region: ("source", view.sources.values()),
        settings.target_region: ("target", view.copies.values()),
    }
    found = []
    for name, snapshots in wanted.values():
        for snapshot in snapshots:
            if name not in snapshot.exports or not snapshot.available:
                continue
            latest = view.latest(snapshot)
            if latest is None:
                found.append(Waiting(Kind.EXPORT, snapshot))
            elif latest.failed and (
                snapshot.identifier.lower() in redrive
                or snapshot.tags.get(RETRY_EXPORT) == latest.export_id
            ):
                found.append(Waiting(Kind.EXPORT, snapshot, latest.attempt + 1))
    return sorted(found, key=lambda w: order_key(w.snapshot))


def queue(settings: Settings, view: View) -> list[Waiting]:
    """Every waiting step, copies first (each in its own order): what ``status`` shows."""
    return waiting_copies(settings, view) + waiting_exports(settings, view)


# --- filling free slots ----------------------------------------------------------------------


@dataclass
class Filled:
    kind: Kind
    free_before: int
    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # a racing filler started it first
    waiting: list[str] = field(default_factory=list)  # still waiting, in queue order
    refused: int = 0
    quota: QuotaReached | None = None

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "free": self.free_before,
            "started": self.started,
            "waiting": len(self.waiting),
        }
        if self.already:
            result["already"] = self.already
        if self.refused:
            result["refused"] = self.refused
        if self.quota:
            result["quota"] = self.quota.as_detail()
        return result


def fill_copies(
    settings: Settings,
    aws: Aws,
    step: str,
    view: View | None = None,
    redrive: Collection[str] = (),
) -> Filled:
    """Start the oldest waiting copies while the target region has copy slots free: DB
    snapshot copies and DB cluster snapshot copies each within their own limit."""
    view = view or read_view(settings, aws, step)
    waiting = waiting_copies(settings, view, {r.lower() for r in redrive})
    filled = _fill_copies_of(
        settings,
        aws,
        [w for w in waiting if not w.snapshot.cluster],
        COPY_SLOTS - view.copies_in_flight,
        SnapshotKind.INSTANCE,
    )
    clusters = [w for w in waiting if w.snapshot.cluster]
    if clusters:
        more = _fill_copies_of(
            settings,
            aws,
            clusters,
            CLUSTER_COPY_SLOTS - view.cluster_copies_in_flight,
            SnapshotKind.CLUSTER,
        )
        filled.free_before += more.free_before
        filled.started += more.started
        filled.already += more.already
        filled.waiting += more.waiting
        filled.refused += more.refused
        filled.quota = filled.quota or more.quota
    return filled


def _fill_copies_of(
    settings: Settings,
    aws: Aws,
    waiting: Sequence[Waiting],
    free: int,
    kind: SnapshotKind,
) -> Filled:
    filled = Filled(Kind.COPY, free)

    def refused(failure: StepFailed, rest: Sequence[Waiting]) -> None:
        # SnapshotQuotaExceeded: the copy limit (wait) or the manual snapshot quota (tell).
        reached = quota_reached(
            settings, aws, settings.target_region, failure.cause, rest[0].snapshot.run, kind
        )
        if reached is None:
            logger.info("copy waits for a slot", snapshot=rest[0].label, kind=kind.value)
            return
        reached.databases = [w.snapshot.database for w in rest]
        reached.needed = len(reached.databases)
        filled.quota = reached
        report_quota(settings, aws, reached)

    def start(item: Waiting) -> str:
        return copy_to_target(settings, aws, item.snapshot)

    _fill(filled, waiting, start, SNAPSHOT_QUOTA_CODE, refused)
    return filled


def _fill(
    filled: Filled,
    waiting: Sequence[Waiting],
    start: Callable[[Waiting], str],
    limit_code: str,
    refused: Callable[[StepFailed, Sequence[Waiting]], None] | None = None,
) -> None:
    """Start waiting steps, oldest first, while slots are free. A refusal with the limit's
    code stops the fill (the rest keep waiting); any other failure is raised."""
    free = filled.free_before
    for position, item in enumerate(waiting):
        if free <= 0:
            filled.waiting = labels(waiting[position:])
            break
        try:
            outcome = start(item)
        except StepFailed as failure:
            if failure.code != limit_code:
                raise
            filled.refused += 1
            count("StepRefused")
            filled.waiting = labels(waiting[position:])
            if refused is not None:
                refused(failure, waiting[position:])
            break
        (filled.started if outcome == "started" else filled.already).append(item.label)
        free -= 1
    _log(filled)


def fill_exports_on_event(
    settings: Settings, aws: Aws, step: str, redrive: Collection[str] = ()
) -> Filled:
    """An event's fill: count the slots first (export tasks only); with none free and no
    re-drive to remember, stop there; else read the queue (the sources, the copies of
    those sources by id) and fill. Reconcile reads everything instead (lost events)."""
    running = read_in_flight(settings, aws, step)
    in_flight = View({}, {}, 0, running).exports_in_flight
    if in_flight >= EXPORT_SLOTS and not redrive:
        logger.info("no export slot free; the queue stays as it is", in_flight=in_flight)
        return Filled(Kind.EXPORT, EXPORT_SLOTS - in_flight)
    keep = settings.keep_source_snapshot  # kept sources are too many to describe
    view = read_view(
        settings,
        aws,
        step,
        all_copies=keep,
        extra_ids=redrive,
        in_flight_tasks=running,
        tasks=read_tasks(settings, aws, step) if keep else None,
    )
    return fill_exports(settings, aws, step, view, redrive)


def fill_exports(
    settings: Settings,
    aws: Aws,
    step: str,
    view: View | None = None,
    redrive: Collection[str] = (),
) -> Filled:
    """Start the oldest waiting exports while the account has export slots free."""
    view = view or read_view(settings, aws, step, sources=settings.store_to_source_s3)
    waiting = waiting_exports(settings, view, {r.lower() for r in redrive})
    filled = Filled(Kind.EXPORT, EXPORT_SLOTS - view.exports_in_flight)

    def start(item: Waiting) -> str:
        return begin_export(settings, aws, item.snapshot, item.attempt)

    _fill(filled, waiting, start, EXPORT_LIMIT_CODE)
    _remember_redrives(settings, aws, filled, waiting, redrive)
    return filled


def _remember_redrives(
    settings: Settings,
    aws: Aws,
    filled: Filled,
    waiting: Sequence[Waiting],
    redrive: Collection[str],
) -> None:
    """A re-drive that found no free slot is tagged on the snapshot, so it stays waiting."""
    wanted = {r.lower() for r in redrive}
    for item in waiting:
        if item.snapshot.identifier.lower() not in wanted or item.attempt == 1:
            continue
        if item.label in filled.started or item.label in filled.already:
            continue
        failed_id = _export_id(item.snapshot, item.attempt - 1)
        if item.snapshot.tags.get(RETRY_EXPORT) == failed_id:
            continue
        try:
            aws.rds(item.region).add_tags_to_resource(
                ResourceName=item.snapshot.arn, Tags=[{"Key": RETRY_EXPORT, "Value": failed_id}]
            )
        except (ClientError, BotoCoreError) as error:
            raise step_failed(
                Kind.EXPORT.value, error, snapshot=item.snapshot.identifier, region=item.region
            ) from error
        logger.info("re-driven export waits for a slot", snapshot=item.label)


def mark_copy_canceled(settings: Settings, aws: Aws, identifier: str, step: str) -> bool:
    """RDS-EVENT-0061: tag our source so the queue does not copy it again by itself (a
    replayed 0042 does). False if there is no source of ours (released, or foreign)."""
    view = read_view(settings, aws, step, exports=False, all_copies=False)
    source = view.sources.get(identifier.lower())
    if source is None or COPY_CANCELED in source.tags:
        return False
    try:
        aws.rds(settings.source_region).add_tags_to_resource(
            ResourceName=source.arn, Tags=[{"Key": COPY_CANCELED, "Value": "true"}]
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            step, error, snapshot=identifier, region=settings.source_region
        ) from error
    logger.warning("copy canceled; the source waits for a re-drive", snapshot=identifier)
    return True


def _export_id(snapshot: tags.Owned, attempt: int) -> str:
    return export_id(snapshot.identifier, snapshot.region, attempt)


def _log(filled: Filled) -> None:
    if filled.started or filled.waiting or filled.refused:
        logger.info(
            "slots filled",
            kind=filled.kind.value,
            free=filled.free_before,
            started=len(filled.started),
            waiting=len(filled.waiting),
            refused=filled.refused,
        )
    if filled.started:
        count(f"{filled.kind.value.title()}SlotFilled", len(filled.started))


# --- the manual snapshot quota ---------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    region: str
    used: int
    max: int

    @property
    def free(self) -> int:
        return max(0, self.max - self.used)


def manual_snapshot_usage(
    aws: Aws, region: str, step: str, kind: SnapshotKind = SnapshotKind.INSTANCE
) -> Usage:
    """``ManualSnapshots`` (DB snapshots) or ``ManualClusterSnapshots`` (DB cluster snapshots)
    Used/Max of the region (DescribeAccountAttributes)."""
    name = api(kind).quota
    try:
        answer = aws.rds(region).describe_account_attributes()
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error
    for quota in answer.get("AccountQuotas", []):
        if quota.get("AccountQuotaName") == name:
            return Usage(region, int(quota.get("Used", 0)), int(quota.get("Max", 0)))
    raise StepFailed(
        step,
        f"DescribeAccountAttributes did not report {name}",
        region=region,
        code="QuotaUnknown",
    )


@dataclass
class QuotaReached:
    """The manual snapshot quota stops (part of) a run: who is not backed up, and why."""

    region: str
    used: int
    max: int
    needed: int
    run: str
    step: str
    databases: list[str] = field(default_factory=list)
    quota: str = "ManualSnapshots"  # or ManualClusterSnapshots

    def as_detail(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "region": self.region,
            "used": self.used,
            "max": self.max,
            "needed": self.needed,
            "run": self.run,
            "step": self.step,
            "databases": self.databases,
        }


def quota_reached(
    settings: Settings,
    aws: Aws,
    region: str,
    message: str,
    run: str,
    kind: SnapshotKind = SnapshotKind.INSTANCE,
) -> QuotaReached | None:
    """A SnapshotQuotaExceeded in ``region``: the manual snapshot quota (returned, with the
    numbers) or the copy limit (None: the step waits). Both variants of the text are
    accepted; when the text names neither, Used >= Max decides."""
    if COPY_LIMIT_TEXT.search(message) and not MANUAL_QUOTA_TEXT.search(message):
        return None
    usage = manual_snapshot_usage(aws, region, Kind.COPY.value, kind)
    if not MANUAL_QUOTA_TEXT.search(message) and usage.used < usage.max:
        return None
    return QuotaReached(
        region, usage.used, usage.max, 1, run, Kind.COPY.value, quota=api(kind).quota
    )


def report_quota(settings: Settings, aws: Aws, reached: QuotaReached) -> None:
    """Put "Snapshot Quota Reached" on the default bus: notify emails it once per run and
    region. Raises if the event cannot be put (a person must hear of it)."""
    logger.error(
        "manual snapshot quota reached",
        region=reached.region,
        used=reached.used,
        max=reached.max,
        needed=reached.needed,
        databases=reached.databases,
    )
    count("SnapshotQuotaReached")
    try:
        answer = aws.events(settings.source_region).put_events(
            Entries=[
                {
                    "Source": QUOTA_SOURCE,
                    "DetailType": QUOTA_DETAIL_TYPE,
                    "Detail": json.dumps(reached.as_detail()),
                    "Resources": [],
                }
            ]
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(reached.step, error, region=settings.source_region) from error
    if answer.get("FailedEntryCount"):
        raise StepFailed(
            reached.step,
            "could not put the Snapshot Quota Reached event: "
            + str(answer.get("Entries", [{}])[0].get("ErrorMessage", "")),
            region=settings.source_region,
            code="PutEventsFailed",
        )


def headroom(
    settings: Settings,
    aws: Aws,
    databases: Sequence[str],
    run: str,
    step: str,
    kind: SnapshotKind = SnapshotKind.INSTANCE,
) -> tuple[list[str], QuotaReached | None]:
    """Which of tonight's databases (all of ``kind``) fit that kind's manual snapshot quota
    in both regions (a source snapshot in the source region, its copy in the target region),
    in a fair order that rotates each night; and, when some do not fit, what to report."""
    usages = [
        manual_snapshot_usage(aws, region, step, kind)
        for region in (settings.source_region, settings.target_region)
    ]
    tightest = min(usages, key=lambda u: u.free)
    if tightest.free >= len(databases):
        return list(databases), None
    ordered = sorted(
        databases, key=lambda db: hashlib.sha256(f"{run}:{db.lower()}".encode()).hexdigest()
    )
    fits, refused = ordered[: tightest.free], ordered[tightest.free :]
    reached = QuotaReached(
        tightest.region,
        tightest.used,
        tightest.max,
        len(databases),
        run,
        step,
        sorted(refused),
        quota=api(kind).quota,
    )
    return [db for db in databases if db in fits], reached


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def labels(items: Iterable[Waiting]) -> list[str]:
    return [item.label for item in items]
