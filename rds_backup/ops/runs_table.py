"""Recent runs per database, each step's state and age, waiting steps with their place in
the queue, and the next export night (EXPORT_EVERY_DAYS): what ``status`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rds_backup import capacity, tags
from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.exports import pick_latest
from rds_backup.limits import Kind, View, read_view, waiting_copies, waiting_exports
from rds_backup.naming import run_time
from rds_backup.runs import assemble
from rds_backup.settings import Settings

STEP = "status"


@dataclass(frozen=True)
class RunRow:
    database: str
    run: str
    age_hours: float
    source: str
    copy: str
    exports: dict[str, str]  # region → status of the latest attempt ("-" not started)
    outcome: str
    kind: str = "instance"  # or "cluster" (a DB cluster snapshot: rds_backup/kinds.py)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "kind": self.kind,
            "run": self.run,
            "age_hours": self.age_hours,
            "source": self.source,
            "copy": self.copy,
            "exports": self.exports,
            "outcome": self.outcome,
        }


def recent_runs(
    settings: Settings, aws: Aws, now: datetime, days: int, databases: Sequence[str] = ()
) -> list[RunRow]:
    """One row per run of the last ``days`` days, newest first. A step waiting for a slot
    (rds_backup/limits.py) shows as ``waiting N/M``: its place in the queue."""
    view = read_view(settings, aws, STEP)
    places = _places(settings, view)
    wanted = {db.lower() for db in databases}
    rows = []
    for identifier in set(view.sources) | set(view.copies):
        source, copy = view.sources.get(identifier), view.copies.get(identifier)
        known = copy or source
        if known is None or (wanted and known.database.lower() not in wanted):
            continue
        age = now - run_time(known.run)
        if age > timedelta(days=days):
            continue

        def latest(region: str, arn: str, owned: tags.Owned = known) -> Any:
            tasks = (t for t in view.tasks.get(region, ()) if t.get("SourceArn") == arn)
            return pick_latest(tasks, region, arn, owned.identifier)

        run = assemble(settings, parse_snapshot_arn(known.arn), source, copy, latest)
        if run is None:
            continue
        exports = {
            region: attempt.status
            if attempt
            else places.get((Kind.EXPORT, region, identifier), "-")
            for region, attempt in run.exports.items()
        }
        if not run.exports:
            due = capacity.next_export_due(settings, run.database, run_time(run.run).date())
            exports[settings.target_region] = f"next {due.isoformat()}"
        rows.append(
            RunRow(
                database=run.database,
                run=run.run,
                age_hours=round(age.total_seconds() / 3600, 1),
                source=source.status if source else "deleted",
                copy=copy.status
                if copy
                else places.get((Kind.COPY, settings.source_region, identifier), "-"),
                exports=exports,
                outcome=run.outcome.value,
                kind=known.kind.value,
            )
        )
    return sorted(rows, key=lambda r: (r.run, r.database), reverse=True)


def _places(settings: Settings, view: View) -> dict[tuple[Kind, str, str], str]:
    """(kind, region, snapshot id) → "waiting N/M" for every step waiting for a slot."""
    places = {}
    for waiting in (waiting_copies(settings, view), waiting_exports(settings, view)):
        for position, item in enumerate(waiting, start=1):
            key = (item.kind, item.region, item.snapshot.identifier.lower())
            places[key] = f"waiting {position}/{len(waiting)}"
    return places


def render(rows: Sequence[RunRow], settings: Settings) -> str:
    header = [
        "DATABASE",
        "RUN",
        "AGE",
        "SOURCE",
        "COPY",
        f"EXPORT {settings.target_region}",
        f"EXPORT {settings.source_region}",
        "OUTCOME",
    ]
    body = [
        [
            r.database + (" (cluster)" if r.kind == "cluster" else ""),
            r.run,
            f"{r.age_hours}h",
            r.source,
            r.copy,
            r.exports.get(settings.target_region, "-"),
            r.exports.get(settings.source_region, "n/a"),
            r.outcome,
        ]
        for r in rows
    ]
    return table(header, body) if body else "no runs in that window"


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *body]
    ]
    return "\n".join(line.rstrip() for line in lines)
