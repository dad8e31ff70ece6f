"""The RDS event emulator: moto keeps RDS state but emits no events, so this watches the
state in every region and puts the events RDS would put, on that region's default bus.

- a manual snapshot becomes available in the region of its database → RDS-EVENT-0042
- a cross-region copy becomes available (emitted in the destination region) → RDS-EVENT-0060,
  or, when a ``cancel_copies`` knob matches, the copy is dropped → RDS-EVENT-0061
- an export task ends in the snapshot's region: complete → 0161, failed → 0159,
  canceled → 0160 (moto's statuses are lower-case, and its exports complete at once)
- DB clusters ("RDS DB Cluster Snapshot Event", SourceType CLUSTER_SNAPSHOT): a manual
  cluster snapshot → RDS-EVENT-0074 "Creating manual cluster snapshot" when it starts and
  0075 "Manual cluster snapshot created" when available; a cluster export ends → 0164 / 0162
  / 0163; and, as RDS does, **no event** when a cluster copy finishes (the chain observes it
  with its own scheduled checks, rds_backup/steps/check_copy.py; the harness fires those).

Each account's events go to that account's bus (``accounts``: the source account, and the
vault's when there is one): a copy the vault account made of a shared snapshot is that
account's copy, and its RDS-EVENT-0060 lands on the vault's default bus in the destination
region, as RDS emits it for the account that made the copy (instant mode watches
``accounts``; timed mode hears of every account's resources).

Each state change is emitted once. Knobs, for fault tests: ``delay`` (seconds between the
change and its event), ``drop`` (EventIDs never delivered; ``drop_once``: only the next one
of each), ``duplicate`` (each event put N
times), and ``fail_exports`` (matching export tasks end failed with a cause, or canceled).

**Timed mode** (a ``VirtualClock`` and a duration ``Profile``): nothing is watched. The
limits module tells the emulator of each new manual snapshot, copy and export task while
moto creates it, so it is born ``creating`` (exports: ``STARTING``, then ``IN_PROGRESS``)
and a timer ends it after its sampled duration (``available``; exports ``COMPLETE``, or
``FAILED``/``CANCELED`` through the fault knobs); its event is put ``event_latency`` (+
``delay``, virtual seconds) later.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from moto.rds.models import rds_backends
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends

from rds_backup import clock as domain_clock
from rds_backup.local import limits
from rds_backup.local.clock import VirtualClock
from rds_backup.local.profiles import Profile
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT
from rds_backup.local.timeline import Timeline

DETAIL_TYPE = "RDS DB Snapshot Event"
CLUSTER_DETAIL_TYPE = "RDS DB Cluster Snapshot Event"
# The same export texts; the chain classifies by EventID (events/rds.py).
CLUSTER_EXPORT_EVENTS = {
    "complete": ("RDS-EVENT-0164", "The snapshot export task completed."),
    "failed": ("RDS-EVENT-0162", "The snapshot export task failed."),
    "canceled": ("RDS-EVENT-0163", "The snapshot export task was canceled."),
}
CLUSTER_CREATING = ("RDS-EVENT-0074", "Creating manual cluster snapshot")
CLUSTER_CREATED = ("RDS-EVENT-0075", "Manual cluster snapshot created")
EXPORT_EVENTS = {
    # Texts of the RDS User Guide's event table ("DB snapshot events").
    "complete": ("RDS-EVENT-0161", "The snapshot export task completed."),
    "failed": ("RDS-EVENT-0159", "The snapshot export task failed."),
    "canceled": ("RDS-EVENT-0160", "The snapshot export task was canceled."),
}
# Tables an export leaves out for reasons the RDS User Guide lists (PostgreSQL permissions
# errors; unsupported characters in column names).
DEFAULT_LEFT_OUT = (
    ("postgres.audit.login_events", "SKIPPED", "PERMISSIONS_DO_NOT_EXIST"),
    ("postgres.public.legacy notes", "FAILED", "Unsupported character in a column name"),
)
EXPORTED_TABLES = ("postgres.public.orders", "postgres.public.customers", "postgres.public.items")
DEFAULT_EXPORT_FAILURE = (
    "S3 bucket access denied: the export role cannot write to the bucket (emulated fault)"
)


def _matches(
    match: str, database: str | None, region: str | None, task: Any, task_region: str
) -> bool:
    """The export task's id contains ``match``, it is in ``region`` (None: any), and its
    snapshot is of ``database`` exactly (case-insensitively, as RDS compares identifiers;
    None: any) - never a substring of another name ("a" is not in "backup")."""
    of = _database_of(task.snapshot).lower()
    return (
        match in str(task.export_task_identifier)
        and (database is None or of == database.lower())
        and region in (None, task_region)
    )


@dataclass
class ExportFault:
    """Make export tasks whose id contains ``match`` (in ``region``, or any; of
    ``database`` exactly, when given) end failed."""

    match: str = ""
    cause: str = DEFAULT_EXPORT_FAILURE
    times: int | None = None  # how many exports to fail; None = until healed
    region: str | None = None
    status: str = "failed"  # or "canceled" (RDS-EVENT-0160)
    database: str | None = None

    def applies(self, task: Any, region: str) -> bool:
        return _matches(self.match, self.database, self.region, task, region) and (
            self.times is None or self.times > 0
        )


@dataclass
class ExportWarning:
    """Make export tasks whose id contains ``match`` (of ``database`` exactly, when given)
    end COMPLETE with tables left out."""

    match: str = ""
    tables: tuple[tuple[str, str, str], ...] = DEFAULT_LEFT_OUT  # (table, status, why)
    message: str = ""  # the task's WarningMessage ("" : one naming the tables)
    region: str | None = None
    database: str | None = None

    def applies(self, task: Any, region: str) -> bool:
        return _matches(self.match, self.database, self.region, task, region)


@dataclass
class Knobs:
    delay: float = 0.0
    drop: set[str] = field(default_factory=set)  # EventIDs, e.g. {"RDS-EVENT-0060"}
    drop_once: set[str] = field(default_factory=set)  # the next one of each EventID only
    duplicate: int = 1
    fail_exports: list[ExportFault] = field(default_factory=list)
    cancel_copies: set[str] = field(default_factory=set)  # copies whose id contains one
    warn_exports: list[ExportWarning] = field(default_factory=list)


@dataclass(frozen=True)
class RdsEvent:
    region: str
    event_id: str
    arn: str
    identifier: str
    message: str
    category: str
    due: float
    account: str = ACCOUNT


class RdsEventEmulator:
    def __init__(
        self,
        server: LocalServer,
        regions: tuple[str, ...],
        timeline: Timeline,
        clock: VirtualClock | None = None,
        profile: Profile | None = None,
        accounts: tuple[str, ...] = (ACCOUNT,),
    ) -> None:
        self.server = server
        self.regions = regions
        self.accounts = accounts
        self.timeline = timeline
        self.knobs = Knobs()
        self.seen: set[tuple[str, ...]] = set()
        self.pending: list[RdsEvent] = []
        self.emitted: list[RdsEvent] = []
        self.clock = clock
        self.profile = profile
        if clock is not None and profile is None:
            raise ValueError("timed mode needs a duration profile")
        limits.install()
        limits.observe(self._created)

    def close(self) -> None:
        """Stop seeing new resources."""
        limits.unobserve(self._created)

    def fail_exports(
        self,
        match: str = "",
        cause: str = DEFAULT_EXPORT_FAILURE,
        times: int | None = None,
        region: str | None = None,
        status: str = "failed",
        database: str | None = None,
    ) -> None:
        """Export tasks whose id contains ``match`` (of ``database`` exactly, when given)
        end ``status`` (failed or canceled)."""
        self.knobs.fail_exports.append(ExportFault(match, cause, times, region, status, database))

    def warn_exports(
        self,
        match: str = "",
        tables: tuple[tuple[str, str, str], ...] = DEFAULT_LEFT_OUT,
        message: str = "",
        region: str | None = None,
        database: str | None = None,
    ) -> None:
        """Export tasks whose id contains ``match`` (of ``database`` exactly, when given) end
        COMPLETE with ``tables`` left out: a WarningMessage on the task and their status in
        export_tables_info."""
        self.knobs.warn_exports.append(ExportWarning(match, tables, message, region, database))

    def heal(self) -> None:
        """The cause is fixed: exports and copies started from now on complete."""
        self.knobs.fail_exports.clear()
        self.knobs.cancel_copies.clear()
        self.knobs.warn_exports.clear()

    @property
    def idle(self) -> bool:
        return not self.pending

    def tick(self) -> int:
        """Notice state changes, emit what is due; return how many events were put.
        Timed mode: nothing to do (the clock's timers change state and put events)."""
        if self.clock is not None:
            return 0
        now = time.monotonic()
        for account in self.accounts:
            for region in self.regions:
                self._watch(rds_backends[account][region], now)
        due = [event for event in self.pending if event.due <= now]
        self.pending = [event for event in self.pending if event.due > now]
        for event in due:
            self._emit(event)
        return len(due)

    def _watch(self, backend: Any, now: float) -> None:
        region = backend.region_name
        for snapshot in list(backend.database_snapshots.values()):
            if snapshot.snapshot_type != "manual" or snapshot.status != "available":
                continue
            key = ("snapshot", region, snapshot.db_snapshot_identifier, str(snapshot.created),
                   backend.account_id)  # fmt: skip
            if key in self.seen:
                continue
            self.seen.add(key)
            identifier = snapshot.db_snapshot_identifier
            if _same_region_copy(snapshot, region):
                self._no_copy_event(region, identifier)
                continue
            if snapshot.database.region != region and self._cancel_copy(backend, identifier):
                event_id, message, category = (
                    "RDS-EVENT-0061",
                    _copy_canceled(identifier, snapshot),
                    "notification",
                )
            elif snapshot.database.region != region:  # a cross-region copy landed here
                event_id, message, category = (
                    "RDS-EVENT-0060",
                    _copy_finished(identifier, snapshot),
                    "notification",
                )
            else:
                event_id, message, category = (
                    "RDS-EVENT-0042",
                    "Manual snapshot created.",
                    "creation",
                )
            self._schedule(region, event_id, snapshot.arn, identifier, message, category, now)
        for cluster_snapshot in list(backend.cluster_snapshots.values()):
            if cluster_snapshot.snapshot_type != "manual" or cluster_snapshot.status != "available":
                continue
            identifier = cluster_snapshot.db_cluster_snapshot_identifier
            key = ("cluster-snapshot", region, identifier, str(cluster_snapshot.created),
                   backend.account_id)  # fmt: skip
            if key in self.seen:
                continue
            self.seen.add(key)
            if cluster_snapshot.cluster.region != region:
                continue  # a cluster copy landed here: RDS emits nothing
            for event_id, message in (CLUSTER_CREATING, CLUSTER_CREATED):
                category = "creation" if event_id == CLUSTER_CREATING[0] else "backup"
                self._schedule(
                    region, event_id, cluster_snapshot.arn, identifier, message, category, now
                )
        for task in list(backend.export_tasks.values()):
            key = ("export", region, str(task.export_task_identifier), "", backend.account_id)
            if key in self.seen:
                continue
            self._maybe_fail(task, region)
            status = str(task.status).lower()
            if status not in EXPORT_EVENTS:
                continue  # still running
            self.seen.add(key)
            event_id, message = _export_event(task, status)
            identifier = str(task.source_arn).rsplit(":", 1)[-1]
            self._schedule(
                region, event_id, str(task.source_arn), identifier, message, "notification", now
            )

    def _no_copy_event(self, region: str, identifier: str) -> None:
        self.timeline.add(
            "note", region, "same-Region copy available", subject=identifier,
            result="no RDS event (0059/0060/0061 are the cross-Region copy events)",
        )  # fmt: skip

    def _cancel_copy(self, backend: Any, identifier: str) -> bool:
        """A copy matching a ``cancel_copies`` knob is canceled: RDS drops the snapshot."""
        if not any(match in identifier for match in self.knobs.cancel_copies):
            return False
        backend.database_snapshots.pop(identifier, None)
        self.timeline.add("fault", backend.region_name, "copy canceled", subject=identifier)
        return True

    # -- timed mode ----------------------------------------------------------------------------

    def _created(self, kind: str, backend: Any, resource: Any) -> None:
        """A new manual snapshot, copy or export task (in moto's server thread, before its
        creation is answered): born in progress, ended by a timer. Instant mode: an export
        a fault knob matches fails at once, so no handler ever sees it complete."""
        if self.clock is None or self.profile is None:
            if kind == "export":
                self._maybe_fail(resource, backend.region_name)
                if str(resource.status).lower() == "complete":
                    end = domain_clock.now()
                    took = timedelta(minutes=10 + 1.5 * _allocated_gib(resource))
                    self._finish_export(backend.region_name, resource, end - took, end)
            return
        region = backend.region_name
        now = self.clock.now()
        if kind in ("cluster-snapshot", "cluster-copy"):
            self._cluster_created(kind, backend, resource, now)
            return
        if kind == "export":
            identifier = str(resource.source_arn).rsplit(":", 1)[-1]
            database = _database_of(resource.snapshot)
            took = self.profile.duration("export", identifier, region, database)
            resource.status = "STARTING"
            resource.task_start_time = now
            self.clock.call_at(
                now + min(self.profile.export_starting, took / 2),
                lambda: _advance_export(resource),
                label=f"export {resource.export_task_identifier} in progress",
            )
            self.clock.call_at(
                now + took,
                lambda: self._export_done(backend, resource),
                label=f"export {resource.export_task_identifier} ends",
            )
            return
        identifier = resource.db_snapshot_identifier
        resource.status = "creating"
        step = "snapshot" if kind == "snapshot" else "copy"
        took = self.profile.duration(
            step, identifier, region, resource.database.db_instance_identifier
        )
        self.clock.call_at(
            now + took,
            lambda: self._snapshot_done(backend, resource),
            label=f"{kind} {region}/{identifier} available",
        )

    def _cluster_created(self, kind: str, backend: Any, snapshot: Any, now: Any) -> None:
        """Timed mode: a cluster snapshot is ``creating`` (a copy ``copying``) until its
        sampled duration has passed; a new one in its cluster's region emits 0074 now."""
        assert self.clock is not None
        assert self.profile is not None
        region = backend.region_name
        identifier = snapshot.db_cluster_snapshot_identifier
        copying = kind == "cluster-copy"
        snapshot.status = "copying" if copying else "creating"
        step = "copy" if copying else "snapshot"
        took = self.profile.duration(step, identifier, region, snapshot.db_cluster_identifier)
        if not copying:
            self._schedule(
                region, *CLUSTER_CREATING[:1], snapshot.arn, identifier, CLUSTER_CREATING[1],
                "creation", 0.0,
            )  # fmt: skip
        self.clock.call_at(
            now + took,
            lambda: self._cluster_done(backend, snapshot, copying),
            label=f"{kind} {region}/{identifier} available",
        )

    def _cluster_done(self, backend: Any, snapshot: Any, copying: bool) -> None:
        region, identifier = backend.region_name, snapshot.db_cluster_snapshot_identifier
        if backend.cluster_snapshots.get(identifier) is not snapshot:
            return  # deleted while being created (how a cluster copy is canceled)
        snapshot.status = "available"
        self.seen.add(
            ("cluster-snapshot", region, identifier, str(snapshot.created), backend.account_id)
        )
        if copying:
            self.timeline.add(
                "note", region, "cluster copy available", subject=identifier,
                result="no RDS event (none exists for a cluster copy)",
            )  # fmt: skip
            return
        self._schedule(
            region, *CLUSTER_CREATED[:1], snapshot.arn, identifier, CLUSTER_CREATED[1],
            "backup", 0.0,
        )  # fmt: skip

    def _snapshot_done(self, backend: Any, snapshot: Any) -> None:
        region, identifier = backend.region_name, snapshot.db_snapshot_identifier
        if backend.database_snapshots.get(identifier) is not snapshot:
            return  # deleted (or replaced) while being created
        snapshot.status = "available"
        self.seen.add(("snapshot", region, identifier, str(snapshot.created), backend.account_id))
        if _same_region_copy(snapshot, region):
            self._no_copy_event(region, identifier)
            return
        if snapshot.database.region != region and self._cancel_copy(backend, identifier):
            event = ("RDS-EVENT-0061", _copy_canceled(identifier, snapshot))
        elif snapshot.database.region != region:
            event = ("RDS-EVENT-0060", _copy_finished(identifier, snapshot))
        else:
            event = ("RDS-EVENT-0042", "Manual snapshot created.")
        category = "creation" if event[0] == "RDS-EVENT-0042" else "notification"
        self._schedule(region, *event[:1], snapshot.arn, identifier, event[1], category, 0.0)

    def _export_done(self, backend: Any, task: Any) -> None:
        assert self.clock is not None
        region = backend.region_name
        if str(task.status).lower() in ("canceling", "canceled"):
            task.status = "canceled"
        else:
            task.status = "complete"
            self._maybe_fail(task, region)
        task.status = str(task.status).upper()
        task.task_end_time = self.clock.now()
        if task.status == "COMPLETE":
            self._finish_export(region, task, task.task_start_time, task.task_end_time)
        task.percent_progress = (
            100 if task.status == "COMPLETE" else task.__dict__.get("percent_progress", 0)
        )
        self.seen.add(("export", region, str(task.export_task_identifier), "", backend.account_id))
        event_id, message = _export_event(task, task.status.lower())
        identifier = str(task.source_arn).rsplit(":", 1)[-1]
        self._schedule(
            region, event_id, str(task.source_arn), identifier, message, "notification", 0.0
        )

    def _maybe_fail(self, task: Any, region: str) -> None:
        if str(task.status).lower() != "complete":
            return
        cause = task.__dict__.get("local_failure_cause")
        if cause:  # the export role cannot do the export (export_access.py)
            task.status = "failed"
            task.failure_cause = cause
            self.timeline.add(
                "fault", region, "export failed: role check",
                subject=task.export_task_identifier, result=cause,
            )  # fmt: skip
            return
        for fault in self.knobs.fail_exports:
            if fault.applies(task, region):
                task.status = fault.status
                if fault.status == "failed":
                    task.failure_cause = fault.cause
                if fault.times is not None:
                    fault.times -= 1
                self.timeline.add(
                    "fault",
                    region,
                    f"export set to {fault.status}",
                    subject=task.export_task_identifier,
                    result=fault.cause if fault.status == "failed" else "",
                )
                return

    def _finish_export(self, region: str, task: Any, started: Any, ended: Any) -> None:
        """What RDS reports of a COMPLETE export: its times, the data it extracted, a
        WarningMessage when tables were left out, and the files it writes next to the data:
        ``export_info_<id>.json`` and ``export_tables_info_<id>_from_1_to_N.json`` under
        ``<prefix>/<export-id>/`` (rds_backup/state/export_tables.py has the format and sources)."""
        identifier = str(task.export_task_identifier)
        task.task_start_time = started
        task.task_end_time = ended
        task.percent_progress = 100
        gib = _allocated_gib(task)
        task.total_extracted_data_in_gb = max(1, round(gib * 0.35))
        statuses: list[dict[str, Any]] = [
            {"target": table, "status": "COMPLETE", "sizeGB": round(gib * 0.1, 2)}
            for table in EXPORTED_TABLES
        ]
        warning = next((w for w in self.knobs.warn_exports if w.applies(task, region)), None)
        if warning is not None:
            statuses += [
                {"target": table, "status": status, "warningMessage": why}
                for table, status, why in warning.tables
            ]
            task.warning_message = warning.message or (
                f"{len(warning.tables)} tables were not exported: "
                + ", ".join(table for table, _, _ in warning.tables)
            )
            self.timeline.add("fault", region, "export completed with warnings", subject=identifier)
        folder = "/".join(p for p in (str(task.s3_prefix or "").strip("/"), identifier) if p)
        files = {
            f"{folder}/export_info_{identifier}.json": {
                "exportTaskIdentifier": identifier,
                "sourceArn": str(task.source_arn),
                "status": "COMPLETE",
                "percentProgress": 100,
                "totalExtractedDataInGB": task.total_extracted_data_in_gb,
            },
            f"{folder}/export_tables_info_{identifier}_from_1_to_{len(statuses)}.json": {
                "perTableStatus": statuses
            },
        }
        s3 = s3_backends[str(getattr(task, "account_id", ACCOUNT))]["aws"]
        for key, document in files.items():
            try:
                s3.put_object(str(task.s3_bucket), key, json.dumps(document).encode())
            except MissingBucket as error:  # RDS would have refused the export earlier
                self.timeline.add("fault", region, "export files not written", result=str(error))
                return

    def _schedule(
        self,
        region: str,
        event_id: str,
        arn: str,
        identifier: str,
        message: str,
        category: str,
        now: float,
    ) -> None:
        # The account whose resource it is (its ARN's): RDS tells that account.
        account = arn.split(":")[4] if arn.count(":") >= 5 else ACCOUNT
        event = RdsEvent(
            region, event_id, arn, identifier, message, category, now + self.knobs.delay,
            account or ACCOUNT,
        )  # fmt: skip
        if event_id in self.knobs.drop_once:
            self.knobs.drop_once.discard(event_id)
            self.timeline.add("drop", region, event_id, subject=identifier, result="not delivered")
            return
        if event_id in self.knobs.drop:
            self.timeline.add("drop", region, event_id, subject=identifier, result="not delivered")
            return
        if self.clock is not None and self.profile is not None:
            latency = self.profile.event_latency + timedelta(seconds=self.knobs.delay)
            self.clock.call_at(
                self.clock.now() + latency,
                lambda: self._emit(event),
                label=f"{event_id} {identifier}",
            )
            return
        self.pending.append(event)

    def _emit(self, event: RdsEvent) -> None:
        now = domain_clock.now()
        cluster = ":cluster-snapshot:" in event.arn
        entry = {
            "Source": "aws.rds",
            "DetailType": CLUSTER_DETAIL_TYPE if cluster else DETAIL_TYPE,
            "Resources": [event.arn],
            "Time": now,
            "Detail": json.dumps(
                {
                    "EventCategories": [event.category],
                    "SourceType": "CLUSTER_SNAPSHOT" if cluster else "SNAPSHOT",
                    "SourceArn": event.arn,
                    "Date": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "SourceIdentifier": event.identifier,
                    "Message": event.message,
                    "EventID": event.event_id,
                }
            ),
        }
        events = self.server.client("events", event.region, event.account)
        copies = max(1, self.knobs.duplicate)
        for start in range(0, copies, 10):
            events.put_events(Entries=[entry] * min(10, copies - start))
        self.emitted.append(event)
        times = f" x{copies}" if copies > 1 else ""
        where = "" if event.account == ACCOUNT else f"account {event.account}"
        self.timeline.add(
            "emit", event.region, event.event_id + times, subject=event.identifier, result=where
        )


def _same_region_copy(snapshot: Any, region: str) -> bool:
    """A copy made from a snapshot in its own region (the vault copying what another account
    shared with it there): the copy events RDS documents (0059/0060/0061) are cross-Region
    ones, so none is put (an assumption: no same-Region copy event is documented)."""
    source = snapshot.__dict__.get("local_copy_source_region")  # set by limits on a copy
    return source is not None and source == region


def _allocated_gib(task: Any) -> int:
    """The exported snapshot's AllocatedStorage (GiB), as the size of what RDS extracts."""
    value = getattr(getattr(task, "snapshot", None), "allocated_storage", None)
    if value is None:
        value = getattr(
            getattr(getattr(task, "snapshot", None), "database", None), "allocated_storage", 20
        )
    return int(value or 20)


def _export_event(task: Any, status: str) -> tuple[str, str]:
    """The event an ended export task emits: 0159-0161, or 0162-0164 for a cluster's."""
    cluster = ":cluster-snapshot:" in str(task.source_arn)
    return (CLUSTER_EXPORT_EVENTS if cluster else EXPORT_EVENTS)[status]


def _database_of(snapshot: Any) -> str:
    """The instance or cluster a (moto) snapshot was taken of."""
    cluster = getattr(snapshot, "db_cluster_identifier", None)
    return str(cluster) if cluster else str(snapshot.database.db_instance_identifier)


def _advance_export(task: Any) -> None:
    if str(task.status).upper() == "STARTING":
        task.status = "IN_PROGRESS"
        task.percent_progress = 0


def _copy_finished(identifier: str, snapshot: Any) -> str:
    """RDS-EVENT-0060's text in the RDS User Guide's event table."""
    return f"Finished copy of snapshot {identifier} from region {_origin(snapshot)} in 0 minutes."


def _copy_canceled(identifier: str, snapshot: Any) -> str:
    """RDS-EVENT-0061's text in the RDS User Guide's event table."""
    return f"Canceled snapshot copy request of {identifier} from region {_origin(snapshot)}."


def _origin(snapshot: Any) -> str:
    return str(getattr(getattr(snapshot, "database", None), "region", "") or "unknown")
