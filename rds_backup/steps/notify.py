"""notify: tell a person what happened, exactly once per outcome (rds_backup/mail/delivery.py).

- an RDS export or copy outcome (0159/0160/0161, 0060/0061, and our "Cluster Copy Finished"):
  the run is settled from its state on AWS (rds_backup/outcomes/settle.py: release the
  source when nothing needs it, then the email its outcome calls for);
- a handler's failure after Lambda's retries ("Lambda Function Invocation Result -
  Failure"): its facts arrive as data (events/lambda_failure.py ``FailureRecord``) and are
  told once per run, step and code; a refusal for a limit that drains (an export or copy
  slot) is deferred: the step waits (rds_backup/limits/);
- "Snapshot Quota Reached": the manual snapshot quota stopped part of a run, once per run
  and region;
- "Drill Finished": a restore drill ended (rds_backup/drills/): its own email, once per
  drill, and the "last successful drill" heartbeat when it passed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from events.backup_requested import BackupRequestedEvent
from events.copy_finished import CopyCheckDueEvent, CopyFinishedEvent
from events.drill import DrillFinishedEvent
from events.lambda_failure import LambdaFailureDetail, LambdaFailureEvent
from events.parse import parse_event
from events.quota import SnapshotQuotaEvent
from events.rds import RdsEventKind, RdsSnapshotEvent
from events.schedule import ScheduledEvent
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.errors import QUOTA_CODES, BackupError
from rds_backup.mail import digest
from rds_backup.mail.delivery import deliver, require_idempotency_table, send_once
from rds_backup.model import console
from rds_backup.model.drills import DrillResult, next_drill_day
from rds_backup.model.kinds import CLUSTER, Kind, api
from rds_backup.model.naming import parse_snapshot_id, run_id
from rds_backup.model.report import DrillReport
from rds_backup.model.scope import out_of_scope
from rds_backup.observability import count, drill_succeeded, logger
from rds_backup.outcomes import keys
from rds_backup.outcomes.reports import failure_report, remedy_told, restorable_of, run_failure
from rds_backup.outcomes.settle import settle_run
from rds_backup.settings import Settings
from rds_backup.state.runs import load_run

STEP = "notify"
# Steps reconcile can re-drive by itself (it finds their runs from AWS state).
RECONCILED_STEPS = frozenset({"copy_snapshot", "export_snapshot"})
# RDS's throttling answer ("Request throttling for the Amazon RDS API": ThrottlingException,
# "Rate exceeded") and the older code some SDK models still list.
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling"})
NOTIFY_EVENTS = {
    RdsEventKind.EXPORT_COMPLETED,
    RdsEventKind.EXPORT_FAILED,
    RdsEventKind.EXPORT_CANCELED,
    RdsEventKind.COPY_CANCELED,
    # The copy is available: the source can be released now, and a run with no export
    # tonight (EXPORT_EVERY_DAYS) is done.
    RdsEventKind.COPY_FINISHED,
}
CLUSTER_COPY_REMEDY = (
    "Check the KMS key in the target region (its policy must let RDS and this stack use it) "
    "and the cluster snapshot in both regions' RDS consoles. Then delete the failed copy, if "
    "any, and replay the run's RDS-EVENT-0075 (or start a new run with rds-backup start "
    "--db <cluster>): the copy is started again and checked until it is available."
)
NO_MESSAGE = "the function failed without an error message"
# The steps reconcile re-drives (their StepFailed step names).
REDRIVEN_STEPS = frozenset({"copy", "export"})


def on_rds_event(
    settings: Settings, aws: Aws, event: RdsSnapshotEvent | CopyFinishedEvent, context: Any = None
) -> dict[str, Any]:
    arn = event.snapshot
    logger.append_keys(snapshot=arn.identifier, region=arn.region, event_kind=event.kind.value)
    if event.kind not in NOTIFY_EVENTS:
        logger.info("ignored: not an export or copy outcome")
        return {"skipped": event.kind.value}
    if skipped := out_of_scope(settings, arn, [settings.source_region, settings.target_region]):
        return {"skipped": skipped}
    run = load_run(settings, aws, arn, STEP)
    if run is None:
        logger.info("ignored: snapshot gone or not made by this stack")
        return {"skipped": "not ours or gone"}
    copy_canceled = event.kind is RdsEventKind.COPY_CANCELED
    return settle_run(settings, aws, run, context, copy_canceled=copy_canceled)


def on_cluster_copy_ended(
    settings: Settings, aws: Aws, event: CopyFinishedEvent, context: Any = None
) -> dict[str, Any]:
    """A cluster copy ended (rds_backup/steps/check_copy.py): available is RDS-EVENT-0060's
    meaning (release the source; a run without an export tonight is done); failed or
    vanished is one failure email for the run."""
    if event.detail.outcome == "available":
        return on_rds_event(settings, aws, event, context)
    arn = event.snapshot
    logger.append_keys(snapshot=arn.identifier, region=arn.region, outcome=event.detail.outcome)
    if skipped := out_of_scope(settings, arn, [settings.target_region]):
        return {"skipped": skipped}
    run = load_run(settings, aws, arn, STEP)
    if run is None:
        logger.info("ignored: snapshot gone or not made by this stack")
        return {"skipped": "not ours or gone"}
    if run.copy is not None and run.copy.available:
        logger.info("ignored: the copy is available now (a later check saw it)")
        return {"skipped": "copy available"}
    require_idempotency_table(settings)
    logger.append_keys(database=run.database, run=run.run)
    vanished = event.detail.outcome == "vanished"
    cause = (
        "the cross-region cluster snapshot copy disappeared before it became available "
        "(deleted while copying, which cancels it, or removed after it failed)"
        if vanished
        else f"the cross-region cluster snapshot copy ended {event.detail.status or 'failed'}"
    )
    report = run_failure(
        settings,
        aws,
        run,
        "copy",
        cause,
        settings.target_region,
        "ClusterCopyVanished" if vanished else "ClusterCopyFailed",
        CLUSTER_COPY_REMEDY,
    )
    key = keys.cluster_copy_ended(run.snapshot_id, event.detail.outcome)
    return {"email": deliver(settings, aws, key, report, context)}


@dataclass(frozen=True)
class HandlerFailure:
    """What a failed invocation tells: from its failure record when one of our steps failed
    (data, never parsed from text), else its error type and message; and what its request
    payload names (the event's snapshot, or the run a start belonged to)."""

    message: str
    code: str | None
    remedy: str  # the step's own; empty: the catalogue words one (outcomes/reports.py)
    databases: tuple[str, ...]
    snapshot: str | None
    run: str | None
    regions: tuple[str, ...]
    redriven: tuple[tuple[str, str], ...] = ()  # reconcile's re-driven (step, snapshot)
    operation: str | None = None  # the AWS call that failed

    @property
    def database(self) -> str | None:
        return ",".join(self.databases) or None


def on_handler_failure(
    settings: Settings, aws: Aws, event: LambdaFailureEvent, context: Any = None
) -> dict[str, Any]:
    """A handler failed after Lambda's retries: email the cause, once per run, step and
    outcome (``keys.failure``)."""
    failure = what_failed(settings, event.detail)
    # Functions are named <stack>-<handler>; handler names have no hyphens.
    step = event.detail.function_name.rsplit("-", 1)[-1]
    code = failure.code
    if (code in QUOTA_CODES or code in THROTTLING_CODES) and step in RECONCILED_STEPS:
        # A fill refused for a limit, or throttled past botocore's and Lambda's retries (the
        # account's RDS API budget, shared with other tools): what it would have started is
        # still waiting on AWS, and the next event or reconcile re-drives it.
        logger.warning(
            "limit refusal deferred: the step waits for a slot (rds_backup/limits/); the "
            "event that frees one, or reconcile within the hour, starts it",
            failed_function=step,
            code=code,
            snapshot=failure.snapshot,
        )
        count("FailureDeferred")
        return {"deferred": code}
    report = failure_report(
        settings,
        step=step,
        cause=failure.message,
        code=code,
        remedy=failure.remedy,
        operation=failure.operation,
        error_time=event.time,
        database=failure.database,
        snapshot_id=failure.snapshot,
        run=failure.run,
        region=",".join(failure.regions) or None,
        restorable=restorable_of(settings, aws, failure.databases),
    )
    logger.append_keys(failed_function=step, snapshot=failure.snapshot, run=failure.run)
    # The whole text stays in the logs; the email shows a bounded part (mail CAUSE_MAX).
    logger.error("handler failed after its retries", code=code, cause=failure.message)
    run, database = failure.run, failure.database
    periodic = step in keys.PERIODIC_STEPS
    if digest.enabled(settings) and run and not periodic and len(failure.databases) > 1:
        # One start failed for several databases: each is a line of the run's digest.
        emails = [
            deliver(
                settings,
                aws,
                keys.failure(step, db, run, code),
                replace(
                    report,
                    database=db,
                    restorable=tuple(r for r in report.restorable if r.database == db.lower()),
                ),
                context,
            )
            for db in failure.databases
        ]
        return {"email": emails[-1]}
    key = keys.failure(step, database, run, code)
    if step == "reconcile" and len(failure.redriven) == 1:
        # reconcile re-drove one run's copy or export and AWS refused it as it refused the
        # step itself: the same fault of the same run, told once whichever handler met it.
        inner, identifier = failure.redriven[0]
        parsed = parse_snapshot_id(settings.snapshot_prefix, identifier)
        key = keys.failure(f"{inner}_snapshot", database, parsed[1] if parsed else run, code)
    if periodic:
        return {"email": send_once(settings, aws, key, report, context)}
    return {"email": deliver(settings, aws, key, report, context)}


def what_failed(settings: Settings, detail: LambdaFailureDetail) -> HandlerFailure:
    """The facts of a failed invocation (:class:`HandlerFailure`)."""
    snapshot, run, database = _of_payload(settings, detail.request_payload)
    error = detail.response_payload
    record = error.record if error else None
    if record is None:
        code = (error.error_type if error else None) or None
        return HandlerFailure(
            message=(error.error_message if error else "") or NO_MESSAGE,
            code=code,
            remedy="",
            databases=(database,) if database else (),
            snapshot=snapshot,
            run=run,
            regions=(),
        )
    facts = record.facts
    # A failure of several databases (one start or one reconcile pass for many) names them
    # all: the email is about each of them, not about the first one.
    named = _distinct(part for f in facts for part in (f.database or "").split(","))
    snapshots = _distinct(f.snapshot for f in facts)
    return HandlerFailure(
        message=record.message or record.cause or NO_MESSAGE,
        code=record.code,
        remedy=remedy_told(settings, record) if record.parts else record.remedy,
        databases=(database,) if database else named,
        snapshot=snapshot or (snapshots[0] if len(snapshots) == 1 else None),
        run=run,
        regions=_distinct(f.region for f in [record, *record.parts]),
        redriven=tuple(
            dict.fromkeys(
                (f.step, f.snapshot)
                for f in record.parts
                if f.step in REDRIVEN_STEPS and f.database and f.snapshot
            )
        ),
        operation=record.operation or next((f.operation for f in facts if f.operation), None),
    )


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _of_payload(settings: Settings, payload: Any) -> tuple[str | None, str | None, str | None]:
    """(snapshot, run, database) of the event a failed handler was given, where knowable."""
    try:
        rds: RdsSnapshotEvent | CopyCheckDueEvent | CopyFinishedEvent = parse_event(
            payload, RdsSnapshotEvent | CopyCheckDueEvent | CopyFinishedEvent
        )
    except BackupError:
        pass
    else:
        identifier = rds.snapshot.identifier
        derived = parse_snapshot_id(settings.snapshot_prefix, identifier)
        return (identifier, derived[1], derived[0]) if derived else (identifier, None, None)
    try:
        start: ScheduledEvent | BackupRequestedEvent = parse_event(
            payload, ScheduledEvent | BackupRequestedEvent
        )
    except BackupError:
        return None, None, None
    return None, run_id(start.time), None


def on_quota_reached(
    settings: Settings, aws: Aws, event: SnapshotQuotaEvent, context: Any = None
) -> dict[str, Any]:
    """The manual snapshot quota stopped (part of) a run: one email per run and region."""
    detail = event.detail
    names = ", ".join(detail.databases) or "none named"
    spec = api(Kind.CLUSTER if detail.quota == CLUSTER.quota else Kind.INSTANCE)
    what = "manual cluster snapshots" if spec is CLUSTER else "manual snapshots"
    cause = (
        f"The {what} quota of {detail.region} is reached: {detail.used} of "
        f"{detail.max} {what} are in use and run {detail.run} needs {detail.needed} "
        f"more. Not backed up tonight: {names}."
    )
    remedy = (
        f"Raise the quota in {detail.region} (Service Quotas → Amazon RDS → "
        f"'{spec.quota_label}'; DescribeAccountAttributes shows {spec.quota} Used/Max), or "
        "lower RETENTION_DAYS or KEEP_DAILY/KEEP_WEEKLY/KEEP_MONTHLY so cleanup keeps fewer "
        f"(this stack holds about databases x (RETENTION_DAYS + 1 + generations kept) "
        f"snapshots per region), or delete unneeded manual snapshots in {detail.region}. "
        "Then start the missing databases with rds-backup start --db <database>."
    )
    report = failure_report(
        settings,
        step=f"{detail.step} (snapshot quota)",
        cause=cause,
        code="SnapshotQuotaExceeded",
        remedy=remedy,
        error_time=event.time,
        database=names if detail.databases else None,
        run=detail.run,
        region=detail.region,
        restorable=restorable_of(settings, aws, detail.databases, spec.kind),
    )
    logger.append_keys(run=detail.run, region=detail.region)
    cluster = spec is CLUSTER
    if digest.enabled(settings) and detail.databases:
        # Each database not backed up tonight is a failed line of the run's digest.
        emails = [
            deliver(
                settings,
                aws,
                keys.quota(detail.region, detail.run, cluster, db),
                replace(
                    report,
                    database=db,
                    restorable=tuple(r for r in report.restorable if r.database == db.lower()),
                ),
                context,
            )
            for db in detail.databases
        ]
        return {"email": emails[-1]}
    key = keys.quota(detail.region, detail.run, cluster)
    return {"email": send_once(settings, aws, key, report, context)}


def on_drill_finished(
    settings: Settings, aws: Aws, event: DrillFinishedEvent, context: Any = None
) -> dict[str, Any]:
    """A restore drill ended: its email, once per drill (``keys.drill``)."""
    result = DrillResult.model_validate(event.detail.result)
    logger.append_keys(drill=result.drill_id, database=result.database)
    require_idempotency_table(settings)
    if result.passed and _recent_drill(settings, result):
        drill_succeeded(result.database)
    report = DrillReport(
        stack=settings.stack_name,
        target_region=settings.target_region,
        result=result,
        next_drill=next_drill_day(settings, result.database, result.day),
        restore_command=console.restore_command(
            settings.target_region, result.snapshot_id, result.database
        )
        if result.snapshot_id
        else "",
    )
    return {"email": deliver(settings, aws, keys.drill(result.drill_id), report, context)}


def _recent_drill(settings: Settings, result: DrillResult) -> bool:
    """Only a drill of this period is the heartbeat: a replayed old one is not news."""
    return (clock.now().date() - result.day).days <= settings.drill_every_days
