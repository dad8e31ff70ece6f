"""Restore drills, the pure part (docs/ARCHITECTURE.md, principle 9; docs/RECOVERY.md).

A drill restores a database's newest available copy in the target region into a drill
instance, checks the data, measures the restore, and deletes the instance. This module
decides, without AWS calls:

- **when** each database is drilled: a rotation of DRILL_EVERY_DAYS days (the same rotation
  as EXPORT_EVERY_DAYS, rds_backup/model/capacity.py), so each selected database has its own
  drill day in every period and the fleet's drills are spread over the period;
- the drill's **derived names**: ``<prefix>-drill-<db>-<YYYYMMDD>`` (the drill day), at most
  63 characters (RDS DB instance and DB cluster identifiers: "1 to 63 letters, numbers, or
  hyphens", first a letter, no two consecutive hyphens, not ending with one; RDS API
  Reference, CreateDBInstance), shortened with a stable hash when longer; a cluster drill's
  instance is ``<drill id>-1``;
- how a check's **value passes**: the SQL checks (DRILL_CHECKS, settings.SqlCheck), and the
  structural checks of the restored database against the restore manifest;
- the **result** of a drill: RTO (restore start to available), the time to the first
  answered query, RPO (how old the restored data is: restore start less the snapshot's time),
  each check with its value, instance-hours used, and where a failed drill failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rds_backup.model import capacity, tags
from rds_backup.model.kinds import Kind
from rds_backup.model.manifest import RestoreManifest
from rds_backup.settings import Settings, SqlCheck

DRILL_ID_MAX = 63
ROLE = "drill"  # the rds-backup:role tag of a drill instance or cluster


def drill_day(settings: Settings, database: str, today: date) -> date:
    """The database's drill day of the period ``today`` is in: the latest day on or before
    ``today`` on which it is due. Every database is due exactly once every DRILL_EVERY_DAYS
    days; one neither named nor tag-selected is due every day."""
    every = settings.drill_every_days
    offset = capacity.rotation_offset(settings, database, every)
    if every == 1 or offset is None:
        return today
    back = (capacity.day_number(today) + offset) % every
    return today - timedelta(days=back)


def next_drill_day(settings: Settings, database: str, today: date) -> date:
    """The first drill day strictly after ``today``."""
    return drill_day(settings, database, today) + timedelta(days=settings.drill_every_days)


def drill_id(prefix: str, database: str, day: date) -> str:
    """``<prefix>-drill-<db>-<YYYYMMDD>``, at most 62 characters (so a cluster drill's
    ``-1`` instance still fits 63); a longer one keeps a stable hash of the whole."""
    full = f"{prefix}-drill-{database.lower()}-{day:%Y%m%d}"
    limit = DRILL_ID_MAX - 2
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    tail = f"-{digest}-{day:%Y%m%d}"
    head = f"{prefix}-drill-{database.lower()}"[: limit - len(tail)].rstrip("-")
    return head + tail


def member_id(drill: str, number: int = 1) -> str:
    """The identifier of a cluster drill's instance ``number``."""
    return f"{drill}-{number}"


def is_drill_id(prefix: str, identifier: str) -> bool:
    return identifier.lower().startswith(f"{prefix}-drill-")


# Tags on a drill instance or cluster (with rds-backup:stack, :role = drill, :database):
DRILL_DAY = f"{tags.NAMESPACE}drill-day"  # YYYYMMDD
SNAPSHOT = f"{tags.NAMESPACE}snapshot"  # the copy it was restored from


def drill_tags(settings: Settings, database: str, day: date, snapshot: str) -> dict[str, str]:
    return {
        tags.STACK: settings.stack_name,
        tags.ROLE: ROLE,
        tags.DATABASE: database.lower(),
        DRILL_DAY: f"{day:%Y%m%d}",
        SNAPSHOT: snapshot,
    }


@dataclass(frozen=True)
class Drill:
    """A drill instance or cluster proven to be ours (ownership exact, principle 8): tagged
    with our stack, the drill role, a database and a drill day, and named exactly as
    :func:`drill_id` derives from them."""

    identifier: str
    kind: Kind
    database: str
    day: date
    snapshot: str
    status: str
    record: Mapping[str, Any]

    @property
    def members(self) -> list[str]:
        return [
            str(m.get("DBInstanceIdentifier", ""))
            for m in self.record.get("DBClusterMembers") or []
        ]


def owned_drill(settings: Settings, record: Mapping[str, Any], kind: Kind) -> Drill | None:
    """The DescribeDBInstances / DescribeDBClusters record as one of our drills, or None."""
    found = tags.as_dict(record.get("TagList"))
    if found.get(tags.STACK) != settings.stack_name or found.get(tags.ROLE) != ROLE:
        return None
    database, day_text = found.get(tags.DATABASE), found.get(DRILL_DAY, "")
    try:
        day = datetime.strptime(day_text, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None
    if not database:
        return None
    field = "DBClusterIdentifier" if kind is Kind.CLUSTER else "DBInstanceIdentifier"
    identifier = str(record.get(field, ""))
    if identifier.lower() != drill_id(settings.snapshot_prefix, database, day):
        return None
    status = str(record.get("Status" if kind is Kind.CLUSTER else "DBInstanceStatus", ""))
    return Drill(identifier, kind, database, day, found.get(SNAPSHOT, ""), status.lower(), record)


class Outcome(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


class CheckResult(BaseModel):
    """One check of a drill: its name, whether it passed, the value seen, what was asked."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    value: Any = None
    expected: str = ""
    kind: str = "sql"  # "sql" (DRILL_CHECKS) or "structure" (against the manifest)


def judge(check: SqlCheck, value: Any, snapshot_time: datetime | None) -> CheckResult:
    """Does ``value`` (the first column of the first row, as the probe read it) pass?"""
    expected = _expected(check)
    if value is None:
        return CheckResult(name=check.name, passed=False, value=None, expected=expected)
    passed = True
    if check.min is not None or check.max is not None:
        number = _number(value)
        passed = number is not None
        if number is not None and check.min is not None:
            passed = passed and number >= check.min
        if number is not None and check.max is not None:
            passed = passed and number <= check.max
    if check.equals is not None:
        passed = passed and _same(value, check.equals)
    if check.max_age_seconds is not None:
        moment = _moment(value)
        passed = (
            passed
            and moment is not None
            and snapshot_time is not None
            and (snapshot_time - moment).total_seconds() <= check.max_age_seconds
        )
    return CheckResult(name=check.name, passed=passed, value=_plain(value), expected=expected)


def structural_checks(
    manifest: RestoreManifest | None, restored: Mapping[str, Any]
) -> list[CheckResult]:
    """The restored database (its DescribeDBInstances or DescribeDBClusters record) against
    the source's manifest: the same engine and major version, at least the storage, still
    encrypted. Without a manifest there is nothing to compare: one failed check says so."""
    if manifest is None:
        return [
            CheckResult(
                name="restore manifest",
                passed=False,
                value="missing",
                expected="written at snapshot time",
                kind="structure",
            )
        ]
    engine = str(restored.get("Engine", ""))
    version = str(restored.get("EngineVersion", ""))
    storage = restored.get("AllocatedStorage")
    results = [
        CheckResult(
            name="engine",
            passed=engine == manifest.engine,
            value=engine,
            expected=manifest.engine,
            kind="structure",
        ),
        CheckResult(
            name="engine major version",
            passed=_major(version) == _major(manifest.engine_version),
            value=version,
            expected=manifest.engine_version,
            kind="structure",
        ),
        CheckResult(
            name="encrypted",
            passed=bool(restored.get("StorageEncrypted")) == manifest.storage_encrypted,
            value=bool(restored.get("StorageEncrypted")),
            expected=str(manifest.storage_encrypted).lower(),
            kind="structure",
        ),
    ]
    if manifest.kind is Kind.INSTANCE and manifest.allocated_storage is not None:
        results.append(
            CheckResult(
                name="allocated storage GiB",
                passed=isinstance(storage, int) and storage >= manifest.allocated_storage,
                value=storage,
                expected=f">= {manifest.allocated_storage}",
                kind="structure",
            )
        )
    return results


class DrillResult(BaseModel):
    """What one drill did, kept beside the copies in the target region
    (rds_backup/state/drill_results.py) and told once (the "Drill Finished" event)."""

    model_config = ConfigDict(frozen=True)

    drill_id: str
    database: str
    kind: Kind = Kind.INSTANCE
    day: date
    snapshot_id: str
    snapshot_arn: str = ""
    snapshot_time: datetime | None = None
    instance_class: str = ""
    instances: int = 1  # DB instances the drill runs (an Aurora drill: one per recorded)
    started: datetime
    restored: datetime | None = None  # first seen available (or its RDS event's time)
    first_answer: datetime | None = None  # the first query answered
    checked: datetime | None = None
    ended: datetime | None = None  # the drill instance seen gone
    outcome: Outcome = Outcome.RUNNING
    step: str = ""  # where a failed drill failed: restore, credentials, probe, checks, …
    reason: str = ""
    remedy: str = ""
    code: str = ""
    checks: tuple[CheckResult, ...] = Field(default_factory=tuple)
    deleted: bool = False

    @property
    def restore_seconds(self) -> float | None:
        return _seconds(self.started, self.restored)

    @property
    def first_query_seconds(self) -> float | None:
        return _seconds(self.started, self.first_answer)

    @property
    def rpo_seconds(self) -> float | None:
        return _seconds(self.snapshot_time, self.started)

    @property
    def instance_hours(self) -> float:
        """Hours the drill's instances existed, all of them (an Aurora drill runs one per
        instance its manifest recorded)."""
        end = self.ended or self.checked or self.restored or self.started
        hours = max(0.0, (end - self.started).total_seconds()) / 3600
        return round(hours * max(1, self.instances), 3)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    def summary(self) -> dict[str, Any]:
        """The drill as reports and ``--json`` show it."""
        return {
            "drill_id": self.drill_id,
            "database": self.database,
            "kind": self.kind.value,
            "day": self.day.isoformat(),
            "snapshot_id": self.snapshot_id,
            "outcome": self.outcome.value,
            "step": self.step,
            "reason": self.reason,
            "remedy": self.remedy,
            "restore_seconds": self.restore_seconds,
            "first_query_seconds": self.first_query_seconds,
            "rpo_seconds": self.rpo_seconds,
            "instance_hours": self.instance_hours,
            "checks": [
                c.model_dump(include={"name", "passed", "value", "expected", "kind"})
                for c in self.checks
            ],
            "deleted": self.deleted,
        }


def outcome_of(checks: Sequence[CheckResult]) -> Outcome:
    return Outcome.PASSED if checks and all(c.passed for c in checks) else Outcome.FAILED


def failed_checks(checks: Sequence[CheckResult]) -> list[CheckResult]:
    return [c for c in checks if not c.passed]


def _expected(check: SqlCheck) -> str:
    parts = []
    if check.min is not None:
        parts.append(f">= {_plain(check.min)}")
    if check.max is not None:
        parts.append(f"<= {_plain(check.max)}")
    if check.equals is not None:
        parts.append(f"= {check.equals}")
    if check.max_age_seconds is not None:
        parts.append(f"at most {_plain(check.max_age_seconds)} s older than the snapshot")
    return ", ".join(parts)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _same(value: Any, wanted: str | float) -> bool:
    number, other = _number(value), _number(wanted)
    if number is not None and other is not None:
        return number == other
    return str(value) == str(wanted)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plain(value: Any) -> Any:
    """A value as JSON shows it: whole floats as ints, times as ISO 8601."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _major(version: str) -> str:
    """The major version (PostgreSQL 16.3 → 16; MySQL 8.0.35 → 8.0)."""
    parts = version.split(".")
    return ".".join(parts[:2]) if parts and parts[0] in {"5", "8"} else parts[0]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 1)
