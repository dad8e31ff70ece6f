"""Capacity planning: will the configured fleet fit AWS's limits? Pure, no AWS calls.

Two limits bite as a fleet grows (docs/ARCHITECTURE.md, "AWS facts"):

* **Manual snapshots per region** (100 by default, adjustable; ``MANUAL_SNAPSHOT_QUOTA`` is the
  planning value). Exceeding it fails CreateDBSnapshot/CopyDBSnapshot with
  ``SnapshotQuotaExceeded`` and does not drain by itself. See
  :func:`snapshots_held_per_region`.
* **5 snapshot exports in progress per account**, each taking hours
  (``EXPORT_HOURS_ESTIMATE``). A night's exports must finish before the next night's start:
  of the 24 h, 20 are planned for exports (:data:`EXPORT_HOURS_PER_SLOT`), the rest leaves
  room for the snapshot and copy before them and for retries. When the fleet does not fit,
  ``EXPORT_EVERY_DAYS`` = N exports each database every N nights (copies stay nightly),
  spread evenly over the fleet: see :func:`export_due`.

:func:`plan` gathers both into a :class:`CapacityPlan` whose warnings name the numbers and the
fix. Packaging prints them (``infra/checks.js`` runs ``python -m rds_backup.model.capacity``); they
never fail a deploy. This module imports only the settings so a handler can use it cheaply.
"""

from __future__ import annotations

import math
import sys
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from rds_backup.settings import Settings

EXPORT_SLOTS = 5  # snapshot exports in progress per account (AWS, not adjustable)
EXPORT_HOURS_PER_SLOT = 20  # planned per night; 24 h is the physical ceiling
EXPORT_CAPACITY_HOURS = EXPORT_SLOTS * EXPORT_HOURS_PER_SLOT
MAX_EXPORT_EVERY_DAYS = 31  # Settings.export_every_days's upper bound
EPOCH = date(1970, 1, 1)
WARNING_PREFIX = "rds-backup capacity warning: "
QUOTA_NAME = 'Service Quotas, RDS "Manual DB instance snapshots"'


@dataclass(frozen=True)
class CapacityPlan:
    """What the configuration needs against what AWS allows, and what to change."""

    databases: int
    snapshots_per_region: int
    quota: int
    export_every_days: int
    exports_hours_per_night: float
    export_capacity_hours: int
    recommended_export_every_days: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def databases(settings: Settings) -> list[str]:
    """The configured databases as RDS stores them (lower case), sorted, without repeats."""
    return sorted({db.lower() for db in settings.db_identifiers})


def snapshots_per_database(settings: Settings) -> int:
    """Snapshots of one database a region holds at most:
    ``max(RETENTION_DAYS + 1, MIN_KEEP) + KEEP_DAILY + KEEP_WEEKLY + KEEP_MONTHLY``.

    One per night within retention (tonight's included, hence + 1); the generations kept past
    retention counted as if none overlapped (a safe upper bound); MIN_KEEP only matters when
    it is larger than what retention already keeps.
    """
    within = max(settings.retention_days + 1, settings.min_keep)
    return within + settings.keep_daily + settings.keep_weekly + settings.keep_monthly


def snapshots_held_per_region(settings: Settings) -> int:
    """Manual snapshots this stack holds in the target region (the fuller one), at most:

    ``databases x (max(RETENTION_DAYS + 1, MIN_KEEP) + KEEP_DAILY + KEEP_WEEKLY + KEEP_MONTHLY)``

    This is the README's sizing formula; compare it with MANUAL_SNAPSHOT_QUOTA, minus any
    manual snapshots other tools keep in the same region. The source region holds as many
    when KEEP_SOURCE_SNAPSHOT=true, about one per database otherwise.
    """
    return len(databases(settings)) * snapshots_per_database(settings)


def snapshots_held_in(settings: Settings, region: str) -> int:
    """Manual snapshots this stack holds in ``region`` at most: :func:`snapshots_held_per_region`
    in the target region (and in the source region with KEEP_SOURCE_SNAPSHOT=true); one per
    database in the source region otherwise (notify deletes each source once it is copied
    and exported)."""
    if region == settings.target_region or settings.keep_source_snapshot:
        return snapshots_held_per_region(settings)
    return len(databases(settings))


def _export_factor(settings: Settings) -> int:
    # With STORE_TO_SOURCE_S3 the source-region export takes a slot of the same 5 too.
    return 2 if settings.store_to_source_s3 else 1


def exports_hours_per_night(settings: Settings, every_days: int | None = None) -> float:
    """Export slot-hours the busiest night needs:
    ``ceil(databases / EXPORT_EVERY_DAYS) x EXPORT_HOURS_ESTIMATE`` (x 2 with
    STORE_TO_SOURCE_S3).

    :func:`export_due` gives each night either ``ceil(D / N)`` or ``floor(D / N)`` databases,
    so this is ``D x EXPORT_HOURS_ESTIMATE / N`` rounded up to the busiest night.
    ``every_days`` overrides EXPORT_EVERY_DAYS (to try another value).
    """
    n = settings.export_every_days if every_days is None else every_days
    due = math.ceil(len(databases(settings)) / n)
    return due * settings.export_hours_estimate * _export_factor(settings)


def recommended_export_every_days(settings: Settings) -> int:
    """The smallest EXPORT_EVERY_DAYS whose busiest night fits 5 slots x 20 h.

    May exceed 31 (the largest allowed value): then no spreading fits and the fleet needs
    another account (the 5-export limit is per account).
    """
    if settings.export_hours_estimate * _export_factor(settings) > EXPORT_CAPACITY_HOURS:
        return MAX_EXPORT_EVERY_DAYS + 1  # one export alone is too long for any night
    n = 1
    while exports_hours_per_night(settings, n) > EXPORT_CAPACITY_HOURS + 1e-9:
        n += 1  # ends by n = len(databases): one database a night fits
    return n


def _days(run_date: date) -> int:
    if isinstance(run_date, datetime):
        aware = run_date if run_date.tzinfo else run_date.replace(tzinfo=UTC)
        run_date = aware.astimezone(UTC).date()
    return (run_date - EPOCH).days


def rotation_offset(settings: Settings, database: str, every: int) -> int | None:
    """A database's place in a rotation of ``every`` days: its index in the sorted,
    lower-cased DB_IDENTIFIER list modulo ``every``, so each day takes its share of the
    fleet; None for a database neither named nor tag-selected. Exports (EXPORT_EVERY_DAYS)
    and restore drills (DRILL_EVERY_DAYS, rds_backup/model/drills.py) rotate this way."""
    fleet = databases(settings)
    try:
        return fleet.index(database.lower()) % every
    except ValueError:
        if settings.select_tag is None:
            return None
    # Selected by tag (DB_SELECT_TAG): the tagged fleet may change any night, so the offset
    # must not depend on it. A stable hash of the name still gives the database its day
    # exactly every N days; the days are spread about evenly, not exactly.
    return zlib.crc32(database.lower().encode()) % every


def _offset(settings: Settings, database: str) -> int | None:
    return rotation_offset(settings, database, settings.export_every_days)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (a datetime is taken in UTC; naive means UTC)."""
    return _days(day)


def export_due(settings: Settings, database: str, run_date: date) -> bool:
    """Is ``database`` exported on the night of ``run_date`` (a date, or a datetime taken in
    UTC; naive means UTC)?

    With EXPORT_EVERY_DAYS = N, a database's offset is its index in the sorted, lower-cased
    configured list modulo N, and it is due when ``(days since 1970-01-01 + offset) % N == 0``:
    every database exactly every N nights, and each night ``ceil(D/N)`` or ``floor(D/N)`` of
    the D databases. N = 1: always due. A database selected by tag (DB_SELECT_TAG) and not
    named gets a stable offset from its name; one neither named nor tag-selected is always
    due (an export is never skipped by mistake).
    """
    n = settings.export_every_days
    offset = _offset(settings, database)
    if n == 1 or offset is None:
        return True
    return (_days(run_date) + offset) % n == 0


def next_export_due(settings: Settings, database: str, after: date) -> date:
    """The first night strictly after ``after`` on which ``database`` is exported."""
    start = _days(after)
    n = settings.export_every_days
    offset = _offset(settings, database)
    step = 1 if n == 1 or offset is None else (-(start + offset)) % n or n
    return date.fromordinal(EPOCH.toordinal() + start + step)


def plan(settings: Settings) -> CapacityPlan:
    """Both limits for ``settings``, with one warning per limit exceeded."""
    count = len(databases(settings))
    held = snapshots_held_per_region(settings)
    hours = exports_hours_per_night(settings)
    recommended = recommended_export_every_days(settings)
    warnings = []
    if held > settings.manual_snapshot_quota:
        warnings.append(_snapshot_warning(settings, count, held))
    if hours > EXPORT_CAPACITY_HOURS + 1e-9:
        warnings.append(_export_warning(settings, count, hours, recommended))
    if settings.export_deadline_hours < settings.export_hours_estimate:
        warnings.append(
            f"EXPORT_DEADLINE_HOURS={settings.export_deadline_hours} is shorter than "
            f"EXPORT_HOURS_ESTIMATE={_num(settings.export_hours_estimate)}: most exports would "
            "be reported stuck while still running. Fix: raise EXPORT_DEADLINE_HOURS to at "
            f"least {math.ceil(settings.export_hours_estimate * 2)}."
        )
    return CapacityPlan(
        databases=count,
        snapshots_per_region=held,
        quota=settings.manual_snapshot_quota,
        export_every_days=settings.export_every_days,
        exports_hours_per_night=hours,
        export_capacity_hours=EXPORT_CAPACITY_HOURS,
        recommended_export_every_days=recommended,
        warnings=warnings,
    )


def _snapshot_warning(settings: Settings, count: int, held: int) -> str:
    per = snapshots_per_database(settings)
    keeps = settings.keep_daily + settings.keep_weekly + settings.keep_monthly
    detail = f"RETENTION_DAYS {settings.retention_days} + 1"
    if settings.min_keep > settings.retention_days + 1:
        detail = f"MIN_KEEP {settings.min_keep}"
    if keeps:
        detail += f" + KEEP_DAILY/WEEKLY/MONTHLY {keeps}"
    fix = f"raise the quota ({QUOTA_NAME}) to at least {held} and set MANUAL_SNAPSHOT_QUOTA={held}"
    fitting = settings.manual_snapshot_quota // count - 1 - keeps
    if fitting >= 1 and settings.min_keep <= fitting + 1:
        fix += f", or lower RETENTION_DAYS to {fitting}"
        fix += " (with KEEP_* as they are)" if keeps else ""
    elif keeps:
        fix += ", or lower RETENTION_DAYS and KEEP_DAILY/KEEP_WEEKLY/KEEP_MONTHLY"
    return (
        f"{count} databases x {per} snapshots ({detail}) = {held} manual snapshots per region, "
        f"more than the quota of {settings.manual_snapshot_quota} (MANUAL_SNAPSHOT_QUOTA): "
        "new snapshots and copies will fail with SnapshotQuotaExceeded and it does not drain "
        f"by itself. Fix: {fix}."
    )


def _export_warning(settings: Settings, count: int, hours: float, recommended: int) -> str:
    n = settings.export_every_days
    due = math.ceil(count / n)
    load = f"{due} of {count} databases" if n > 1 else f"{count} databases"
    factor = " x 2 (STORE_TO_SOURCE_S3)" if settings.store_to_source_s3 else ""
    head = (
        f"{load} exported per night x {_num(settings.export_hours_estimate)} h "
        f"(EXPORT_HOURS_ESTIMATE){factor} = {_num(hours)} export hours per night, more than "
        f"{EXPORT_SLOTS} concurrent exports x {EXPORT_HOURS_PER_SLOT} h = "
        f"{EXPORT_CAPACITY_HOURS} h: exports will fall further behind every night."
    )
    if recommended <= MAX_EXPORT_EVERY_DAYS:
        return (
            f"{head} Fix: set EXPORT_EVERY_DAYS={recommended} (each database exported every "
            f"{recommended} nights, spread evenly; copies stay nightly)."
        )
    also = " or set STORE_TO_SOURCE_S3=false," if settings.store_to_source_s3 else ""
    return (
        f"{head} Fix: no EXPORT_EVERY_DAYS up to {MAX_EXPORT_EVERY_DAYS} fits;{also} split the "
        "databases over stacks in separate accounts (the 5-export limit is per account)."
    )


def _num(value: float) -> str:
    return f"{value:g}"


def main(argv: list[str] | None = None) -> int:
    """``python -m rds_backup.model.capacity [--json]``: plan for the environment's settings.

    Prints each warning on stderr, prefixed ``rds-backup capacity warning: ``, and exits 0
    (warnings never fail packaging). ``--json`` prints the plan on stdout. An invalid
    environment is one warning saying capacity was not checked (exit 0; 1 with ``--json``).
    """
    import argparse  # the CLI's imports stay out of the handlers' cold start
    import json
    import os

    from rds_backup.settings import ConfigError, parse_settings

    parser = argparse.ArgumentParser(
        prog="python -m rds_backup.model.capacity",
        description="Check the configured fleet against AWS's snapshot and export limits.",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    try:
        settings = parse_settings(os.environ)
    except ConfigError as error:
        problems = "; ".join(error.problems)
        print(f"{WARNING_PREFIX}capacity not checked: {problems}", file=sys.stderr)
        return 1 if args.json else 0
    result = plan(settings)
    for warning in result.warnings:
        print(f"{WARNING_PREFIX}{warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
