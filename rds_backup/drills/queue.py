"""The drills waiting and in flight, and starting the oldest waiting ones while slots are free.

Derived from AWS state each time (principle 1), never stored: a drill is **waiting** when its
database's drill day has come (rds_backup/model/drills.py ``drill_day``), there is no result
for that day (rds_backup/state/drill_results.py) and no drill instance or cluster of that
day exists; it is **in flight** while its drill instance or cluster exists. Starting one is
the restore (a derived identifier: a second start is ``*AlreadyExists*``, the work done), its
result record, and its first one-time check.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.drills.advance import next_check
from rds_backup.drills.record import finish
from rds_backup.errors import StepFailed, step_failed
from rds_backup.model import drills as model
from rds_backup.model import naming, tags
from rds_backup.model.drills import Drill, DrillResult, Outcome
from rds_backup.model.kinds import Kind
from rds_backup.model.tags import Owned
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state import drill_results, manifests, restores
from rds_backup.state.inventory import manual_snapshots, snapshots_of
from rds_backup.state.selection import select_databases

STEP = "drill"
QUOTA_CODES = ("InstanceQuotaExceeded", "InstanceQuotaExceededFault", "DBClusterQuotaExceededFault")
# Refusals worth Lambda's retry (AWS SDKs' transient error codes); any other refusal of a
# drill's restore is the drill's failure, told once with its fix, not retried every hour.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
)
NETWORK_CODES = frozenset(
    {
        "DBSubnetGroupNotFoundFault",
        "DBSubnetGroupDoesNotCoverEnoughAZs",
        "InvalidSubnet",
        "InvalidVPCNetworkStateFault",
    }
)
KEY_CODES = frozenset({"KMSKeyNotAccessibleFault", "InvalidKMSKeyFault", "KMSKeyNotAccessible"})


@dataclass(frozen=True)
class Due:
    database: str
    kind: Kind
    day: date


@dataclass
class DrillFill:
    free: int
    started: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # no copy to restore: told at once
    refused: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "free": self.free,
            "started": self.started,
            "waiting": len(self.waiting),
            **({"finished": self.finished} if self.finished else {}),
            **({"refused": self.refused} if self.refused else {}),
        }


def in_flight(settings: Settings, aws: Aws, step: str = STEP) -> list[Drill]:
    """Our drill instances and clusters in the target region (a cluster drill's instance is
    counted with its cluster)."""
    region = settings.target_region
    rds = aws.rds(region)
    found: list[Drill] = []
    for kind, operation, key in (
        (Kind.INSTANCE, "describe_db_instances", "DBInstances"),
        (Kind.CLUSTER, "describe_db_clusters", "DBClusters"),
    ):
        try:
            for page in rds.get_paginator(operation).paginate():  # type: ignore[call-overload]
                for record in page.get(key, []):
                    drill = model.owned_drill(settings, record, kind)
                    if drill is not None:
                        found.append(drill)
        except (ClientError, BotoCoreError) as error:
            raise step_failed(step, error, region=region) from error
    return found


def unfinished(settings: Settings, aws: Aws, flying: list[Drill], step: str) -> list[DrillResult]:
    """Drills whose result is not final and whose instance or cluster is no longer there:
    their deletion was seen by no event and no check (both lost), so only a look at the
    result tells that they ended. Each selected database's newest drill is looked at."""
    busy = {(d.database.lower(), d.day) for d in flying}
    days = drill_results.listing(settings, aws, step)
    found = []
    for item in select_databases(settings, aws).items:
        listed = days.get(item.identifier.lower())
        if not listed:
            continue
        result = drill_results.read_result(settings, aws, item.identifier, listed[-1], step)
        if result is None or result.deleted:
            continue
        if (result.database.lower(), result.day) not in busy:
            found.append(result)
    return found


def waiting(
    settings: Settings, aws: Aws, now: datetime, flying: list[Drill], step: str
) -> list[Due]:
    """The drills whose day has come with no result and no drill in flight, oldest first."""
    busy = {(d.database.lower(), d.day) for d in flying}
    days = drill_results.listing(settings, aws, step)
    found = []
    for item in select_databases(settings, aws).items:
        day = model.drill_day(settings, item.identifier, now.date())
        if (item.identifier.lower(), day) in busy:
            continue
        if day in days.get(item.identifier.lower(), ()):
            continue
        kind = Kind.CLUSTER if item.kind == Kind.CLUSTER else Kind.INSTANCE
        found.append(Due(item.identifier.lower(), kind, day))

    def order(due: Due) -> tuple[date, str]:
        return (due.day, hashlib.sha256(f"{due.day}:{due.database}".encode()).hexdigest())

    return sorted(found, key=order)


def fill_drills(settings: Settings, aws: Aws, now: datetime, step: str = STEP) -> DrillFill:
    """Start the oldest waiting drills while there are drill slots and DB instances quota."""
    if not settings.drills_enabled:
        logger.info("drills are off: no DRILL_SUBNET_GROUP or RESTORE_SUBNET_GROUP")
        return DrillFill(0)
    flying = in_flight(settings, aws, step)
    free = settings.drill_concurrency - len(flying)
    usage = restores.instance_usage(aws, settings.target_region, step)
    if usage is not None:
        free = min(free, usage[1] - usage[0])
    fill = DrillFill(max(0, free))
    queue = waiting(settings, aws, now, flying, step)
    if not queue:
        return fill
    copies, copying = _newest_copies(settings, aws, step)
    for position, due in enumerate(queue):
        if fill.free - len(fill.started) <= 0:
            fill.waiting += [f"{d.database}/{d.day}" for d in queue[position:]]
            break
        copy = copies.get(due.database)
        if copy is None and due.database in copying:
            # Tonight's copy is still in flight: the drill waits for it (the fill after its
            # RDS-EVENT-0060, or reconcile's next pass), rather than failing for a copy that
            # is minutes from available.
            fill.waiting.append(f"{due.database}/{due.day}")
            continue
        if copy is None and _backup_on_its_way(settings, aws, due, now, step):
            # No copy yet, but a snapshot of ours in the source region is still to be copied
            # (the first night, or a database new to the selection, its copy waiting for a
            # copy slot): the drill waits for it as for a copy in flight.
            fill.waiting.append(f"{due.database}/{due.day}")
            continue
        if copy is None:
            _no_copy(settings, aws, due, now, step)
            fill.finished.append(f"{due.database}/{due.day}")
            continue
        try:
            start_drill(settings, aws, due, copy, now, step)
        except StepFailed as failure:
            if not failure.code or failure.code in TRANSIENT_CODES:
                raise
            if failure.code not in QUOTA_CODES:
                _refused(settings, aws, due, copy, failure, now, step)
                fill.finished.append(f"{due.database}/{due.day}")
                continue
            fill.refused += 1
            fill.waiting += [f"{d.database}/{d.day}" for d in queue[position:]]
            logger.info("drill waits: the DB instances quota is full", database=due.database)
            break
        fill.started.append(f"{due.database}/{due.day}")
    if fill.started:
        count("DrillStarted", len(fill.started))
    return fill


def start_drill(
    settings: Settings, aws: Aws, due: Due, copy: Owned, now: datetime, step: str = STEP
) -> str:
    """Restore ``copy`` into the drill's instance (or cluster), record the drill, arrange its
    first check. Idempotent: a second start finds the instance and the result there."""
    identifier = model.drill_id(settings.snapshot_prefix, due.database, due.day)
    plan = _plan(settings, aws, due, copy, step)
    outcome = restores.start_restore(settings, aws, plan, step)
    result = drill_results.read_result(settings, aws, due.database, due.day, step)
    if result is None:
        size = plan.request.get("DBInstanceClass") or (
            plan.members[0]["DBInstanceClass"]
            if plan.members
            else plan.request.get("DBClusterInstanceClass", "")
        )
        result = DrillResult(
            drill_id=identifier,
            database=due.database,
            kind=copy.kind,
            day=due.day,
            snapshot_id=copy.identifier,
            snapshot_arn=copy.arn,
            snapshot_time=plan.snapshot_time,
            instance_class=str(size or ""),
            instances=max(1, len(plan.members)),
            started=now,
        )
        drill_results.write_result(settings, aws, result, step)
    next_check(settings, aws, result, now, "restore", None)
    logger.info("drill started", drill=identifier, snapshot=copy.identifier, outcome=outcome)
    return outcome


def _plan(settings: Settings, aws: Aws, due: Due, copy: Owned, step: str) -> restores.RestorePlan:
    """The drill's restore of ``copy``: its manifest, the drill network, the drill's tags."""
    return restores.build_plan(
        settings,
        copy,
        manifests.read_manifest(settings, aws, copy.identifier, step),
        model.drill_id(settings.snapshot_prefix, due.database, due.day),
        restores.drill_target(settings),
        model.drill_tags(settings, due.database, due.day, copy.identifier),
    )


def _newest_copies(settings: Settings, aws: Aws, step: str) -> tuple[dict[str, Owned], set[str]]:
    """Each database's newest available copy in the target region, and the databases with a
    copy still in flight there (one listing)."""
    newest: dict[str, Owned] = {}
    copying: set[str] = set()
    for raw in manual_snapshots(aws, settings.target_region, step):
        owned = tags.owned(settings, raw, settings.target_region)
        if owned is None or owned.role is not tags.Role.COPY:
            continue
        if not owned.available:
            if owned.status.lower() in ("creating", "copying", "pending"):
                copying.add(owned.database.lower())
            continue
        key = owned.database.lower()
        if key not in newest or owned.run > newest[key].run:
            newest[key] = owned
    return newest, copying


def _backup_on_its_way(settings: Settings, aws: Aws, due: Due, now: datetime, step: str) -> bool:
    """A snapshot of ours of the database in the source region, being made or available
    (its copy not made yet), of a run younger than STEP_DEADLINE_HOURS (past it, reconcile
    reports the stuck step and the drill is failed for want of a copy, not kept waiting):
    one filtered listing, only for a drill with nothing to restore."""
    region = settings.source_region
    oldest = now - timedelta(hours=settings.step_deadline_hours)
    for raw in snapshots_of(aws, region, [due.database], step, due.kind):
        owned = tags.owned(settings, raw, region)
        if owned is None or owned.role is not tags.Role.SOURCE:
            continue
        if owned.available or owned.status.lower() in ("creating", "pending"):
            with contextlib.suppress(ValueError):
                if naming.run_time(owned.run) >= oldest:
                    return True
    return False


def _no_copy(settings: Settings, aws: Aws, due: Due, now: datetime, step: str) -> None:
    """A drill with nothing to restore is a failed drill: told at once."""
    _failed_at_start(
        settings,
        aws,
        due,
        None,
        now,
        step,
        code="NoRestorableCopy",
        reason=f"no available copy of {due.database} in {settings.target_region}",
        remedy="The nightly chain has not made a copy of this database that is available in "
        "TARGET_REGION: see its backup emails and rds-backup status; the drill runs again on "
        "its next drill day, or after rds-backup start --db <database> and reconcile's next "
        "pass.",
    )


def _failed_at_start(
    settings: Settings,
    aws: Aws,
    due: Due,
    copy: Owned | None,
    now: datetime,
    step: str,
    *,
    code: str,
    reason: str,
    remedy: str,
) -> None:
    """A drill that ended before anything was restored: its final result, and its end told."""
    finish(
        settings,
        aws,
        DrillResult(
            drill_id=model.drill_id(settings.snapshot_prefix, due.database, due.day),
            database=due.database,
            kind=copy.kind if copy else due.kind,
            day=due.day,
            snapshot_id=copy.identifier if copy else "",
            snapshot_arn=copy.arn if copy else "",
            started=now,
            checked=now,
            ended=now,
            outcome=Outcome.FAILED,
            step="restore",
            code=code,
            reason=reason,
            remedy=remedy,
            deleted=True,
        ),
        step,
    )


def _refused(
    settings: Settings,
    aws: Aws,
    due: Due,
    copy: Owned,
    failure: StepFailed,
    now: datetime,
    step: str,
) -> None:
    """RDS refused the drill's restore for a cause that does not drain (a subnet group
    missing, a key RDS may not use, a group that does not exist there): a failed drill,
    told at once with the fix. Its day has a result, so nothing retries it before its next
    drill day (or a redrive after the fix)."""
    region = settings.target_region
    if failure.code in NETWORK_CODES:
        remedy = (
            f"Create the DB subnet group {settings.drill_subnet!r} in {region} (subnets of the "
            "drill network in at least two Availability Zones), or set DRILL_SUBNET_GROUP to "
            "one that exists there; rds-backup doctor checks it. The drill runs again on its "
            "next drill day."
        )
    elif failure.code in KEY_CODES:
        remedy = (
            f"Let RDS use the copy's KMS key in {region} (its key policy must allow this "
            "stack's roles kms:CreateGrant and kms:DescribeKey for RDS); rds-backup doctor "
            "checks it. The drill runs again on its next drill day."
        )
    else:
        missing = restores.missing_in_target(
            settings, aws, _plan(settings, aws, due, copy, step), step
        )
        fixes = [f"{m.what}: {m.fix}" for m in missing if m.blocking]
        remedy = (
            "; ".join(fixes)
            or failure.remedy
            or (
                "Check the copy's KMS key, the DB subnet group DRILL_SUBNET_GROUP, the security "
                f"groups DRILL_SECURITY_GROUP_IDS and the DB instances quota in {region}; "
                "rds-backup doctor checks each. The drill runs again on its next drill day."
            )
        )
    logger.error("drill restore refused", database=due.database, code=failure.code)
    _failed_at_start(
        settings,
        aws,
        due,
        copy,
        now,
        step,
        code=failure.code or "RestoreRefused",
        reason=f"RDS refused the restore of {copy.identifier} in {region}: {failure.cause}",
        remedy=remedy,
    )
