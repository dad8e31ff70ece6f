"""One drill's next step, decided from its state on AWS (its result record and its instance
or cluster), never from the event that asked: a duplicated, replayed, late or out-of-order
event finds the drill where it is and does what is left, once.

    restoring ─► available ─► credentials (RDS generates them, in its own secret) ─►
    probed (SQL checks in the drill network, structure against the manifest) ─►
    deleting ─► gone: the result is final, "Drill Finished" is put, the next drill starts

A drill whose restore fails, whose probe cannot connect or whose checks fail is deleted the
same way and told as failed, with the step and the fix. A drill still running after
DRILL_MAX_HOURS is deleted by reconcile (:func:`reap`, the cost cap) and told as failed.

Each phase has its own chain of one-time checks (rds_backup/state/schedules.py), the clock
that moves the drill when RDS events are lost: a phase's first check is arranged when the
drill enters it, each check arranges the next one of its phase while the drill is still in
it. RDS events only hurry the drill along.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from events.drill import DRILL_CHECK_DUE
from rds_backup.aws import Aws
from rds_backup.drills.probe import run_probe
from rds_backup.drills.record import finish
from rds_backup.errors import StepFailed
from rds_backup.model import drills as model
from rds_backup.model.drills import Drill, DrillResult, Outcome
from rds_backup.model.kinds import Kind
from rds_backup.observability import logger
from rds_backup.settings import Settings
from rds_backup.state import drill_results, manifests, restores, schedules

STEP = "drill"
# RDS statuses from which a restore does not recover (RDS User Guide, "Viewing Amazon RDS DB
# instance status": failed, incompatible-restore, incompatible-parameters, ...).
FAILED_STATES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "incompatible-option-group",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "storage-full",
        "restore-error",
    }
)
PHASES: dict[str, tuple[timedelta, ...]] = {
    "restore": tuple(timedelta(minutes=m) for m in (10, 10, 15, 20, 30)),
    "credentials": tuple(timedelta(minutes=m) for m in (2, 2, 5, 10)),
    "delete": tuple(timedelta(minutes=m) for m in (5, 5, 10, 20)),
}
REMEDIES = {
    "restore": "Check the copy's KMS key in TARGET_REGION (RDS must be allowed to use it), the "
    "DB subnet group DRILL_SUBNET_GROUP and the DB instances quota there; rds-backup doctor "
    "checks each. The drill runs again on its next drill day.",
    "probe": "The probe function (in the drill network) could not run the checks: let the "
    "drill's security groups (DRILL_SECURITY_GROUP_IDS) accept the probe's security group on "
    "the database port, and give the drill network a Secrets Manager VPC endpoint "
    "(docs/RECOVERY.md, 'The drill network').",
    "checks": "The restored data did not pass the checks shown: look at the source database "
    "and at what the nightly backup captures; correct DRILL_CHECKS if a check is wrong.",
    "reaped": "The drill ran past DRILL_MAX_HOURS and was deleted (a cost cap): a large "
    "database may need a longer DRILL_MAX_HOURS; otherwise look at the restore's events in "
    "the RDS console of TARGET_REGION.",
}


def advance(
    settings: Settings,
    aws: Aws,
    database: str,
    day: date,
    now: datetime,
    *,
    restored_at: datetime | None = None,
    check: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Move the drill of ``database`` on ``day`` one step. ``restored_at``: the time of an
    RDS "restored"/"created" event; ``check``: (phase, attempt) of the scheduled check that
    asked, whose successor is arranged while the drill stays in that phase."""
    identifier = model.drill_id(settings.snapshot_prefix, database, day)
    logger.append_keys(drill=identifier, database=database)
    result = drill_results.read_result(settings, aws, database, day, STEP)
    drill = _find(settings, aws, identifier, result.kind if result else None)
    if result is None and drill is None:
        logger.info("ignored: no such drill of this stack")
        return {"skipped": "no such drill"}
    if result is None:
        assert drill is not None
        result = _recovered(settings, drill)
        drill_results.write_result(settings, aws, result, STEP)
    if result.deleted:
        return {"skipped": "finished", "outcome": result.outcome.value}
    if drill is None:
        return _gone(settings, aws, result, now)
    if drill.status in FAILED_STATES:
        failed = _with(
            result,
            outcome=Outcome.FAILED,
            step="restore",
            code="RestoreFailed",
            reason=f"the restore ended in status {drill.status}",
            remedy=REMEDIES["restore"],
            checked=now,
        )
        return _delete(settings, aws, failed, drill, now, check)
    if result.outcome is not Outcome.RUNNING:
        return _delete(settings, aws, result, drill, now, check)
    members = _member_records(aws, settings, drill)
    ready = drill.status == "available" and all(
        str(m.get("DBInstanceStatus", "")).lower() == "available" for m in members
    )
    if not ready:
        if now - result.started > timedelta(hours=settings.drill_max_hours):
            return reap_one(settings, aws, result, drill, now)
        next_check(settings, aws, result, now, "restore", check)
        return {"waiting": drill.status}
    if result.restored is None:
        result = _with(result, restored=restored_at or now)
        drill_results.write_result(settings, aws, result, STEP)
    secret = drill.record.get("MasterUserSecret") or {}
    if not secret.get("SecretArn"):
        restores.manage_password(aws, settings.target_region, drill.kind, drill.identifier, STEP)
        next_check(settings, aws, result, now, "credentials", check)
        return {"credentials": "requested"}
    pending = drill.record.get("PendingModifiedValues") or {}
    if str(secret.get("SecretStatus", "")).lower() != "active" or pending:
        next_check(settings, aws, result, now, "credentials", check)
        return {"credentials": str(secret.get("SecretStatus", "pending"))}
    return _probe(settings, aws, result, drill, now, check)


def _probe(
    settings: Settings,
    aws: Aws,
    result: DrillResult,
    drill: Drill,
    now: datetime,
    check: tuple[str, int] | None,
) -> dict[str, Any]:
    manifest = manifests.read_manifest(settings, aws, result.snapshot_id, STEP)
    structure = model.structural_checks(manifest, drill.record)
    wanted = [c for c in settings.drill_checks if c.applies_to(result.database)]
    try:
        answer = run_probe(settings, aws, drill, manifest, wanted)
    except StepFailed as failure:
        failed = _with(
            result,
            outcome=Outcome.FAILED,
            step="probe",
            code=failure.code or "DrillProbeFailed",
            reason=failure.cause,
            remedy=REMEDIES["probe"],
            checks=tuple(structure),
            checked=now,
        )
        return _delete(settings, aws, failed, drill, now, check)
    if answer.error:
        failed = _with(
            result,
            outcome=Outcome.FAILED,
            step="probe",
            code="DrillProbeFailed",
            reason=answer.error,
            remedy=REMEDIES["probe"],
            checks=tuple(structure),
            checked=now,
        )
        return _delete(settings, aws, failed, drill, now, check)
    judged = [model.judge(sql, answer.values.get(sql.name), result.snapshot_time) for sql in wanted]
    for sql in wanted:
        if sql.name in answer.errors:
            judged = [
                c if c.name != sql.name else c.model_copy(update={"value": answer.errors[sql.name]})
                for c in judged
            ]
    checks = [*structure, *judged]
    outcome = model.outcome_of(checks)
    failed_checks = model.failed_checks(checks)
    checked = _with(
        result,
        checks=tuple(checks),
        first_answer=now + timedelta(seconds=answer.first_answer_seconds)
        if answer.first_answer_seconds is not None
        else None,
        checked=now,
        outcome=outcome,
        step="" if outcome is Outcome.PASSED else "checks",
        code="" if outcome is Outcome.PASSED else "DrillCheckFailed",
        reason=""
        if outcome is Outcome.PASSED
        else "; ".join(f"{c.name}: {c.value!r}, expected {c.expected}" for c in failed_checks),
        remedy="" if outcome is Outcome.PASSED else REMEDIES["checks"],
    )
    return _delete(settings, aws, checked, drill, now, check)


def _delete(
    settings: Settings,
    aws: Aws,
    result: DrillResult,
    drill: Drill,
    now: datetime,
    check: tuple[str, int] | None,
) -> dict[str, Any]:
    """Keep the result, delete the drill's instance (and cluster), check that it goes."""
    drill_results.write_result(settings, aws, result, STEP)
    if drill.status != "deleting":
        restores.delete_database(
            aws, settings.target_region, drill.kind, drill.identifier, drill.members, STEP
        )
    next_check(settings, aws, result, now, "delete", check)
    return {"checked": result.outcome.value, "deleting": drill.identifier}


def _gone(settings: Settings, aws: Aws, result: DrillResult, now: datetime) -> dict[str, Any]:
    """The drill instance is gone: the drill is over."""
    if result.outcome is Outcome.RUNNING:
        result = _with(
            result,
            outcome=Outcome.FAILED,
            step="restore",
            code="DrillVanished",
            reason="the drill instance disappeared before it was checked (deleted by hand, or "
            "its restore never started)",
            remedy=REMEDIES["restore"],
            checked=now,
        )
    final = _with(result, deleted=True, ended=now)
    finish(settings, aws, final, STEP)
    return {"finished": final.outcome.value}


def reap(settings: Settings, aws: Aws, now: datetime, drills: list[Drill]) -> list[str]:
    """Delete every drill running past DRILL_MAX_HOURS (reconcile's cost cap); their end is
    told as failed when they are seen gone."""
    reaped = []
    limit = timedelta(hours=settings.drill_max_hours)
    for drill in drills:
        result = drill_results.read_result(settings, aws, drill.database, drill.day, STEP)
        if result is None:
            result = _recovered(settings, drill)
        if now - result.started <= limit or result.outcome is not Outcome.RUNNING:
            continue
        reap_one(settings, aws, result, drill, now)
        reaped.append(drill.identifier)
    return reaped


def reap_one(
    settings: Settings, aws: Aws, result: DrillResult, drill: Drill, now: datetime
) -> dict[str, Any]:
    hours = round((now - result.started).total_seconds() / 3600, 1)
    reaped = _with(
        result,
        outcome=Outcome.FAILED,
        step="reaped",
        code="DrillOverdue",
        reason=f"still {drill.status} after {hours} h "
        f"(DRILL_MAX_HOURS={settings.drill_max_hours}): deleted to cap its cost",
        remedy=REMEDIES["reaped"],
        checked=now,
    )
    logger.warning("drill reaped", drill=drill.identifier, hours=hours, status=drill.status)
    return _delete(settings, aws, reaped, drill, now, None)


def next_check(
    settings: Settings,
    aws: Aws,
    result: DrillResult,
    now: datetime,
    phase: str,
    check: tuple[str, int] | None,
) -> None:
    """The phase's next check: its first on entering it, the asking check's successor while
    the drill stays in the phase (a duplicate of either is the same schedule name)."""
    attempt = check[1] + 1 if check is not None and check[0] == phase else 1
    backoff = PHASES[phase]
    schedules.arrange(
        settings,
        aws,
        STEP,
        name=schedules.schedule_name(f"{result.drill_id}-{phase[0]}", attempt, tag="d"),
        due=now + backoff[min(attempt, len(backoff)) - 1],
        detail_type=DRILL_CHECK_DUE,
        detail={
            "DrillId": result.drill_id,
            "Database": result.database,
            "Day": result.day.isoformat(),
            "Phase": phase,
            "Attempt": attempt,
        },
        description=f"rds-backup: restore drill {result.drill_id}, {phase} check {attempt}",
    )


def _find(settings: Settings, aws: Aws, identifier: str, kind: Kind | None) -> Drill | None:
    for candidate in (kind,) if kind is not None else (Kind.INSTANCE, Kind.CLUSTER):
        record = restores.describe_database(
            aws, settings.target_region, candidate, identifier, STEP
        )
        if record is not None:
            return model.owned_drill(settings, record, candidate)
    return None


def _member_records(aws: Aws, settings: Settings, drill: Drill) -> list[dict[str, Any]]:
    records = []
    for member in drill.members:
        record = restores.describe_database(
            aws, settings.target_region, Kind.INSTANCE, member, STEP
        )
        if record is not None:
            records.append(record)
    return records


def _recovered(settings: Settings, drill: Drill) -> DrillResult:
    """A drill found without its record (its write failed after the restore started):
    rebuilt from the instance's tags and creation time."""
    created = drill.record.get("InstanceCreateTime") or drill.record.get("ClusterCreateTime")
    return DrillResult(
        drill_id=drill.identifier,
        database=drill.database,
        kind=drill.kind,
        day=drill.day,
        snapshot_id=drill.snapshot,
        started=created
        if isinstance(created, datetime)
        else datetime.combine(drill.day, datetime.min.time(), tzinfo=UTC),
    )


def _with(result: DrillResult, **changes: Any) -> DrillResult:
    """The result with ``changes`` (it is frozen: each step makes the next version)."""
    return result.model_copy(update=changes)
