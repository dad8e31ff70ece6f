"""reconcile: finish the chains whose next RDS event never came.

RDS delivers events best effort, and there is no "copy failed" event. Every hour this
fills the free copy and export slots from the derived waiting queue (rds_backup/limits/:
counted, oldest first, the same code the events run, so a late event racing with it meets
``AlreadyExists``), then looks at each recent run: a step running past its deadline
(STEP_DEADLINE_HOURS for snapshots and copies, EXPORT_DEADLINE_HOURS for exports, counted
from when the step started) is reported once; a run whose ending event was lost is settled.
A step waiting for a slot is never reported and never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rds_backup import clock, drills
from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.limits import fill_copies, fill_exports, work_view
from rds_backup.mail import digest
from rds_backup.mail.delivery import deliver, require_idempotency_table, send_once
from rds_backup.model import coverage, tags
from rds_backup.model.naming import run_time
from rds_backup.observability import backup_coverage, count, logger
from rds_backup.outcomes import keys
from rds_backup.outcomes.reports import failure_report, restorable_of, stuck_report
from rds_backup.outcomes.settle import settle_run
from rds_backup.settings import Settings
from rds_backup.state.coverage import read_coverage
from rds_backup.state.exports import IN_FLIGHT, ExportAttempt, pick_latest
from rds_backup.state.runs import Outcome, RunState, assemble

STEP = "reconcile"
WINDOW = timedelta(days=3)  # older runs are cleanup's business, not reconcile's
# A finished run whose ending event was lost is settled by the passes in the hours after it
# ended (hourly: six chances); older finished runs are not re-checked every hour.
SETTLE_WINDOW = timedelta(hours=6)


@dataclass
class ReconcileResult:
    actions: list[dict[str, str]] = field(default_factory=list)
    failed: list[StepFailed] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)  # the fleet's (_coverage)

    def record(self, run: str, action: str, **detail: str) -> None:
        self.actions.append({"snapshot": run, "action": action, **detail})
        logger.info("reconcile action", extra={"snapshot": run, "action": action, **detail})

    def as_dict(self) -> dict[str, Any]:
        answer = {"actions": self.actions, "failed": [str(f) for f in self.failed]}
        return {**answer, "coverage": self.coverage} if self.coverage else answer


class ReconcileFailed(StepFailed):
    def __init__(self, result: ReconcileResult) -> None:
        causes = "; ".join(str(f) for f in result.failed)
        super().__init__(STEP, causes, code=result.failed[0].code, parts=result.failed)
        self.result = result


def reconcile(settings: Settings, aws: Aws, now: datetime, context: Any = None) -> ReconcileResult:
    """One pass: fill the free copy and export slots (counted, oldest waiting step first),
    then look at each recent run on its own: report it stuck past its deadline, or settle
    it when its ending event was lost. One run's fault neither stops nor hides the others."""
    require_idempotency_table(settings)  # it may email; nothing is changed without it
    result = ReconcileResult()
    # Every run in progress keeps its source (outcomes.release), so the sources and
    # their copies (by id) are the whole of the work in flight: reconcile's reads do not
    # grow with retention. Kept sources (KEEP_SOURCE_SNAPSHOT) are listed in full instead.
    view = work_view(settings, aws, STEP, scoped=False)  # every source: none is missed
    for fill in (fill_copies, fill_exports):
        try:
            filled = fill(settings, aws, STEP, view)
        except StepFailed as failure:
            logger.error("reconcile could not fill slots", cause=str(failure))
            result.failed.append(failure)
            continue
        for label in filled.started:
            result.record(label, "started from the queue", free=str(filled.free_before))
            count("ReconcileRedrive")
        if filled.waiting:
            result.record(filled.slot.value, "waiting for a slot", waiting=str(len(filled.waiting)))
    window = max(
        WINDOW,
        timedelta(hours=settings.export_deadline_hours + 24),
        timedelta(hours=settings.step_deadline_hours + 24),
    )
    for identifier in sorted(set(view.sources) | set(view.copies)):
        source, copy = view.sources.get(identifier), view.copies.get(identifier)
        known = copy or source
        if known is None or now - run_time(known.run) > window:
            continue

        def latest(
            region: str, snapshot_arn: str, owned: tags.Owned = known
        ) -> ExportAttempt | None:
            return pick_latest(
                (t for t in view.tasks.get(region, ()) if t.get("SourceArn") == snapshot_arn),
                region,
                snapshot_arn,
                owned.identifier,
            )

        run = assemble(settings, parse_snapshot_arn(known.arn), source, copy, latest)
        if run is None:
            continue
        logger.append_keys(database=run.database, run=run.run, snapshot=run.snapshot_id)
        try:
            _reconcile_run(settings, aws, run, now, result, context)
        except StepFailed as failure:
            # This run's fault is this run's email (once per run, step and code); the pass
            # goes on and does not fail for it, so the other runs are neither stopped nor
            # hidden behind one failure email for the whole pass.
            logger.error("reconcile of a run failed", snapshot=identifier, cause=str(failure))
            _report_run_failure(settings, aws, run, failure, result, context)
    _digests(settings, aws, now, result, context)
    _coverage(settings, aws, now, result, context)
    if settings.drills_enabled:
        _drills(settings, aws, result)
    if result.failed:
        raise ReconcileFailed(result)
    return result


def _digests(
    settings: Settings, aws: Aws, now: datetime, result: ReconcileResult, context: Any
) -> None:
    """NOTIFY_MODE=digest: send the digest of each run past DIGEST_CUTOFF_HOURS (or complete
    but not yet sent), naming the databases still running."""

    def send(key: str, report: Any) -> str:
        return send_once(settings, aws, key, report, context)

    try:
        done = digest.cut_off(settings, aws, now, send)
    except StepFailed as failure:
        logger.error("reconcile could not send a digest", cause=str(failure))
        result.failed.append(failure)
        return
    for run, email in done.items():
        result.record(run, "digest", email=email)


def _coverage(
    settings: Settings, aws: Aws, now: datetime, result: ReconcileResult, context: Any
) -> None:
    """The fleet's dead-man's switch, whatever selects the databases: how many selected
    databases have no available copy within BACKUP_ALARM_HOURS (its alarm: infra/alarms.js),
    and one notice per database that left the selection (rds_backup/model/coverage.py)."""
    try:
        fleet = read_coverage(settings, aws, now, STEP)
    except StepFailed as failure:
        # No gauge this hour: the coverage alarm counts the missing point as breaching.
        logger.error("reconcile could not read the fleet's coverage", cause=str(failure))
        result.failed.append(failure)
        return
    backup_coverage(len(fleet.selected), len(fleet.without_recent), len(fleet.departures))
    result.coverage = fleet.as_dict()
    if fleet.without_recent:
        logger.warning(
            "selected databases without a recent backup",
            databases=list(fleet.without_recent),
            hours=settings.backup_alarm_hours,
        )
    for departure in fleet.departures:
        key = keys.left_selection(departure.database, departure.kind, departure.since)
        try:
            report = coverage.notice(settings, departure, now)
            email = send_once(settings, aws, key, report, context)
        except StepFailed as unsent:
            result.failed.append(unsent)  # no notice: the pass fails, Lambda retries it
            continue
        if email == "sent":
            result.record(departure.database, "left the selection", why=departure.why)


def _drills(settings: Settings, aws: Aws, result: ReconcileResult) -> None:
    """Restore drills whose events were lost: reap those past DRILL_MAX_HOURS (the cost cap),
    move every other one a step, start the drills that wait (rds_backup/drills/)."""
    now = clock.now()
    try:
        flying = drills.in_flight(settings, aws, STEP)
        for identifier in drills.reap(settings, aws, now, flying):
            result.record(identifier, "drill reaped", hours=str(settings.drill_max_hours))
        # In flight, and those whose instance went with no event or check seen (their end
        # is only known from the result that is not final yet).
        moving = [(d.identifier, d.database, d.day) for d in flying] + [
            (r.drill_id, r.database, r.day) for r in drills.unfinished(settings, aws, flying, STEP)
        ]
        for identifier, database, day in moving:
            try:
                moved = drills.advance(settings, aws, database, day, now)
            except StepFailed as failure:
                logger.error("reconcile could not move a drill", drill=identifier)
                result.failed.append(failure)
                continue
            if "finished" in moved:
                result.record(identifier, "drill finished", outcome=str(moved["finished"]))
        filled = drills.fill_drills(settings, aws, now, STEP)
    except StepFailed as failure:
        logger.error("reconcile could not fill the drill slots", cause=str(failure))
        result.failed.append(failure)
        return
    for started in filled.started:
        result.record(started, "drill started from the queue")


def _report_run_failure(
    settings: Settings,
    aws: Aws,
    run: RunState,
    failure: StepFailed,
    result: ReconcileResult,
    context: Any,
) -> None:
    report = failure_report(
        settings,
        step=f"{STEP} ({failure.step})",
        cause=failure.cause,
        code=failure.code,
        remedy=failure.remedy,
        database=run.database,
        snapshot_id=run.snapshot_id,
        run=run.run,
        region=failure.region,
        restorable=restorable_of(settings, aws, [run.database]),
    )
    key = keys.failure(STEP, run.database, run.run, failure.code)
    try:
        email = deliver(settings, aws, key, report, context)
    except StepFailed as unsent:
        result.failed.append(unsent)  # no email: the pass fails, Lambda retries it
        return
    result.record(run.snapshot_id, "reported failure", code=str(failure.code), email=email)


def _reconcile_run(
    settings: Settings,
    aws: Aws,
    run: RunState,
    now: datetime,
    result: ReconcileResult,
    context: Any,
) -> None:
    """Deadlines count from when each step started (a step waiting for a slot is not
    stuck, and waiting steps were started above when a slot was free)."""
    deadline = timedelta(hours=settings.step_deadline_hours)

    def stuck(step: str, region: str, cause: str, since: datetime) -> None:
        report = stuck_report(
            settings, aws, run, step, f"{cause} after {_hours(now - since)} h", region
        )
        email = deliver(settings, aws, keys.stuck(run.snapshot_id, step), report, context)
        result.record(run.snapshot_id, "reported stuck", step=step, email=email)

    if run.copy is None:
        source = run.source
        if source is not None and not source.available:
            started = _made(source, run)
            if now - started > deadline:
                stuck("snapshot", source.region, f"source snapshot still {source.status}", started)
        return  # an available source without a copy is a waiting copy
    if not run.copy.available:
        started = _made(run.copy, run)
        if now - started > deadline:
            stuck("copy", run.copy.region, f"copy still {run.copy.status}", started)
        return
    if now - run_time(run.run) <= timedelta(minutes=settings.reconcile_grace_minutes):
        return
    export_deadline = timedelta(hours=settings.export_deadline_hours)
    in_flight = False
    for region, attempt in run.exports.items():
        if attempt is None or attempt.status not in IN_FLIGHT:
            continue
        in_flight = True
        started = _task_start(attempt, run)
        if now - started > export_deadline:
            stuck(
                "export",
                region,
                f"export {attempt.export_id} still {attempt.status} (EXPORT_DEADLINE_HOURS="
                f"{settings.export_deadline_hours})",
                started,
            )
    if in_flight or run.outcome is Outcome.PENDING:
        return
    if run.outcome is Outcome.SUCCEEDED and run.source is None and run.exports:
        return  # notify released the source, then sent the email, in one invocation
    if now - _ended(run) > SETTLE_WINDOW:
        return  # settled long ago: its email was claimed then (no idempotency read each hour)
    settled = settle_run(settings, aws, run, context)
    if settled.get("email") == "sent" or settled.get("source_released"):
        result.record(
            run.snapshot_id, "settled", outcome=run.outcome.value, email=str(settled.get("email"))
        )
        count("ReconcileRedrive")


def _ended(run: RunState) -> datetime:
    """When the run's last step ended: its latest export's end, else its copy's start."""
    ends = [
        _utc(end)
        for attempt in run.exports.values()
        if attempt is not None and isinstance(end := attempt.task.get("TaskEndTime"), datetime)
    ]
    if ends:
        return max(ends)
    return _made(run.copy, run) if run.copy else run_time(run.run)


def _made(snapshot: tags.Owned, run: RunState) -> datetime:
    """When a snapshot (or a copy: its copy began) was started, from SnapshotCreateTime."""
    created = snapshot.raw.get("SnapshotCreateTime")
    return _utc(created) if isinstance(created, datetime) else run_time(run.run)


def _task_start(attempt: ExportAttempt, run: RunState) -> datetime:
    started = attempt.task.get("TaskStartTime") or attempt.task.get("SnapshotTime")
    return _utc(started) if isinstance(started, datetime) else run_time(run.run)


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f}"
