"""The waiting queue, derived from AWS state each time (never stored), so a lost or late
event loses nothing (docs/ARCHITECTURE.md, principle 1):

- waiting copy: our source snapshot, available, with no copy in the target region;
- waiting export: our snapshot (the copy; the source with STORE_TO_SOURCE_S3), available,
  whose run expects that export and that has no attempt yet, or whose failed attempt an
  operator re-drove (replay) while every slot was busy (tag ``rds-backup:retry-export`` =
  the failed attempt's id).

Order: oldest run first; within a run (all its steps wait from the same scheduled time), the
longest expected first (earlier nights' export durations of the database; its size when it
has none), then the snapshot made first; ties broken by a
hash of run and database that changes every night, so no database always comes last.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from rds_backup.limits.view import View
from rds_backup.model import tags
from rds_backup.model.naming import run_time
from rds_backup.settings import Settings

RETRY_EXPORT = f"{tags.NAMESPACE}retry-export"
COPY_CANCELED = f"{tags.NAMESPACE}copy-canceled"


class Slot(StrEnum):
    """The limit a step waits for: a copy slot (per destination region and snapshot kind)
    or an export slot (per account)."""

    COPY = "copy"
    EXPORT = "export"


@dataclass(frozen=True)
class Waiting:
    """One step waiting for a slot: copy ``snapshot`` into the target region, or export it
    in its own region (attempt ``attempt``)."""

    slot: Slot
    snapshot: tags.Owned
    attempt: int = 1

    @property
    def region(self) -> str:
        return self.snapshot.region

    @property
    def label(self) -> str:
        return f"{self.slot.value} {self.snapshot.region}/{self.snapshot.identifier}"


def order_key(
    snapshot: tags.Owned, rate: float | None = None
) -> tuple[datetime, float, datetime, str]:
    """Oldest run first. A run's steps all wait from the same scheduled time; among them the
    longest expected first (list scheduling's longest-processing-time rule shortens the
    night), then the snapshot made first, then a tie-break that rotates every night so equal
    databases take turns. Expected: the hours earlier nights' exports of the database took
    (tag ``rds-backup:export-hours``, rds_backup/state/history.py); without it, its size
    (AllocatedStorage: an export's time grows with the data, RDS User Guide) times ``rate``,
    the hours per GiB of the others waiting with it (:func:`hours_per_gib`); with no rate,
    the size alone (every key then compares sizes)."""
    created = snapshot.raw.get("SnapshotCreateTime")
    made = _utc(created) if isinstance(created, datetime) else run_time(snapshot.run)
    size = snapshot.raw.get("AllocatedStorage")
    sized = float(size) if isinstance(size, int) else 0.0
    if rate is None:
        longest_first = -sized
    else:
        hours = expected_hours(snapshot)
        longest_first = -(hours if hours is not None else sized * rate)
    rotation = hashlib.sha256(f"{snapshot.run}:{snapshot.database.lower()}".encode()).hexdigest()
    return (run_time(snapshot.run), longest_first, made, rotation)


def expected_hours(snapshot: tags.Owned) -> float | None:
    """The export's expected hours from history (its tag), if it has one."""
    try:
        hours = float(snapshot.tags.get(tags.EXPECTED_EXPORT_HOURS, ""))
    except ValueError:
        return None
    return hours if hours > 0 else None


def hours_per_gib(snapshots: Iterable[tags.Owned]) -> float | None:
    """The median hours per GiB of the snapshots with an expected duration and a size: what
    turns a size into hours for one with no history. None when none has both."""
    rates = [
        hours / size
        for snapshot in snapshots
        if (hours := expected_hours(snapshot)) is not None
        and isinstance(size := snapshot.raw.get("AllocatedStorage"), int)
        and size > 0
    ]
    return statistics.median(rates) if rates else None


def _ordered(found: list[Waiting]) -> list[Waiting]:
    rate = hours_per_gib(w.snapshot for w in found)
    return sorted(found, key=lambda w: order_key(w.snapshot, rate))


def waiting_copies(settings: Settings, view: View, redrive: Collection[str] = ()) -> list[Waiting]:
    """Copies not yet made, oldest first. A source whose copy was canceled (RDS-EVENT-0061,
    tag COPY_CANCELED) waits for a person: only a re-drive (a replayed 0042, ``redrive``)
    copies it again, so a deliberate cancel is not undone behind their back."""
    found = [
        Waiting(Slot.COPY, source)
        for key, source in view.sources.items()
        if source.available
        and key not in view.copies
        and (COPY_CANCELED not in source.tags or key in redrive)
    ]
    return _ordered(found)


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
                found.append(Waiting(Slot.EXPORT, snapshot))
            elif latest.failed and (
                snapshot.identifier.lower() in redrive
                or snapshot.tags.get(RETRY_EXPORT) == latest.export_id
            ):
                found.append(Waiting(Slot.EXPORT, snapshot, latest.attempt + 1))
    return _ordered(found)


def queue(settings: Settings, view: View) -> list[Waiting]:
    """Every waiting step, copies first (each in its own order): what ``status`` shows."""
    return waiting_copies(settings, view) + waiting_exports(settings, view)


class Labelled(Protocol):
    """Anything a filler starts: it names itself in logs and results."""

    @property
    def label(self) -> str: ...


def labels(items: Iterable[Labelled]) -> list[str]:
    return [item.label for item in items]


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
