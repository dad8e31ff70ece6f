"""The operator commands. Each returns a JSON-able summary and prints for a person."""

from __future__ import annotations

import getpass
import json
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from events.backup_requested import DETAIL_TYPE, SOURCE
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.model.coverage import Coverage
from rds_backup.model.drills import DrillResult
from rds_backup.ops.conventions import Exit
from rds_backup.ops.errors import OperatorError, UnknownValue
from rds_backup.ops.runs_table import WIDTH, recent_runs, render, table
from rds_backup.ops.target import archive_name, chain_rule_arns
from rds_backup.outcomes.reports import remedy_told
from rds_backup.settings import Settings
from rds_backup.state import drill_results
from rds_backup.state.coverage import read_coverage
from rds_backup.state.selection import Selection, select_databases
from rds_backup.steps.cleanup import (
    CleanupFailed,
    CleanupPlan,
    CleanupResult,
    apply_cleanup,
    plan_cleanup,
)

Print = Callable[[str], None]
REPLAY_DONE = {"COMPLETED", "FAILED", "CANCELLED"}
# How long after an event reaches the bus it may reach the archive (see _settled_end).
ARCHIVE_LAG_MINUTES = 10
ARCHIVE_LAG = timedelta(minutes=ARCHIVE_LAG_MINUTES)
STATE_DAYS = 35  # how far back replay looks for the runs it may change


def status(
    settings: Settings,
    aws: Aws,
    days: int,
    databases: Sequence[str],
    out: Print,
    *,
    wide: bool = False,
) -> dict[str, Any]:
    """Recent runs (rds_backup/ops/runs_table.py), then which databases the next run backs
    up and why. A ``--db`` that is neither selected nor has a run in the window is refused."""
    selection = select_databases(settings, aws)
    rows = recent_runs(settings, aws, clock.now(), days, databases, selection)
    _refuse_unknown(databases, selection, {row.database for row in rows}, days)
    out(render(rows, settings, wide=wide))
    out("")
    out(_why(selection, databases, wide))
    drills = _last_drills(settings, aws, selection, databases)
    out("")
    out(_drill_lines(settings, drills))
    fleet = read_coverage(settings, aws, clock.now(), "status")
    out("")
    out(_coverage_lines(fleet))
    return {
        "runs": [row.as_dict() for row in rows],
        **selection.as_dict(),
        "drills": {db: (d.summary() if d else None) for db, d in drills.items()},
        "coverage": fleet.as_dict(),
    }


def _coverage_lines(fleet: Coverage) -> str:
    """The dead-man's switch as reconcile sees it: selected databases without an available
    copy within BACKUP_ALARM_HOURS, and those that left the selection (model/coverage.py)."""
    lines = [
        f"Coverage: {len(fleet.selected)} selected, {len(fleet.without_recent)} without a copy "
        f"in the last {fleet.hours} h (BACKUP_ALARM_HOURS)"
    ]
    for database in fleet.without_recent:
        last = fleet.last_copy.get(database)
        lines.append(f"  {database}: last copy {last.isoformat() if last else 'never'}")
    for gone in fleet.departures:
        lines.append(f"  {gone.database}: left the selection after {gone.since}: {gone.why}")
    return "\n".join(lines)


def _last_drills(
    settings: Settings, aws: Aws, selection: Selection, databases: Sequence[str]
) -> dict[str, DrillResult | None]:
    """Each selected (or asked) database's newest restore drill (rds_backup/drills/)."""
    wanted = {db.lower() for db in databases}
    return {
        item.identifier: drill_results.latest_result(settings, aws, item.identifier, "status")
        for item in selection.items
        if not wanted or item.identifier in wanted
    }


def _drill_lines(settings: Settings, drills: dict[str, DrillResult | None]) -> str:
    """One line per database: its last restore drill (date, outcome, RTO), or none."""
    if not settings.drills_enabled:
        head = "Restore drills: off (set DRILL_SUBNET_GROUP; docs/RECOVERY.md). Last drills:"
    else:
        head = f"Restore drills (every {settings.drill_every_days} days), last per database:"
    lines = []
    for database, drill in drills.items():
        if drill is None:
            lines.append(f"  {database}: never drilled")
            continue
        seconds = drill.restore_seconds
        rto = f", RTO {round(seconds / 60, 1)} min" if seconds is not None else ""
        why = f" at {drill.step}: {drill.reason}" if drill.outcome.value == "failed" else ""
        line = f"  {database}: {drill.day.isoformat()} {drill.outcome.value}{rto}{why}"
        lines.append(textwrap.shorten(line, WIDTH, placeholder=" ..."))
    return "\n".join([head, *(lines or ["  none selected"])])


def _refuse_unknown(
    databases: Sequence[str], selection: Selection, with_runs: Iterable[str], days: int
) -> None:
    """A ``--db`` that is neither selected by the stack nor has a run in the last ``days``
    is a typo or another stack's database: refused, naming the ones it could be."""
    seen = {name.lower() for name in with_runs}
    unknown = [db for db in databases if db.lower() not in seen and selection.find(db) is None]
    if unknown:
        raise UnknownValue(
            f"no database {', '.join(unknown)}: not selected by this stack and no run in the "
            f"last {days} days (selected: "
            f"{', '.join(item.identifier for item in selection.items) or 'none'})"
        )


def _why(selection: Selection, databases: Sequence[str], wide: bool = False) -> str:
    """Which databases the next run backs up and why; the ones that cannot be resolved
    (wrapped to 80 columns unless ``wide``)."""
    wanted = {db.lower() for db in databases}
    lines = [
        f"  {item.identifier} ({item.kind}): {item.reason}"
        for item in selection.items
        if not wanted or item.identifier in wanted
    ]
    lines += [
        f"  {problem.identifier}: NOT BACKED UP, {problem.code}: {problem.cause}"
        for problem in selection.problems
        if not wanted or problem.identifier in wanted
    ]
    if not wide:
        lines = [textwrap.fill(line, WIDTH, subsequent_indent="    ") for line in lines]
    return "\n".join(["Selected for the next run:", *(lines or ["  none"])])


def start(
    settings: Settings, aws: Aws, databases: Sequence[str], reason: str, out: Print
) -> dict[str, Any]:
    """Put a "Backup Requested" event on the stack's bus; start_backup takes it from there."""
    selected = select_databases(settings, aws) if databases else Selection()
    unknown = [db for db in databases if selected.find(db) is None]
    if unknown:
        raise UnknownValue(
            f"not selected by this stack: {', '.join(unknown)} (selected: "
            f"{', '.join(item.identifier for item in selected.items) or 'none'}; "
            "see DB_IDENTIFIER and DB_SELECT_TAG)"
        )
    detail: dict[str, Any] = {"requested_by": getpass.getuser(), "reason": reason or "operator"}
    if databases:
        detail["databases"] = list(databases)
    answer = aws.events(settings.source_region).put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "EventBusName": settings.event_bus_name,
            }
        ]
    )
    entry = answer["Entries"][0]
    if answer.get("FailedEntryCount") or "EventId" not in entry:
        raise OperatorError(
            f"EventBridge refused the request: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
        )
    out(
        f"Backup Requested for {', '.join(databases) or 'every configured database'} "
        f"(event {entry['EventId']}); follow it with: rds-backup status"
    )
    return {"event_id": entry["EventId"], "databases": list(databases)}


def replay(
    settings: Settings,
    aws: Aws,
    since: datetime,
    until: datetime,
    databases: Sequence[str],
    out: Print,
    *,
    timeout: float = 900.0,
    poll: float = 5.0,
) -> dict[str, Any]:
    """Replay the archive for a window to this stack's chain rules only, follow it, and
    report the runs it touched. A window ending less than ARCHIVE_LAG ago is clamped (or,
    if nothing is left of it, refused): the archive may not hold its last events yet."""
    if until <= since:
        raise OperatorError("--until must be after --since")
    until, clamped = _settled_end(since, until, clock.now(), out)
    events = aws.events(settings.source_region)
    name = archive_name(settings)
    try:
        archive = events.describe_archive(ArchiveName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OperatorError(
                f"no archive {name} in {settings.source_region}: is stack "
                f"{settings.stack_name} deployed there?"
            ) from error
        raise
    bus = archive["EventSourceArn"]
    rules = chain_rule_arns(events, settings, bus.rsplit("/", 1)[-1])
    if not rules:
        raise OperatorError(
            f"no rule of stack {settings.stack_name} on {bus}: nothing to replay to "
            "(is the stack deployed in this region?)"
        )
    before = _states(settings, aws, databases)
    if databases:
        runs = {key.split(" ", 1)[0] for key in before}
        _refuse_unknown(databases, select_databases(settings, aws), runs, STATE_DAYS)
    replay_name = f"{settings.stack_name}-{since:%Y%m%d%H%M}-{uuid.uuid4().hex[:6]}"[:64]
    events.start_replay(
        ReplayName=replay_name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=since,
        EventEndTime=until,
        # Only this stack's chain rules: without FilterArns every rule on the bus (other
        # teams' too) would receive the replayed events.
        Destination={"Arn": bus, "FilterArns": sorted(rules.values())},
    )
    out(
        f"replay {replay_name}: window {since:%Y-%m-%dT%H:%M:%S}Z .. {until:%Y-%m-%dT%H:%M:%S}Z"
        f" from {name} to {len(rules)} rules of {settings.stack_name} "
        "(every database in the window; finished work is skipped)"
    )
    # EventBridge reports how many events an archive holds in all (DescribeArchive
    # EventCount) but not how many of them fall in a window, nor how many a replay sent
    # (DescribeReplay has no count; EventBridge API Reference): say the one figure there is.
    archived = archive.get("EventCount")
    if archived is not None:
        out(
            f"  the archive holds {archived} events in all; EventBridge does not say how "
            "many of them this replay sends (the runs that changed are listed below)"
        )
    try:
        state = _follow(events, replay_name, since, until, out, timeout, poll)
    except KeyboardInterrupt as interrupted:  # the following stops, not the replay
        region = events.meta.region_name
        raise OperatorError(
            f"interrupted; replay {replay_name} goes on in EventBridge: follow it with aws "
            f"events describe-replay --replay-name {replay_name} --region {region}, or stop "
            f"it with aws events cancel-replay --replay-name {replay_name} --region {region}",
            Exit.INTERRUPTED,
        ) from interrupted
    after = _states(settings, aws, databases)
    changed = {
        key: {"before": before.get(key), "after": value}
        for key, value in after.items()
        if before.get(key) != value
    }
    for key, change in sorted(changed.items()):
        out(f"  {key}: {change['before'] or 'absent'} → {change['after']}")
    if not changed:
        out("  nothing changed yet (handlers react asynchronously; check rds-backup status)")
    return {
        "replay": replay_name,
        "state": state,
        "changed": changed,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "clamped": clamped,
        "rules": sorted(rules),
        "archive_event_count": archived,
    }


def _settled_end(
    since: datetime, until: datetime, now: datetime, out: Print
) -> tuple[datetime, bool]:
    """The window's end, at most ARCHIVE_LAG before ``now``.

    EventBridge User Guide, "Archiving and replaying events", Event delivery: an event can
    reach the archive some time after the bus received it, and AWS recommends delaying a
    replay by 10 minutes so every event of the window is replayed. A later end is clamped
    (saying so); a window with nothing left before that is refused, saying when to retry.
    """
    settled = now - ARCHIVE_LAG
    if until <= settled:
        return until, False
    if since >= settled:
        raise OperatorError(
            f"the window starts at {since:%Y-%m-%d %H:%M} UTC, less than "
            f"{ARCHIVE_LAG_MINUTES} minutes ago: EventBridge may not have archived its events "
            f"yet (AWS advises replaying only windows that ended {ARCHIVE_LAG_MINUTES} minutes "
            f"ago); retry after {since + ARCHIVE_LAG:%H:%M} UTC"
        )
    out(
        f"--until clamped to {settled:%Y-%m-%d %H:%M} UTC: events of the last "
        f"{ARCHIVE_LAG_MINUTES} minutes may not be archived yet (EventBridge archiving lag; "
        "AWS advises replaying windows that ended at least 10 minutes ago); replay the rest "
        "later"
    )
    return settled, True


def cleanup(settings: Settings, aws: Aws, dry_run: bool, out: Print) -> dict[str, Any]:
    """The retention plan, snapshots and S3 exports alike; with ``--apply`` the same tables
    again with what happened to each row, so the dry run and the deed read the same."""
    plan = plan_cleanup(settings, aws, clock.now())
    summary: dict[str, Any] = {"plan": plan.as_dict()}
    result: CleanupResult | None = None
    failure: CleanupFailed | None = None
    if not dry_run:
        try:
            result = apply_cleanup(plan, settings, aws)
        except CleanupFailed as error:
            result, failure = error.result, error
        summary["result"] = result.as_dict()
    _cleanup_tables(settings, plan, result, out)
    out(
        f"{len(plan.deletions)} snapshot(s) and {len(plan.exports)} export folder(s) to "
        f"delete, {len(plan.kept)} snapshot(s) kept"
        + (" (dry run: nothing deleted)" if dry_run else "")
    )
    if result is not None:
        out(
            f"done: {len(result.deleted)} snapshot(s) deleted, {len(result.already_gone)} "
            f"already gone, {len(result.exports_deleted)} export folder(s) deleted "
            f"({result.export_objects_deleted} objects), {len(result.failed)} failed"
        )
    if failure is not None:
        remedy = remedy_told(settings, failure)
        summary["error"] = f"{failure} {remedy}"
    return summary


def _cleanup_tables(
    settings: Settings, plan: CleanupPlan, result: CleanupResult | None, out: Print
) -> None:
    def outcome(key: str, planned: str) -> str:
        if result is None or planned == "keep":
            return planned
        return result.outcomes.get(key, planned)

    decision = "DECISION" if result is None else "OUTCOME"
    out(
        table(
            ["REGION", "SNAPSHOT", "DATABASE", "AGE DAYS", decision, "REASON"],
            [
                [
                    r["region"],
                    r["id"],
                    r["database"] or "-",
                    str(r["age_days"]),
                    outcome(f"{r['region']}/{r['id']}", r["decision"]),
                    r["reason"],
                ]
                for r in plan.to_rows()
            ],
        )
    )
    if not settings.delete_old_exports:
        out("S3 exports: none touched (DELETE_OLD_EXPORTS=false keeps every export)")
        return
    out(
        table(
            ["REGION", "EXPORT FOLDER", "OF SNAPSHOT", decision],
            [
                [folder.region, folder.uri, folder.snapshot, outcome(folder.uri, "delete")]
                for folder in plan.exports
            ],
        )
        if plan.exports
        else "S3 exports: none past retention"
    )


def _follow(
    events: Any,
    name: str,
    since: datetime,
    until: datetime,
    out: Print,
    timeout: float,
    poll: float,
) -> str:
    """Poll DescribeReplay until it ends; a progress line per poll. How far it got comes
    from EventLastReplayedTime (EventBridge API Reference, DescribeReplay); before the
    first event is replayed (and on moto, which does not return it) the line says only the
    state, except that a COMPLETED replay has replayed its whole window. Ctrl-C here stops
    the following, not the replay (the caller says how to follow or cancel it)."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        described = events.describe_replay(ReplayName=name)
        state = str(described.get("State", ""))
        last = described.get("EventLastReplayedTime")
        if last is not None:
            done = (last - since).total_seconds() / max((until - since).total_seconds(), 1)
            progress = f"{min(max(done, 0.0), 1.0):>4.0%} replayed"
        else:
            progress = "100% replayed" if state == "COMPLETED" else "no event replayed yet"
        out(f"  {state.lower():<10} {progress} ({time.monotonic() - started:.0f}s)")
        if state in REPLAY_DONE:
            out(
                f"replay {state.lower()}"
                + (f": {described.get('StateReason')}" if described.get("StateReason") else "")
            )
            if state != "COMPLETED":
                raise OperatorError(f"replay {name} ended {state}: {described.get('StateReason')}")
            return state
        if time.monotonic() > deadline:
            raise OperatorError(
                f"replay {name} still {state} after {timeout:.0f}s; "
                "follow it with: aws events describe-replay"
            )
        time.sleep(poll)


def _states(settings: Settings, aws: Aws, databases: Sequence[str]) -> dict[str, str]:
    """Each step's state, keyed by run and step, for the before/after report."""
    states: dict[str, str] = {}
    for row in recent_runs(settings, aws, clock.now(), days=STATE_DAYS, databases=databases):
        key = f"{row.database} {row.run}"
        states[f"{key} copy"] = row.copy
        for region, status in row.exports.items():
            states[f"{key} export {region}"] = status
        states[f"{key} outcome"] = row.outcome
    return states
