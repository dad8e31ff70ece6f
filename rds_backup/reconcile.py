"""reconcile: finish the chains whose next RDS event never came.

RDS delivers events best effort, and there is no "copy failed" event. Every hour this
looks at our recent runs and, for each, does what the missing event would have caused —
through the same step functions, so a late event racing with it meets ``AlreadyExists``
or an email already sent — or reports the run stuck once its deadline passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rds_backup import tags
from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.copy_step import copy_to_target
from rds_backup.errors import QUOTA_CODES, StepFailed
from rds_backup.exports import IN_FLIGHT, ExportAttempt, pick_latest, start_export
from rds_backup.inventory import export_tasks, owned_snapshots
from rds_backup.naming import run_time
from rds_backup.notify import send_once, settle_run, stuck_report
from rds_backup.observability import count, logger
from rds_backup.runs import Outcome, RunState, assemble
from rds_backup.settings import Settings

STEP = "reconcile"
WINDOW = timedelta(days=3)  # older runs are cleanup's business, not reconcile's


@dataclass
class ReconcileResult:
    actions: list[dict[str, str]] = field(default_factory=list)
    failed: list[StepFailed] = field(default_factory=list)

    def record(self, run: str, action: str, **detail: str) -> None:
        self.actions.append({"snapshot": run, "action": action, **detail})
        logger.info("reconcile action", extra={"snapshot": run, "action": action, **detail})

    def as_dict(self) -> dict[str, Any]:
        return {"actions": self.actions, "failed": [str(f) for f in self.failed]}


class ReconcileFailed(StepFailed):
    def __init__(self, result: ReconcileResult) -> None:
        super().__init__(STEP, "; ".join(str(f) for f in result.failed), code=result.failed[0].code)
        self.result = result


def reconcile(settings: Settings, aws: Aws, now: datetime, context: Any = None) -> ReconcileResult:
    """One pass over the runs of the last three days; failures of one run don't stop others."""
    result = ReconcileResult()
    sources = {
        o.identifier: o
        for o in owned_snapshots(settings, aws, settings.source_region, STEP)
        if o.role is tags.Role.SOURCE
    }
    copies = {
        o.identifier: o
        for o in owned_snapshots(settings, aws, settings.target_region, STEP)
        if o.role is tags.Role.COPY
    }
    tasks = {
        region: _by_source(export_tasks(aws, region, STEP))
        for region in (settings.source_region, settings.target_region)
    }
    for identifier in sorted(set(sources) | set(copies)):
        source, copy = sources.get(identifier), copies.get(identifier)
        known = copy or source
        if known is None:
            continue
        age = now - run_time(known.run)
        if age > WINDOW:
            continue
        arn = parse_snapshot_arn(known.arn)

        def latest(
            region: str, snapshot_arn: str, identifier: str = identifier
        ) -> ExportAttempt | None:
            return pick_latest(
                tasks[region].get(snapshot_arn, ()), region, snapshot_arn, identifier
            )

        run = assemble(settings, arn, source, copy, latest)
        if run is None:
            continue
        logger.append_keys(database=run.database, run=run.run, snapshot=identifier)
        try:
            _reconcile_run(settings, aws, run, age, result, context)
        except StepFailed as failure:
            logger.error("reconcile of a run failed", snapshot=identifier, cause=str(failure))
            result.failed.append(failure)
    if result.failed:
        raise ReconcileFailed(result)
    return result


def _reconcile_run(
    settings: Settings,
    aws: Aws,
    run: RunState,
    age: timedelta,
    result: ReconcileResult,
    context: Any,
) -> None:
    grace = timedelta(minutes=settings.reconcile_grace_minutes)
    deadline = timedelta(hours=settings.step_deadline_hours)
    overdue = age > deadline

    def stuck(step: str, region: str, cause: str) -> None:
        _stuck(settings, aws, run, step, region, result, context, f"{cause} after {_hours(age)} h")

    if run.copy is None:
        source = run.source
        if source is None:
            return
        if not source.available:
            if overdue:
                stuck("snapshot", settings.source_region, f"source snapshot still {source.status}")
        elif overdue:
            stuck("copy", settings.target_region, "no copy was ever made")
        elif age > grace and _redrive(
            run, result, "copy re-driven", lambda: copy_to_target(settings, aws, source)
        ):
            # The lost 0042 would also have started the source export (STORE_TO_SOURCE_S3).
            _start_missing_exports(settings, aws, run, overdue, result, stuck)
        return
    if not run.copy.available:
        if overdue:
            stuck("copy", settings.target_region, f"copy still {run.copy.status}")
        return
    if age <= grace:
        return
    if _start_missing_exports(settings, aws, run, overdue, result, stuck):
        return
    in_flight = [(r, a) for r, a in run.exports.items() if a is not None and a.status in IN_FLIGHT]
    if in_flight:
        if overdue:
            region, attempt = in_flight[0]
            stuck("export", region, f"export {attempt.export_id} still {attempt.status}")
        return
    if run.outcome is not Outcome.PENDING:
        settled = settle_run(settings, aws, run, context)
        if settled.get("email") == "sent" or settled.get("source_released"):
            result.record(
                run.snapshot_id,
                "settled",
                outcome=run.outcome.value,
                email=str(settled.get("email")),
            )
            count("ReconcileRedrive")


def _redrive(
    run: RunState, result: ReconcileResult, action: str, step: Callable[[], str], **detail: str
) -> bool:
    """Run a step again. A quota fault is not a failure yet: the next pass retries, and
    only a run past its deadline is reported (once)."""
    try:
        outcome = step()
    except StepFailed as failure:
        if failure.code not in QUOTA_CODES:
            raise
        result.record(run.snapshot_id, "deferred", code=str(failure.code), **detail)
        return False
    result.record(run.snapshot_id, action, outcome=outcome, **detail)
    count("ReconcileRedrive")
    return True


def _start_missing_exports(
    settings: Settings,
    aws: Aws,
    run: RunState,
    overdue: bool,
    result: ReconcileResult,
    stuck: Callable[[str, str, str], None],
) -> bool:
    """Start each expected export never started; report it instead once overdue.
    True if any export was started or reported (the run is not settled this pass)."""
    acted = False
    for region, attempt in run.exports.items():
        snapshot = run.source if region == settings.source_region else run.copy
        if attempt is not None or snapshot is None or not snapshot.available:
            continue  # started already, or a source released cannot be exported any more
        acted = True
        if overdue:
            stuck("export", region, "the export never started")
            continue

        def begin(snapshot: tags.Owned = snapshot, region: str = region) -> str:
            return start_export(
                settings,
                aws,
                region=region,
                snapshot=run.snapshot_id,
                snapshot_arn=snapshot.arn,
                database=run.database,
                redrive=False,
            ).outcome

        _redrive(run, result, "export re-driven", begin, region=region)
    return acted


def _stuck(
    settings: Settings,
    aws: Aws,
    run: RunState,
    step: str,
    region: str,
    result: ReconcileResult,
    context: Any,
    cause: str,
) -> None:
    report = stuck_report(settings, run, step, cause, region)
    email = send_once(settings, aws, f"{run.snapshot_id}:stuck:{step}", report, context)
    result.record(run.snapshot_id, "reported stuck", step=step, email=email)


def _by_source(tasks: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        grouped[str(task.get("SourceArn", ""))].append(task)
    return grouped


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f}"
