"""The pure retention decision: which snapshots cleanup deletes, and why each other stays.

No AWS here. :mod:`rds_backup.steps.cleanup` gathers the facts (snapshots of both regions, exports
in flight) and applies the result; this module only decides, so the never-delete rules of
docs/ARCHITECTURE.md principle 3 can be checked by property tests over arbitrary snapshot sets.

A snapshot is deleted only when it is ours, settled, past retention, and no keep rule
applies. Keep rules, in the order a reason is reported:

1. not ours (automated, AWS Backup, foreign manual, another stack's);
2. the snapshot itself is not settled (creating, copying, deleting, …);
3. its cross-region copy is in flight (same id in the target region, not yet settled);
4. an export of it is in flight (STARTING, IN_PROGRESS, CANCELING);
5. it is within RETENTION_DAYS (or its age is unknown);
6. it is the newest available snapshot of its database in its region (the incremental
   copy chain needs the previous copy);
7. it is one of the newest MIN_KEEP available copies of its database (target region);
8. it is a kept generation: the newest snapshot of each of the last KEEP_DAILY days /
   KEEP_WEEKLY ISO weeks / KEEP_MONTHLY months that have a snapshot (restic's
   ``--keep-daily`` semantics: periods without a snapshot do not count);
9. its database left the selection but still exists (KEEP_UNSELECTED, the default): none
   of its snapshots is deleted, since no new backup will replace them
   (rds_backup/model/coverage.py says which databases, and why).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from rds_backup.model.kinds import Kind
from rds_backup.model.tags import Role
from rds_backup.settings import Settings

AVAILABLE = "available"
# A snapshot in one of these states is finished with: it can be deleted if it expired.
SETTLED = frozenset({"available", "failed"})


class Reason(StrEnum):
    """Why a snapshot is deleted (only EXPIRED) or kept (every other value)."""

    EXPIRED = "expired"
    NOT_OURS = "not ours"
    NOT_SETTLED = "snapshot not settled"
    COPY_IN_FLIGHT = "copy in flight"
    EXPORT_IN_FLIGHT = "export in flight"
    WITHIN_RETENTION = "within retention"
    AGE_UNKNOWN = "age unknown"
    NEWEST_AVAILABLE = "newest available of database in region"
    MIN_KEEP = "one of newest MIN_KEEP copies"
    DAILY = "daily generation"
    WEEKLY = "weekly generation"
    MONTHLY = "monthly generation"
    UNSELECTED = "database left the selection"

    @property
    def deletes(self) -> bool:
        return self is Reason.EXPIRED


@dataclass(frozen=True)
class Snapshot:
    """What the decision needs to know of one manual snapshot in one region.

    ``database`` and ``role`` are set only for snapshots proven ours (``tags.owned``).
    """

    region: str
    identifier: str
    arn: str
    status: str
    created: datetime | None
    database: str | None = None
    role: Role | None = None
    kind: Kind = Kind.INSTANCE  # a DB snapshot or a DB cluster snapshot (rds_backup/model/kinds.py)

    @property
    def ours(self) -> bool:
        return self.database is not None and self.role is not None

    @property
    def available(self) -> bool:
        return self.status.lower() == AVAILABLE

    @property
    def settled(self) -> bool:
        return self.status.lower() in SETTLED

    def age(self, now: datetime) -> timedelta | None:
        return None if self.created is None else now - _utc(self.created)


@dataclass(frozen=True)
class Policy:
    retention_days: int
    source_region: str
    target_region: str
    min_keep: int = 1
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        """The policy RETENTION_DAYS, MIN_KEEP and KEEP_* configure."""
        return cls(
            retention_days=settings.retention_days,
            source_region=settings.source_region,
            target_region=settings.target_region,
            min_keep=settings.min_keep,
            keep_daily=settings.keep_daily,
            keep_weekly=settings.keep_weekly,
            keep_monthly=settings.keep_monthly,
        )


@dataclass(frozen=True)
class Decision:
    snapshot: Snapshot
    reason: Reason
    age_days: float | None

    @property
    def delete(self) -> bool:
        return self.reason.deletes


def decide(
    snapshots: Sequence[Snapshot],
    exports_in_flight: Iterable[str],
    policy: Policy,
    now: datetime,
    unselected: Iterable[tuple[str, Kind]] = (),
) -> list[Decision]:
    """Decide keep or delete, with a reason, for every snapshot (same order as given).

    ``exports_in_flight`` holds the source ARNs of export tasks not yet finished;
    ``unselected`` the (database, kind) whose snapshots are all kept (rule 9).
    """
    now = _utc(now)
    exporting = {arn.lower() for arn in exports_in_flight}
    copies_in_flight = {
        s.identifier.lower()
        for s in snapshots
        if s.region == policy.target_region and not s.settled
    }
    protected = _protected(snapshots, policy)
    frozen = {(database.lower(), kind) for database, kind in unselected}
    retention = timedelta(days=policy.retention_days)
    decisions = []
    for snapshot in snapshots:
        age = snapshot.age(now)
        if not snapshot.ours:
            reason = Reason.NOT_OURS
        elif not snapshot.settled:
            reason = Reason.NOT_SETTLED
        elif (
            snapshot.region == policy.source_region
            and snapshot.identifier.lower() in copies_in_flight
        ):
            reason = Reason.COPY_IN_FLIGHT
        elif snapshot.arn.lower() in exporting:
            reason = Reason.EXPORT_IN_FLIGHT
        elif age is None:
            reason = Reason.AGE_UNKNOWN
        elif age <= retention:
            reason = Reason.WITHIN_RETENTION
        elif _key(snapshot) in protected:
            reason = protected[_key(snapshot)]
        elif ((snapshot.database or "").lower(), snapshot.kind) in frozen:
            reason = Reason.UNSELECTED
        else:
            reason = Reason.EXPIRED
        days = None if age is None else round(age.total_seconds() / 86400, 2)
        decisions.append(Decision(snapshot, reason, days))
    return decisions


def _protected(snapshots: Sequence[Snapshot], policy: Policy) -> dict[tuple[str, str], Reason]:
    """Snapshots kept whatever their age, with the first rule that keeps each."""
    ready = sorted(
        (s for s in snapshots if s.ours and s.available and s.created is not None),
        key=_newest_first,
    )
    kept: dict[tuple[str, str], Reason] = {}

    def keep(chosen: Iterable[Snapshot], reason: Reason) -> None:
        for snapshot in chosen:
            kept.setdefault(_key(snapshot), reason)

    per_region = _group(ready, lambda s: (s.database, s.kind, s.region))
    keep((group[0] for group in per_region.values()), Reason.NEWEST_AVAILABLE)
    copies = [s for s in ready if s.region == policy.target_region and s.role is Role.COPY]
    for group in _group(copies, lambda s: (s.database, s.kind)).values():
        keep(group[: policy.min_keep], Reason.MIN_KEEP)
    generations: tuple[tuple[int, Reason, Callable[[datetime], Hashable]], ...] = (
        (policy.keep_daily, Reason.DAILY, lambda t: t.date()),
        (policy.keep_weekly, Reason.WEEKLY, lambda t: t.isocalendar()[:2]),
        (policy.keep_monthly, Reason.MONTHLY, lambda t: (t.year, t.month)),
    )
    for count, reason, period in generations:
        if count:
            for group in per_region.values():
                keep(_newest_per_period(group, period, count), reason)
    return kept


def _newest_per_period(
    newest_first: Sequence[Snapshot], period: Callable[[datetime], Hashable], count: int
) -> list[Snapshot]:
    chosen: list[Snapshot] = []
    seen: set[Hashable] = set()
    for snapshot in newest_first:
        assert snapshot.created is not None  # filtered by the caller
        bucket = period(_utc(snapshot.created))
        if bucket not in seen:
            if len(seen) == count:
                break
            seen.add(bucket)
            chosen.append(snapshot)
    return chosen


def _group(
    snapshots: Iterable[Snapshot], key: Callable[[Snapshot], Hashable]
) -> dict[Hashable, list[Snapshot]]:
    groups: dict[Hashable, list[Snapshot]] = defaultdict(list)
    for snapshot in snapshots:
        groups[key(snapshot)].append(snapshot)
    return groups


def _newest_first(snapshot: Snapshot) -> tuple[float, str]:
    assert snapshot.created is not None
    return (-_utc(snapshot.created).timestamp(), snapshot.identifier)


def _key(snapshot: Snapshot) -> tuple[str, str]:
    return (snapshot.region, snapshot.identifier.lower())


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def kept_until(created: datetime, policy: Policy) -> tuple[date, str]:
    """The day until which a snapshot taken at ``created`` is certainly kept, and why, in
    words: it is within retention while its age is at most RETENTION_DAYS (``decide``), so
    the first daily cleanup that may delete it runs after ``created + RETENTION_DAYS``. Keep
    rules (MIN_KEEP, the newest of its database, KEEP_DAILY/WEEKLY/MONTHLY generations) can
    only keep it longer; they are named, not predicted."""
    until = (_utc(created) + timedelta(days=policy.retention_days)).date()
    longer = ["while it is one of the newest MIN_KEEP copies of its database"]
    for count, period in (
        (policy.keep_daily, "daily"),
        (policy.keep_weekly, "weekly"),
        (policy.keep_monthly, "monthly"),
    ):
        if count:
            longer.append(f"if it is kept as one of the last {count} {period} generations")
    return until, (f"RETENTION_DAYS={policy.retention_days}; kept longer {' or '.join(longer)}")
