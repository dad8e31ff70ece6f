"""Last link: tell a person what happened, exactly once per run outcome, and release the
source snapshot when nothing needs it any more.

Exactly-once rests on powertools idempotency on DynamoDB: the outcome key (snapshot +
outcome, or the failed invocation's request id) is claimed with a conditional write
before the email is sent. A concurrent duplicate finds the claim in progress and raises
(Lambda retries it later, then sees it completed); a failed send releases the claim, so
the retry sends. Plain "conditional put, then send" would lose the email when SES fails
after the claim.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import ClientError

from events.backup_requested import BackupRequestedEvent
from events.copy_finished import CopyCheckDueEvent, CopyFinishedEvent
from events.lambda_failure import LambdaFailureEvent
from events.parse import parse_event
from events.quota import SnapshotQuotaEvent
from events.rds import RdsEventKind, RdsSnapshotEvent
from events.schedule import ScheduledEvent
from rds_backup import clock, mail
from rds_backup.aws import Aws
from rds_backup.errors import (
    QUOTA_CODES,
    REMEDIES,
    BackupError,
    is_code,
    step_failed,
)
from rds_backup.mail import digest
from rds_backup.model import capacity, console
from rds_backup.model.kinds import CLUSTER, Kind, api
from rds_backup.model.kinds import delete as delete_snapshot
from rds_backup.model.naming import run_id, run_time
from rds_backup.model.report import DigestReport, ExportReport, FailureReport, SuccessReport
from rds_backup.model.retention import kept_until
from rds_backup.model.scope import out_of_scope
from rds_backup.observability import backup_succeeded, count, logger
from rds_backup.settings import ConfigError, Settings
from rds_backup.state import export_tables
from rds_backup.state.runs import Outcome, RunState, load_run
from rds_backup.steps.cleanup import policy

STEP = "notify"
# Longer than any archive replay window, so a replay never re-sends an email.
CLAIM_DAYS = 400
# Steps reconcile can re-drive by itself (it finds their runs from AWS state).
RECONCILED_STEPS = frozenset({"copy_snapshot", "export_snapshot"})
PERIODIC_STEPS = frozenset({"reconcile", "cleanup"})
NOTIFY_EVENTS = {
    RdsEventKind.EXPORT_COMPLETED,
    RdsEventKind.EXPORT_FAILED,
    RdsEventKind.EXPORT_CANCELED,
    RdsEventKind.COPY_CANCELED,
    # The copy is available: the source can be released now, and a run with no export
    # tonight (EXPORT_EVERY_DAYS) is done.
    RdsEventKind.COPY_FINISHED,
}
EXPORT_REMEDY = (
    "Fix what the cause names (usually the export role's S3 or KMS permissions, the bucket "
    "policy, or the key policy), then replay the archived RDS-EVENT-0060 for this snapshot: "
    "export_snapshot starts a new attempt (-a2, -a3, ...) and a success email follows."
)
CLUSTER_COPY_REMEDY = (
    "Check the KMS key in the target region (its policy must let RDS and this stack use it) "
    "and the cluster snapshot in both regions' RDS consoles. Then delete the failed copy, if "
    "any, and replay the run's RDS-EVENT-0075 (or start a new run with rds-backup start "
    "--db <cluster>): the copy is started again and checked until it is available."
)
STUCK_REMEDY = (
    "The step's RDS event never came or the step has run far longer than usual. Check the "
    "snapshot and export task in the RDS console of that region; if it is stuck, cancel it, "
    "then start a new run (rds-backup start --db <database>)."
)
CODE_IN_MESSAGE = re.compile(r"\b([A-Z][A-Za-z]+(?:Fault|Exception|Exceeded|NotFound|Denied))\b")
# What a StepFailed message names: "<step> failed (database=a,b snapshot=s region=r): ...".
NAMED = {
    name: re.compile(rf"\b{name}=([A-Za-z0-9][A-Za-z0-9,:/_.-]*)")
    for name in ("database", "snapshot", "region")
}
# The steps reconcile re-drives, as its StepFailed causes name them (copy_step, export_step).
REDRIVE_IN_MESSAGE = re.compile(r"\b(copy|export) failed \(database=[^\s)]+ snapshot=([^\s)]+)")
# A region named in an AWS message ("... in eu-west-1", an ARN): used when nothing else names it.
REGION_IN_MESSAGE = re.compile(r"\b([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)\b")


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


def settle_run(
    settings: Settings,
    aws: Aws,
    run: RunState,
    context: Any = None,
    *,
    copy_canceled: bool = False,
) -> dict[str, Any]:
    """Act on a run's current state: release the source if allowed, and send the email its
    outcome calls for (once). Shared by notify and reconcile."""
    require_idempotency_table(settings)
    logger.append_keys(database=run.database, run=run.run, snapshot=run.snapshot_id)
    result: dict[str, Any] = {"outcome": run.outcome.value}
    result["source_released"] = release_source(settings, aws, run)
    if copy_canceled and run.copy is None:
        report = _failure(
            settings,
            run,
            "copy",
            "the cross-region copy was canceled",
            settings.target_region,
            "CopyCanceled",
            "Replay the run's RDS-EVENT-0042 event to copy again.",
        )
        result["email"] = deliver(
            settings, aws, f"{run.snapshot_id}:copy-canceled", report, context
        )
    elif run.outcome is Outcome.SUCCEEDED:
        success = _success(settings, aws, run, result["source_released"])
        result["outcome"] = success.outcome if success.warned else run.outcome.value
        if _recent(settings, run):
            # Only a recent run is the heartbeat: a replay of an old run is not news.
            backup_succeeded(run.database)
        if success.tables_left_out:
            count("ExportTablesLeftOut", success.tables_left_out)
        result["email"] = deliver(settings, aws, f"{run.snapshot_id}:succeeded", success, context)
    elif run.outcome is Outcome.FAILED and (failed := run.failed_export) is not None:
        cause = str(failed.task.get("FailureCause") or f"export {failed.status.lower()}")
        region = next(r for r, a in run.exports.items() if a is failed)
        report = _failure(
            settings,
            run,
            "export",
            cause,
            region,
            f"Export{failed.status.title()}",
            EXPORT_REMEDY,
        )
        result["email"] = deliver(
            settings, aws, f"{run.snapshot_id}:failed:{failed.export_id}", report, context
        )
    return result


def deliver(
    settings: Settings,
    aws: Aws,
    key: str,
    report: SuccessReport | FailureReport,
    context: Any = None,
) -> str:
    """Tell one run outcome the way NOTIFY_MODE asks: on its own (per-database), in the
    run's digest (digest; rds_backup/mail/digest.py), or only when it is a failure (failures).
    Outcomes that belong to no run (cleanup, a reconcile pass) are always told at once."""

    def send(claim: str, email: SuccessReport | FailureReport | DigestReport) -> str:
        return send_once(settings, aws, claim, email, context)

    if settings.notify_mode == "failures" and isinstance(report, SuccessReport):
        logger.info("success not emailed (NOTIFY_MODE=failures)", key=key)
        return "not-emailed"
    if digest.enabled(settings) and report.run and report.database:
        return digest.record(settings, aws, key, report, send)
    return send(key, report)


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
    report = _failure(
        settings,
        run,
        "copy",
        cause,
        settings.target_region,
        "ClusterCopyVanished" if vanished else "ClusterCopyFailed",
        CLUSTER_COPY_REMEDY,
    )
    key = f"{run.snapshot_id}:cluster-copy-{event.detail.outcome}"
    return {"email": deliver(settings, aws, key, report, context)}


def on_handler_failure(
    settings: Settings, aws: Aws, event: LambdaFailureEvent, context: Any = None
) -> dict[str, Any]:
    """A handler failed after Lambda's retries: email the cause, once per run, step and
    outcome (``failure_key``)."""
    detail = event.detail
    error = detail.response_payload
    message = error.error_message if error else "the function failed without an error message"
    code_match = CODE_IN_MESSAGE.search(message)
    code = code_match.group(1) if code_match else (error.error_type if error else None)
    snapshot, run, database = _what_failed(settings, detail.request_payload)
    named = {name: _named(pattern, message) for name, pattern in NAMED.items()}
    # A cause naming several databases (one start or one reconcile pass for many) names
    # them all: the email is about each of them, not about the first one.
    database = database or (",".join(named["database"]) or None)
    snapshot = snapshot or (named["snapshot"][0] if len(named["snapshot"]) == 1 else None)
    regions = named["region"] or _named(REGION_IN_MESSAGE, message)
    region = ",".join(regions) or None
    # Functions are named <stack>-<handler>; handler names have no hyphens.
    step = detail.function_name.rsplit("-", 1)[-1]
    if code in QUOTA_CODES and step in RECONCILED_STEPS:
        logger.warning(
            "limit refusal deferred: the step waits for a slot (rds_backup/limits/); the "
            "event that frees one, or reconcile within the hour, starts it",
            failed_function=step,
            code=code,
            snapshot=snapshot,
        )
        count("FailureDeferred")
        return {"deferred": code}
    report = FailureReport(
        stack=settings.stack_name,
        step=step,
        cause=message,
        error_time=event.time,
        remedy=REMEDIES.get(code or "", ""),
        database=database,
        snapshot_id=snapshot,
        run=run,
        region=region,
        code=code,
        stack_region=settings.source_region,
    )
    logger.append_keys(failed_function=step, snapshot=snapshot, run=run)
    # The whole text stays in the logs; the email shows a bounded part (mail.CAUSE_MAX).
    logger.error("handler failed after its retries", code=code, cause=message)
    databases = [db for db in (database or "").split(",") if db]
    if digest.enabled(settings) and run and step not in PERIODIC_STEPS and len(databases) > 1:
        # One start failed for several databases: each is a line of the run's digest.
        emails = [
            deliver(
                settings,
                aws,
                failure_key(step, db, run, code),
                replace(report, database=db),
                context,
            )
            for db in databases
        ]
        return {"email": emails[-1]}
    key = failure_key(step, database, run, code)
    redriven = REDRIVE_IN_MESSAGE.findall(message)
    if step == "reconcile" and len(set(redriven)) == 1:
        # reconcile re-drove one run's copy or export and AWS refused it as it refused the
        # step itself: the same fault of the same run, told once whichever handler met it.
        inner, identifier = redriven[0]
        _, inner_run, _ = _of_snapshot(settings, identifier)
        key = failure_key(f"{inner}_snapshot", database, inner_run or run, code)
    if step in PERIODIC_STEPS:
        return {"email": send_once(settings, aws, key, report, context)}
    return {"email": deliver(settings, aws, key, report, context)}


def _named(pattern: re.Pattern[str], message: str) -> list[str]:
    """Every distinct value ``pattern`` finds in ``message`` (comma lists split), in order."""
    found = (part for match in pattern.findall(message) for part in match.split(","))
    return list(dict.fromkeys(part for part in found if part))


def failure_key(step: str, database: str | None, run: str | None, code: str | None) -> str:
    """One email per run (and database), step and outcome: a failure delivered again (at
    least once), by several requests, or by every hourly pass of a persistent fault is the
    same outcome. Scheduled passes (reconcile, cleanup) have no run of their own: their
    failures are keyed by day, so a fault that persists is told once a day."""
    period = run or "-"
    if step in PERIODIC_STEPS and run:
        period = run[:8]
    return f"failed:{step}:{(database or '-').lower()}:{period}:{code or 'error'}"


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
    report = FailureReport(
        stack=settings.stack_name,
        step=f"{detail.step} (snapshot quota)",
        cause=cause,
        error_time=event.time,
        remedy=remedy,
        database=names if detail.databases else None,
        run=detail.run,
        region=detail.region,
        code="SnapshotQuotaExceeded",
        stack_region=settings.source_region,
    )
    logger.append_keys(run=detail.run, region=detail.region)
    key = f"quota:{detail.region}:{detail.run}"
    if spec is CLUSTER:
        key += ":cluster"
    if digest.enabled(settings) and detail.databases:
        # Each database not backed up tonight is a failed line of the run's digest.
        emails = [
            deliver(settings, aws, f"{key}:{db.lower()}", replace(report, database=db), context)
            for db in detail.databases
        ]
        return {"email": emails[-1]}
    return {"email": send_once(settings, aws, key, report, context)}


def release_source(settings: Settings, aws: Aws, run: RunState) -> bool:
    """Delete the source snapshot (KEEP_SOURCE_SNAPSHOT=false) once the copy is available
    and every export of the run is complete. Never earlier; never anything not ours.

    Until then the source is the run's mark of work in progress: the slot fillers find the
    waiting copies and exports through the sources (rds_backup/limits/), and a source
    export may still need it."""
    if settings.keep_source_snapshot or run.source is None:
        return False
    if run.copy is None or not run.copy.available:
        return False
    if not all(attempt is not None and attempt.complete for attempt in run.exports.values()):
        return False  # an export waits, runs, or failed and may be re-driven
    kind = run.source.kind
    try:
        delete_snapshot(aws.rds(settings.source_region), kind, run.snapshot_id)
    except ClientError as error:
        if is_code(error, *api(kind).not_found):
            return True
        raise step_failed(
            "release source",
            error,
            database=run.database,
            snapshot=run.snapshot_id,
            region=settings.source_region,
        ) from error
    logger.info("source snapshot deleted; the copy is available", kept=False)
    count("SourceSnapshotDeleted")
    return True


def require_idempotency_table(settings: Settings) -> str:
    """Checked before anything is changed: without the table no email can be sent once, and
    a handler must not delete a source and then fail for want of it."""
    if not settings.idempotency_table:
        raise ConfigError(["IDEMPOTENCY_TABLE: required by notify to send each email once"])
    return settings.idempotency_table


def send_once(
    settings: Settings,
    aws: Aws,
    key: str,
    report: SuccessReport | FailureReport | DigestReport,
    context: Any = None,
) -> str:
    """Render and send the email for ``key`` unless it was already sent."""
    persistence = DynamoDBPersistenceLayer(
        table_name=require_idempotency_table(settings),
        boto3_client=aws.dynamodb(settings.source_region),
    )
    config = IdempotencyConfig(expires_after_seconds=CLAIM_DAYS * 24 * 3600)
    if context is not None:
        # Lets a claim left "in progress" by a timed-out invocation expire with it, so the
        # retry can send; without it the claim would block that email for CLAIM_DAYS.
        config.register_lambda_context(context)
    sent_now: list[str] = []

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="claim",
        persistence_store=persistence,
        config=config,
        key_prefix=f"{settings.stack_name}-email",
    )
    def deliver(claim: dict[str, str]) -> dict[str, str]:
        email = mail.render(report)
        try:
            message_id = mail.send(
                aws.ses(settings.source_region),
                settings.sender,
                settings.admin_emails,
                email,
                configuration_set=settings.ses_configuration_set,
            )
        except ClientError as error:
            raise step_failed(STEP, error, region=settings.source_region) from error
        sent_now.append(message_id)
        return {"message_id": message_id, "subject": email.subject}

    delivered = deliver(claim={"key": key})
    if sent_now:
        outcome = {SuccessReport: "success", DigestReport: "digest"}.get(type(report), "failure")
        logger.info("email sent", key=key, outcome=outcome, message_id=delivered["message_id"])
        count("EmailSent")
        return "sent"
    logger.info("email already sent for this outcome; nothing to do", key=key)
    return "already-sent"


def _success(settings: Settings, aws: Aws, run: RunState, released: bool) -> SuccessReport:
    kept = run.source is not None and not released
    copy_raw = run.copy.raw if run.copy else {}
    source_raw = run.source.raw if run.source else {}
    size = copy_raw.get("AllocatedStorage") or source_raw.get("AllocatedStorage")
    until, rule = kept_until(run.backup_time, policy(settings))
    return SuccessReport(
        stack=settings.stack_name,
        database=run.database,
        run=run.run,
        backup_time=run.backup_time,
        source_region=settings.source_region,
        source_snapshot_id=run.snapshot_id,
        target_region=settings.target_region,
        copy_snapshot_id=run.snapshot_id,
        exports=tuple(_with_warnings(aws, run, e) for e in run.export_reports(settings)),
        source_snapshot_kept=kept,
        next_export=capacity.next_export_due(settings, run.database, run_time(run.run).date())
        if settings.export_every_days > 1
        else None,
        allocated_gib=size if isinstance(size, int) else None,
        kept_until=until,
        retention=rule,
        copy_url=console.snapshot_url(settings.target_region, run.snapshot_id),
        source_url=console.snapshot_url(settings.source_region, run.snapshot_id) if kept else "",
        restore_command=console.restore_command(
            settings.target_region, run.snapshot_id, run.database
        ),
    )


def _with_warnings(aws: Aws, run: RunState, export: ExportReport) -> ExportReport:
    """A COMPLETE export with the tables it left out (WarningMessage, export_tables_info)."""
    attempt = run.exports.get(export.region)
    if attempt is None or not attempt.complete:
        return export
    found = export_tables.read(aws, export.region, attempt.task, attempt.export_id)
    if found.warned:
        logger.warning(
            "export completed with warnings",
            export=attempt.export_id,
            warning=found.message,
            tables=[f"{t.table} {t.status}" for t in found.tables],
        )
    return replace(
        export,
        warning=found.message,
        table_problems=found.tables,
        tables_unreadable=found.unreadable,
    )


def _recent(settings: Settings, run: RunState) -> bool:
    return clock.now() - run_time(run.run) <= timedelta(hours=settings.backup_alarm_hours)


def stuck_report(
    settings: Settings, run: RunState, step: str, cause: str, region: str
) -> FailureReport:
    return _failure(settings, run, step, cause, region, "StepOverdue", STUCK_REMEDY)


def _failure(
    settings: Settings, run: RunState, step: str, cause: str, region: str, code: str, remedy: str
) -> FailureReport:
    return FailureReport(
        stack=settings.stack_name,
        step=step,
        cause=cause,
        error_time=clock.now(),
        remedy=remedy,
        database=run.database,
        snapshot_id=run.snapshot_id,
        run=run.run,
        region=region,
        code=code,
        exports=run.export_reports(settings),
        stack_region=settings.source_region,
    )


def _of_snapshot(settings: Settings, identifier: str) -> tuple[str, str | None, str | None]:
    """(snapshot, run, database) read from one of our derived snapshot ids."""
    parts = identifier.removeprefix(f"{settings.snapshot_prefix}-").rsplit("-", 2)
    if len(parts) != 3:
        return identifier, None, None
    return identifier, "-".join(parts[1:]), parts[0]


def _what_failed(settings: Settings, payload: Any) -> tuple[str | None, str | None, str | None]:
    """(snapshot, run, database) of the event a failed handler was given, where knowable."""
    try:
        rds: RdsSnapshotEvent | CopyCheckDueEvent | CopyFinishedEvent = parse_event(
            payload, RdsSnapshotEvent | CopyCheckDueEvent | CopyFinishedEvent
        )
    except BackupError:
        pass
    else:
        return _of_snapshot(settings, rds.snapshot.identifier)
    try:
        start: ScheduledEvent | BackupRequestedEvent = parse_event(
            payload, ScheduledEvent | BackupRequestedEvent
        )
    except BackupError:
        return None, None, None
    return None, run_id(start.time), None


__all__ = [
    "deliver",
    "on_cluster_copy_ended",
    "on_handler_failure",
    "on_quota_reached",
    "on_rds_event",
    "release_source",
    "send_once",
    "settle_run",
    "stuck_report",
]
