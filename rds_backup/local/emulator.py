"""The RDS event emulator: moto keeps RDS state but emits no events, so this watches the
state in every region and puts the events RDS would put, on that region's default bus.

- a manual snapshot becomes available in the region of its database → RDS-EVENT-0042
- a cross-region copy becomes available (emitted in the destination region) → RDS-EVENT-0060,
  or, when a ``cancel_copies`` knob matches, the copy is dropped → RDS-EVENT-0061
- an export task ends in the snapshot's region: complete → 0161, failed → 0159,
  canceled → 0160 (moto's statuses are lower-case, and its exports complete at once)

Each state change is emitted once. Knobs, for fault tests: ``delay`` (seconds between the
change and its event), ``drop`` (EventIDs never delivered), ``duplicate`` (each event put N
times), and ``fail_exports`` (matching export tasks end failed with a cause, or canceled).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.rds.models import rds_backends

from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT
from rds_backup.local.timeline import Timeline

DETAIL_TYPE = "RDS DB Snapshot Event"
EXPORT_EVENTS = {
    "complete": ("RDS-EVENT-0161", "Snapshot export task completed."),
    "failed": ("RDS-EVENT-0159", "Snapshot export task failed."),
    "canceled": ("RDS-EVENT-0160", "Snapshot export task canceled."),
}
DEFAULT_EXPORT_FAILURE = (
    "S3 bucket access denied: the export role cannot write to the bucket (emulated fault)"
)


@dataclass
class ExportFault:
    """Make export tasks whose id contains ``match`` (in ``region``, or any) end failed."""

    match: str = ""
    cause: str = DEFAULT_EXPORT_FAILURE
    times: int | None = None  # how many exports to fail; None = until healed
    region: str | None = None
    status: str = "failed"  # or "canceled" (RDS-EVENT-0160)

    def applies(self, export_id: str, region: str) -> bool:
        return (
            self.match in export_id
            and self.region in (None, region)
            and (self.times is None or self.times > 0)
        )


@dataclass
class Knobs:
    delay: float = 0.0
    drop: set[str] = field(default_factory=set)  # EventIDs, e.g. {"RDS-EVENT-0060"}
    duplicate: int = 1
    fail_exports: list[ExportFault] = field(default_factory=list)
    cancel_copies: set[str] = field(default_factory=set)  # copies whose id contains one


@dataclass(frozen=True)
class RdsEvent:
    region: str
    event_id: str
    arn: str
    identifier: str
    message: str
    category: str
    due: float


class RdsEventEmulator:
    def __init__(self, server: LocalServer, regions: tuple[str, ...], timeline: Timeline) -> None:
        self.server = server
        self.regions = regions
        self.timeline = timeline
        self.knobs = Knobs()
        self.seen: set[tuple[str, ...]] = set()
        self.pending: list[RdsEvent] = []
        self.emitted: list[RdsEvent] = []

    def fail_exports(
        self,
        match: str = "",
        cause: str = DEFAULT_EXPORT_FAILURE,
        times: int | None = None,
        region: str | None = None,
        status: str = "failed",
    ) -> None:
        """Export tasks whose id contains ``match`` end ``status`` (failed or canceled)."""
        self.knobs.fail_exports.append(ExportFault(match, cause, times, region, status))

    def heal(self) -> None:
        """The cause is fixed: exports and copies started from now on complete."""
        self.knobs.fail_exports.clear()
        self.knobs.cancel_copies.clear()

    @property
    def idle(self) -> bool:
        return not self.pending

    def tick(self) -> int:
        """Notice state changes, emit what is due; return how many events were put."""
        now = time.monotonic()
        for region in self.regions:
            self._watch(region, now)
        due = [event for event in self.pending if event.due <= now]
        self.pending = [event for event in self.pending if event.due > now]
        for event in due:
            self._emit(event)
        return len(due)

    def _watch(self, region: str, now: float) -> None:
        backend = rds_backends[ACCOUNT][region]
        for snapshot in list(backend.database_snapshots.values()):
            if snapshot.snapshot_type != "manual" or snapshot.status != "available":
                continue
            key = ("snapshot", region, snapshot.db_snapshot_identifier, str(snapshot.created))
            if key in self.seen:
                continue
            self.seen.add(key)
            identifier = snapshot.db_snapshot_identifier
            if snapshot.database.region != region and self._cancel_copy(backend, identifier):
                event_id, message, category = (
                    "RDS-EVENT-0061",
                    f"Canceled cross region copy of snapshot {identifier}",
                    "notification",
                )
            elif snapshot.database.region != region:  # a cross-region copy landed here
                event_id, message, category = (
                    "RDS-EVENT-0060",
                    f"Finished copy of snapshot {identifier}",
                    "notification",
                )
            else:
                event_id, message, category = (
                    "RDS-EVENT-0042",
                    "Manual snapshot created",
                    "creation",
                )
            self._schedule(region, event_id, snapshot.arn, identifier, message, category, now)
        for task in list(backend.export_tasks.values()):
            key = ("export", region, str(task.export_task_identifier), "")
            if key in self.seen:
                continue
            self._maybe_fail(task, region)
            status = str(task.status).lower()
            if status not in EXPORT_EVENTS:
                continue  # still running
            self.seen.add(key)
            event_id, message = EXPORT_EVENTS[status]
            identifier = str(task.source_arn).rsplit(":", 1)[-1]
            self._schedule(
                region, event_id, str(task.source_arn), identifier, message, "notification", now
            )

    def _cancel_copy(self, backend: Any, identifier: str) -> bool:
        """A copy matching a ``cancel_copies`` knob is canceled: RDS drops the snapshot."""
        if not any(match in identifier for match in self.knobs.cancel_copies):
            return False
        backend.database_snapshots.pop(identifier, None)
        self.timeline.add("fault", backend.region_name, "copy canceled", subject=identifier)
        return True

    def _maybe_fail(self, task: Any, region: str) -> None:
        if str(task.status).lower() != "complete":
            return
        for fault in self.knobs.fail_exports:
            if fault.applies(task.export_task_identifier, region):
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
        event = RdsEvent(
            region, event_id, arn, identifier, message, category, now + self.knobs.delay
        )
        if event_id in self.knobs.drop:
            self.timeline.add("drop", region, event_id, subject=identifier, result="not delivered")
            return
        self.pending.append(event)

    def _emit(self, event: RdsEvent) -> None:
        now = datetime.now(UTC)
        entry = {
            "Source": "aws.rds",
            "DetailType": DETAIL_TYPE,
            "Resources": [event.arn],
            "Time": now,
            "Detail": json.dumps(
                {
                    "EventCategories": [event.category],
                    "SourceType": "SNAPSHOT",
                    "SourceArn": event.arn,
                    "Date": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "SourceIdentifier": event.identifier,
                    "Message": event.message,
                    "EventID": event.event_id,
                }
            ),
        }
        events = self.server.client("events", event.region)
        copies = max(1, self.knobs.duplicate)
        for start in range(0, copies, 10):
            events.put_events(Entries=[entry] * min(10, copies - start))
        self.emitted.append(event)
        times = f" x{copies}" if copies > 1 else ""
        self.timeline.add("emit", event.region, event.event_id + times, subject=event.identifier)
