"""What ``status`` prints, read from AWS: recent runs per database with each step's state,
failed steps with their reason, waiting steps with their place in the queue, databases
whose run never got a snapshot, sizes, times in UTC, and the next export night
(EXPORT_EVERY_DAYS).

A step's state says what AWS shows, never more hopeful: a copy whose snapshot is ``failed``
or that RDS canceled (RDS-EVENT-0061, tag ``rds-backup:copy-canceled``) is *failed*, not
pending; a failed export shows the FailureCause RDS gave; a step that could start (its slot
is free) but has not, longer than RECONCILE_GRACE_MINUTES after the run, is *stalled* (a
handler failed: the failure email names the cause). The default table fits 80 columns
(``--wide`` for every column); reasons follow the table, wrapped to 80.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.limits import (
    COPY_CANCELED,
    COPY_SLOTS,
    EXPORT_SLOTS,
    Slot,
    View,
    full_view,
    waiting_copies,
    waiting_exports,
)
from rds_backup.model import capacity, tags
from rds_backup.model.naming import export_uri, run_time
from rds_backup.settings import Settings
from rds_backup.state.exports import ExportAttempt, pick_latest
from rds_backup.state.runs import Outcome, RunState, assemble
from rds_backup.state.selection import Selection

STEP = "status"
WIDTH = 80
FAILED = "failed"
STALLED = "stalled"
NO_SNAPSHOT = "no snapshot"


@dataclass(frozen=True)
class RunRow:
    database: str
    run: str
    age_hours: float
    source: str
    copy: str
    exports: dict[str, str]  # region → status of the latest attempt ("-" not started)
    outcome: str
    kind: str = "instance"  # or "cluster" (a DB cluster snapshot: rds_backup/model/kinds.py)
    run_time: str = ""  # the run's scheduled time, ISO 8601 UTC
    size_gb: int | None = None  # the snapshot's AllocatedStorage (GiB), as RDS reports it
    snapshot_id: str = ""
    source_arn: str = ""
    copy_arn: str = ""
    export_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()  # why a step failed, stalled, or never happened
    # With a vault account (docs/VAULT.md): "in the vault: account, region, copy id", or why
    # not yet; "" without a vault.
    vault: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "kind": self.kind,
            "run": self.run,
            "run_time": self.run_time,
            "age_hours": self.age_hours,
            "size_gb": self.size_gb,
            "snapshot_id": self.snapshot_id,
            "source": self.source,
            "source_arn": self.source_arn,
            "copy": self.copy,
            "copy_arn": self.copy_arn,
            "exports": self.exports,
            "export_tasks": self.export_tasks,
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            **({"vault": self.vault} if self.vault else {}),
        }


def recent_runs(
    settings: Settings,
    aws: Aws,
    now: datetime,
    days: int,
    databases: Sequence[str] = (),
    selection: Selection | None = None,
) -> list[RunRow]:
    """One row per run of the last ``days`` days, newest first. With ``selection`` (the
    databases the stack backs up), a selected database without a snapshot of a run that
    others have gets a row too: its run never got a snapshot."""
    view = full_view(settings, aws, STEP)
    places = _places(settings, view)
    wanted = {db.lower() for db in databases}
    rows = []
    requested: set[str] = set()
    for identifier in set(view.sources) | set(view.copies):
        source, copy = view.sources.get(identifier), view.copies.get(identifier)
        known = copy or source
        if known is not None and known.requested:
            requested.add(known.run)
        if known is None or (wanted and known.database.lower() not in wanted):
            continue
        age = now - run_time(known.run)
        if age > timedelta(days=days):
            continue

        def latest(region: str, arn: str, owned: tags.Owned = known) -> Any:
            tasks = (t for t in view.tasks.get(region, ()) if t.get("SourceArn") == arn)
            return pick_latest(tasks, region, arn, owned.identifier)

        run = assemble(settings, parse_snapshot_arn(known.arn), source, copy, latest)
        if run is not None:
            rows.append(_row(settings, view, run, places, age))
    if selection is not None:
        rows.extend(_missing(settings, now, rows, selection, wanted, requested))
    return sorted(rows, key=lambda r: (r.run, r.database), reverse=True)


def _row(
    settings: Settings,
    view: View,
    run: RunState,
    places: dict[tuple[Slot, str, str], str],
    age: timedelta,
) -> RunRow:
    identifier = run.snapshot_id.lower()
    late = age > timedelta(minutes=settings.reconcile_grace_minutes)
    reasons: list[str] = []
    copy = _copy_state(settings, view, run, places, late, reasons)
    exports: dict[str, str] = {}
    for region, attempt in run.exports.items():
        place = places.get((Slot.EXPORT, region, identifier))
        exports[region] = _export_state(region, attempt, place, view, late, reasons)
    if not run.exports:
        due = capacity.next_export_due(settings, run.database, run_time(run.run).date())
        exports[settings.target_region] = f"next {due.isoformat()}"
    if run.source is not None and run.source.status.lower() == FAILED:
        reasons.insert(0, f"snapshot failed in {settings.source_region} (status failed)")
    known = run.copy or run.source
    size = known.raw.get("AllocatedStorage") if known else None
    return RunRow(
        database=run.database,
        run=run.run,
        age_hours=round(age.total_seconds() / 3600, 1),
        source=run.source.status if run.source else "deleted",
        copy=copy,
        exports=exports,
        outcome=_outcome(run, reasons, exports),
        run_time=run_time(run.run).isoformat().replace("+00:00", "Z"),
        size_gb=size if isinstance(size, int) else None,
        snapshot_id=run.snapshot_id,
        source_arn=run.source.arn if run.source else run.source_arn,
        copy_arn=run.copy.arn if run.copy else run.copy_arn,
        export_tasks={
            region: _task(settings, region, attempt)
            for region, attempt in run.exports.items()
            if attempt is not None
        },
        reasons=tuple(reasons),
        vault=_vault_state(settings, run),
        kind=known.kind.value if known else "instance",
    )


def _vault_state(settings: Settings, run: RunState) -> str:
    """Where the vault keeps this run's copy (share_vault's tag on ours), or why not yet."""
    if not settings.vault_enabled:
        return ""
    recorded = run.copy.tags.get(tags.VAULT_COPY) if run.copy else None
    if recorded:
        parts = recorded.split(":")
        if len(parts) >= 7:
            return f"in the vault: account {parts[4]}, region {parts[3]}, copy {parts[-1]}"
    if run.copy is None or not run.copy.available:
        return "not in the vault: the copy is not available yet"
    return (
        "not in the vault yet: shared and waiting for the vault's copy, or refused (the "
        "failure email says why)"
    )


def _copy_state(
    settings: Settings,
    view: View,
    run: RunState,
    places: dict[tuple[Slot, str, str], str],
    late: bool,
    reasons: list[str],
) -> str:
    target = settings.target_region
    if run.copy is not None:
        status = run.copy.status.lower()
        if status == FAILED:
            reasons.append(f"copy failed in {target} (snapshot status failed)")
            return FAILED
        progress = run.copy.raw.get("PercentProgress")
        if status != "available" and isinstance(progress, int):
            return f"{status} {progress}%"
        return run.copy.status
    if run.source is not None and COPY_CANCELED in run.source.tags:
        reasons.append(
            f"copy canceled in {target} (RDS-EVENT-0061); re-drive it with rds-backup replay"
        )
        return "canceled"
    place = places.get((Slot.COPY, settings.source_region, run.snapshot_id.lower()))
    if place is None:
        return "-"
    if late and view.copies_in_flight < COPY_SLOTS:
        reasons.append(
            f"copy not started although {COPY_SLOTS - view.copies_in_flight} of {COPY_SLOTS} "
            "copy slots are free; the failure email names the cause"
        )
        return STALLED
    return place


def _export_state(
    region: str,
    attempt: ExportAttempt | None,
    place: str | None,
    view: View,
    late: bool,
    reasons: list[str],
) -> str:
    if attempt is not None:
        if attempt.failed:
            cause = attempt.task.get("FailureCause") or "no cause given by RDS"
            reasons.append(f"export {region} {attempt.status.lower()}: {cause}")
        return attempt.status
    if place is None:
        return "-"
    if late and view.exports_in_flight < EXPORT_SLOTS:
        reasons.append(
            f"export {region} not started although "
            f"{EXPORT_SLOTS - view.exports_in_flight} of {EXPORT_SLOTS} export slots are "
            "free; the failure email names the cause"
        )
        return STALLED
    return place


def _outcome(run: RunState, reasons: list[str], exports: dict[str, str]) -> str:
    if run.outcome is Outcome.FAILED or any(
        r.startswith(("copy failed", "copy canceled", "snapshot failed")) for r in reasons
    ):
        return Outcome.FAILED.value
    if run.outcome is Outcome.SUCCEEDED:
        return run.outcome.value
    return STALLED if reasons else run.outcome.value


def _task(settings: Settings, region: str, attempt: ExportAttempt) -> dict[str, Any]:
    task = attempt.task
    bucket = str(task.get("S3Bucket") or "")
    size = task.get("TotalExtractedDataInGB")
    return {
        "export_id": attempt.export_id,
        "status": attempt.status,
        "s3_uri": export_uri(bucket, str(task.get("S3Prefix") or ""), attempt.export_id)
        if bucket
        else "",
        "size_gb": size if isinstance(size, int) else None,
        "failure_cause": task.get("FailureCause"),
        "started": _iso(task.get("TaskStartTime")),
        "ended": _iso(task.get("TaskEndTime")),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _missing(
    settings: Settings,
    now: datetime,
    rows: Sequence[RunRow],
    selection: Selection,
    wanted: set[str],
    requested: set[str] | frozenset[str] = frozenset(),
) -> list[RunRow]:
    """A row for each selected (or unresolvable) database without a snapshot of a run
    that other databases have: the start never made one."""
    # A run an operator started for named databases holds only those: the others are not
    # missing from it (tags.REQUESTED on its snapshots).
    runs = {row.run for row in rows} - requested
    have = {(row.database.lower(), row.run) for row in rows}
    expected = [(item.identifier, item.reason, "") for item in selection.items] + [
        (p.identifier, "", f"{p.code}: {p.cause}") for p in selection.problems
    ]
    missing = []
    for run in runs:
        for database, why, problem in expected:
            if (database, run) in have or (wanted and database not in wanted):
                continue
            reason = problem or (
                f"no snapshot of this run ({why}): start_backup did not make one (the "
                "failure or quota email says why), or the database was selected later"
            )
            missing.append(
                RunRow(
                    database=database,
                    run=run,
                    age_hours=round((now - run_time(run)).total_seconds() / 3600, 1),
                    source="none",
                    copy="-",
                    exports={},
                    outcome=NO_SNAPSHOT,
                    run_time=run_time(run).isoformat().replace("+00:00", "Z"),
                    reasons=(reason,),
                )
            )
    return missing


def _places(settings: Settings, view: View) -> dict[tuple[Slot, str, str], str]:
    """(slot, region, snapshot id) → "waiting N/M" for every step waiting for a slot."""
    places = {}
    for waiting in (waiting_copies(settings, view), waiting_exports(settings, view)):
        for position, item in enumerate(waiting, start=1):
            key = (item.slot, item.region, item.snapshot.identifier.lower())
            places[key] = f"waiting {position}/{len(waiting)}"
    return places


def render(rows: Sequence[RunRow], settings: Settings, *, wide: bool = False) -> str:
    """The runs as a table (80 columns unless ``wide``), then each reason, wrapped."""
    if not rows:
        return "no runs in that window"
    text = _wide(rows, settings) if wide else _narrow(rows, settings)
    notes = [f"{row.database} {_when(row.run)}: {reason}" for row in rows for reason in row.reasons]
    clusters = sorted({row.database for row in rows if row.kind == "cluster"})
    if clusters and not wide:
        text += "\n\n" + textwrap.fill(
            "DB clusters (cluster snapshots): "
            + ", ".join(f"{name} (cluster)" for name in clusters),
            WIDTH,
        )
    if notes and not wide:
        wrapped = [
            textwrap.fill(note, WIDTH, initial_indent="  ", subsequent_indent="    ")
            for note in notes
        ]
        text += "\n\nWhy:\n" + "\n".join(wrapped)
    return text


def _narrow(rows: Sequence[RunRow], settings: Settings) -> str:
    header = ["DATABASE", "RUN (UTC)", "SIZE", "COPY", "EXPORT", "OUTCOME"]
    body = [
        [
            _fit(r.database, 14),
            _when(r.run),
            _size(r.size_gb),
            _fit(_short(r.copy), 12),
            _fit(_short(_worst(r.exports, settings)), 12),
            _fit(r.outcome, 11),
        ]
        for r in rows
    ]
    return table(header, body)


def _wide(rows: Sequence[RunRow], settings: Settings) -> str:
    header = [
        "DATABASE",
        "RUN (UTC)",
        "AGE",
        "SIZE",
        "SOURCE",
        "COPY",
        f"EXPORT {settings.target_region}",
        f"EXPORT {settings.source_region}",
        "OUTCOME",
        "SNAPSHOT",
        "WHY",
    ]
    body = [
        [
            r.database + (" (cluster)" if r.kind == "cluster" else ""),
            _when(r.run),
            f"{r.age_hours}h",
            _size(r.size_gb),
            r.source,
            r.copy,
            r.exports.get(settings.target_region, "-"),
            r.exports.get(settings.source_region, "n/a"),
            r.outcome,
            r.snapshot_id or "-",
            "; ".join(r.reasons) or "-",
        ]
        for r in rows
    ]
    return table(header, body)


def _worst(exports: dict[str, str], settings: Settings) -> str:
    """One export cell for both regions: the target's, unless the source's is worse."""
    target = exports.get(settings.target_region, "-")
    source = exports.get(settings.source_region)
    if source is None or source == target or source.upper() == "COMPLETE":
        return target
    return f"src {source}"


def _short(state: str) -> str:
    """A state in at most 12 characters: "waiting 12/20" as "wait 12/20", "next 11-28"."""
    if len(state) <= 12:
        return state
    if state.startswith("waiting "):
        return "wait " + state.removeprefix("waiting ")
    if state.startswith("next "):
        return "next " + state.removeprefix("next ")[5:]
    return state


def _when(run: str) -> str:
    return f"{run_time(run):%Y-%m-%d %H:%M}"


def _size(size_gb: int | None) -> str:
    """At most 5 characters: GiB as RDS reports them, TiB from 10,000 GiB."""
    if size_gb is None:
        return "-"
    return f"{size_gb}G" if size_gb < 10_000 else f"{size_gb // 1024}T"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *body]
    ]
    return "\n".join(line.rstrip() for line in lines)
