"""Is every selected database backed up, and which databases left the selection? (pure)

reconcile and cleanup gather the facts (the databases selected now, what RDS says of every
DB instance and DB cluster, this stack's snapshots); this module decides, with no AWS:

- **coverage**: a selected database is covered when its newest *available copy* in
  TARGET_REGION was taken within BACKUP_ALARM_HOURS. The copy is what a restore needs; an
  export that failed is told by its own email. A selected database never backed up is not
  covered. Named and tag-selected databases are counted alike, so the fleet's coverage
  alarm (``DatabasesWithoutRecentBackup``, infra/alarms.js) covers a tag-selected fleet.
- **departures**: a database with snapshots of this stack that is not selected now (its
  tag removed, its name dropped from DB_IDENTIFIER, deleted or renamed, now a member of a
  cluster). Each says which database, since when (its newest backup), why (from what RDS
  says of it now) and what happens to its backups (KEEP_UNSELECTED, ``model/retention.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rds_backup.model.kinds import Kind
from rds_backup.model.report import NoticeReport
from rds_backup.model.retention import Snapshot
from rds_backup.model.tags import Role
from rds_backup.settings import Settings

Key = tuple[str, Kind]  # (lower-cased identifier, instance or cluster)


@dataclass(frozen=True)
class Backed:
    """What this stack's snapshots say of one database."""

    database: str
    kind: Kind
    snapshots: int
    newest: datetime  # the newest of its snapshots (any region, any role)
    newest_copy: datetime | None  # its newest available copy in TARGET_REGION


@dataclass(frozen=True)
class Departure:
    """A database backed up by this stack that is no longer selected."""

    database: str
    kind: Kind
    last_backup: datetime
    why: str
    exists: bool  # it still exists in SOURCE_REGION (its backups are its only history)
    snapshots: int
    keep_unselected: bool

    @property
    def frozen(self) -> bool:
        """cleanup deletes none of its snapshots (KEEP_UNSELECTED while it exists)."""
        return self.exists and self.keep_unselected

    @property
    def since(self) -> str:
        """Its newest backup's time, to the minute (UTC): selected until then at least."""
        return _utc(self.last_backup).strftime("%Y-%m-%dT%H:%MZ")

    @property
    def backups(self) -> str:
        """What happens to its existing backups, in words."""
        if self.frozen:
            return (
                f"All {self.snapshots} of its snapshots are kept while {self.database} exists "
                "and is not selected (KEEP_UNSELECTED=true): cleanup deletes none of them, "
                "and its dry run names the rule 'database left the selection'. Select it "
                "again to resume nightly backups; once it is deleted, or with "
                "KEEP_UNSELECTED=false, retention applies as to any other database."
            )
        return (
            "Retention applies as usual: snapshots past RETENTION_DAYS are deleted, except its "
            "newest snapshot in each region and its newest MIN_KEEP copies, which stay until "
            "someone deletes them."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "kind": str(self.kind),
            "since": self.since,
            "why": self.why,
            "exists": self.exists,
            "snapshots": self.snapshots,
            "backups": self.backups,
        }


@dataclass(frozen=True)
class Coverage:
    """The fleet at one instant: selected databases, those without a recent copy, departures."""

    now: datetime
    hours: int
    selected: tuple[str, ...]
    without_recent: tuple[str, ...]
    last_copy: Mapping[str, datetime | None]
    departures: tuple[Departure, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": _utc(self.now).isoformat(),
            "hours": self.hours,
            "selected": list(self.selected),
            "without_recent": list(self.without_recent),
            "last_copy": {
                db: None if when is None else _utc(when).isoformat()
                for db, when in self.last_copy.items()
            },
            "left_selection": [d.as_dict() for d in self.departures],
        }


def backed(snapshots: Iterable[Snapshot], target_region: str) -> dict[Key, Backed]:
    """Our snapshots (``Snapshot.ours``) grouped by database and kind."""
    found: dict[Key, Backed] = {}
    for snapshot in snapshots:
        if not snapshot.ours or snapshot.created is None:
            continue
        assert snapshot.database is not None
        key = (snapshot.database.lower(), snapshot.kind)
        created = _utc(snapshot.created)
        is_copy = (
            snapshot.region == target_region and snapshot.role is Role.COPY and snapshot.available
        )
        known = found.get(key)
        if known is None:
            found[key] = Backed(key[0], key[1], 1, created, created if is_copy else None)
            continue
        copy = known.newest_copy
        if is_copy and (copy is None or created > copy):
            copy = created
        found[key] = Backed(key[0], key[1], known.snapshots + 1, max(known.newest, created), copy)
    return found


def coverage(
    settings: Settings,
    now: datetime,
    selected: Iterable[Key],
    backups: Mapping[Key, Backed],
    departures: Iterable[Departure],
) -> Coverage:
    """Which selected databases have no available copy taken within BACKUP_ALARM_HOURS."""
    since = _utc(now) - timedelta(hours=settings.backup_alarm_hours)
    chosen = list(dict.fromkeys(selected))
    last = {db: (b.newest_copy if (b := backups.get((db, kind))) else None) for db, kind in chosen}
    without = tuple(db for db, when in last.items() if when is None or when < since)
    return Coverage(
        now=now,
        hours=settings.backup_alarm_hours,
        selected=tuple(db for db, _ in chosen),
        without_recent=without,
        last_copy=last,
        departures=tuple(departures),
    )


def departures(
    settings: Settings,
    backups: Mapping[Key, Backed],
    selected: Iterable[Key],
    instances: Mapping[str, Mapping[str, Any]],
    clusters: Mapping[str, Mapping[str, Any]],
    problems: Mapping[str, str],
) -> list[Departure]:
    """Databases with backups of this stack that are not selected now, each with why.

    ``instances``/``clusters``: what DescribeDBInstances/DescribeDBClusters said of every
    database of SOURCE_REGION (by lower-cased id); ``problems``: the cause of each configured
    name that could not be selected (rds_backup/state/selection.py ``Problem``).
    """
    chosen = set(selected)
    gone = []
    for key, backup in sorted(backups.items()):
        if key in chosen:
            continue
        database, kind = key
        record = (instances if kind is Kind.INSTANCE else clusters).get(database)
        gone.append(
            Departure(
                database=database,
                kind=kind,
                last_backup=backup.newest,
                why=_why(settings, database, kind, record, problems.get(database)),
                exists=record is not None,
                snapshots=backup.snapshots,
                keep_unselected=settings.keep_unselected,
            )
        )
    return gone


def notice(settings: Settings, departure: Departure, now: datetime) -> NoticeReport:
    """The one email telling a person that ``departure`` is no longer backed up."""
    noun = "DB instance" if departure.kind is Kind.INSTANCE else "DB cluster"
    return NoticeReport(
        stack=settings.stack_name,
        headline=f"{departure.database} is no longer backed up: it left the selection",
        when=now,
        database=departure.database,
        facts=(
            ("Database", f"{departure.database} ({noun}, {settings.source_region})"),
            ("Last backup", departure.since),
            ("Noticed", _utc(now).strftime("%Y-%m-%dT%H:%MZ")),
            ("Still exists", "yes" if departure.exists else "no"),
            ("Snapshots of it", str(departure.snapshots)),
        ),
        paragraphs=(
            ("Why it is no longer selected", departure.why + "."),
            ("What happens to its backups", departure.backups),
            (
                "If it should be backed up",
                "Select it again (DB_IDENTIFIER, or the DB_SELECT_TAG tag on the instance or "
                "cluster); the next night backs it up. rds-backup cleanup --dry-run shows "
                "which of its snapshots are kept and why.",
            ),
        ),
    )


def _why(
    settings: Settings,
    database: str,
    kind: Kind,
    record: Mapping[str, Any] | None,
    problem: str | None,
) -> str:
    noun = "DB instance" if kind is Kind.INSTANCE else "DB cluster"
    if problem:
        return problem  # a configured name that cannot be selected says why itself
    if record is None:
        return (
            f"there is no {noun} {database} in SOURCE_REGION any more: it was deleted or "
            "renamed (RDS lists no such identifier)"
        )
    member = record.get("DBClusterIdentifier") if kind is Kind.INSTANCE else None
    if member:
        return (
            f"{database} is now a member of DB cluster {str(member).lower()}; RDS snapshots "
            "the cluster, not its instances (select the cluster instead)"
        )
    named = database in {db.lower() for db in settings.db_identifiers}
    by_name = not named and (settings.db_identifiers or settings.select_tag is None)
    reasons = ["its name is not in DB_IDENTIFIER"] if by_name else []
    if settings.select_tag is not None:
        key, value = settings.select_tag
        now = [t.get("Value") for t in record.get("TagList", []) if t.get("Key") == key]
        if now:
            reasons.append(f"its tag {key} is now {now[0]!r}, not {value!r} (DB_SELECT_TAG)")
        else:
            reasons.append(f"it no longer carries the tag {key}={value} (DB_SELECT_TAG)")
    return "; ".join(reasons) or f"{database} is not selected"


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
