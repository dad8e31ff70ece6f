"""Recent runs per database, each step's state and age: what ``status`` prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rds_backup import tags
from rds_backup.arns import parse_snapshot_arn
from rds_backup.aws import Aws
from rds_backup.exports import pick_latest
from rds_backup.inventory import export_tasks, owned_snapshots
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
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
    """One row per run of the last ``days`` days, newest first."""
    snapshots: dict[str, dict[tags.Role, tags.Owned]] = defaultdict(dict)
    for region in (settings.source_region, settings.target_region):
        for owned in owned_snapshots(settings, aws, region, STEP):
            snapshots[owned.identifier][owned.role] = owned
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for region in (settings.source_region, settings.target_region):
        by_arn: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for task in export_tasks(aws, region, STEP):
            by_arn[str(task.get("SourceArn", ""))].append(task)
        grouped[region] = by_arn
    rows = []
    for identifier, roles in snapshots.items():
        source, copy = roles.get(tags.Role.SOURCE), roles.get(tags.Role.COPY)
        known = copy or source
        if known is None or (databases and known.database not in databases):
            continue
        age = now - run_time(known.run)
        if age > timedelta(days=days):
            continue

        def latest(region: str, arn: str, identifier: str = identifier) -> Any:
            return pick_latest(grouped[region].get(arn, ()), region, arn, identifier)

        run = assemble(settings, parse_snapshot_arn(known.arn), source, copy, latest)
        if run is None:
            continue
        rows.append(
            RunRow(
                database=run.database,
                run=run.run,
                age_hours=round(age.total_seconds() / 3600, 1),
                source=source.status if source else "deleted",
                copy=copy.status if copy else "-",
                exports={r: (a.status if a else "-") for r, a in run.exports.items()},
                outcome=run.outcome.value,
            )
        )
    return sorted(rows, key=lambda r: (r.run, r.database), reverse=True)


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
            r.database,
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
