"""``rds-backup demo --drill``: a night and then a restore drill of every database, end to
end on the local AWS with its real PostgreSQL (engine.py), on the virtual clock.

The night snapshots, copies and exports each database; two hours later more orders are
written to the sources (after the snapshots: a restore must not have them). At the drill
schedule, start_drill restores each database's newest available copy in the target region
into a drill instance, check_drill follows it (RDS events and one-time checks), sets its
RDS-managed password, asks the probe (probe_drill, invoked synchronously) to run the SQL
checks over the wire, deletes it and sees it gone; notify emails each drill once. The
summary's ``drills`` list is read back from the drill results the chain wrote to S3, and
each SQL value is set beside the source's value at snapshot time, read from the engine.

``--fail-drill``: the first database's check asks for more orders than it holds, so its
drill fails at its checks (and is still deleted) with one failure notice.
"""

from __future__ import annotations

import io
import json
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from rds_backup.aws import patched_environ
from rds_backup.local import profiles
from rds_backup.local.clock import VirtualClock
from rds_backup.local.demo import OUTPUT, _handler_output_to
from rds_backup.local.engine import seeded_rows
from rds_backup.local.harness import LocalAws, TemplateLoader, package_templates
from rds_backup.local.inventory import write_emails
from rds_backup.local.seed import ACCOUNT, WorldSpec
from rds_backup.settings import Settings, load_settings
from rds_backup.state import drill_results

ORDERS_AFTER_SNAPSHOT = 25  # written to each source after its snapshot
COUNT_SQL = "SELECT count(*) FROM orders"
NEWEST_SQL = "SELECT max(created_at) FROM orders"
FAILING_MIN = 1_000_000


@dataclass(frozen=True)
class DrillDemoOptions:
    databases: tuple[str, ...] = ("orders", "billing")
    fail_drill: bool = False
    quiet: bool = False
    output: Path = OUTPUT
    templates: TemplateLoader = package_templates


def drill_checks(databases: tuple[str, ...], fail_drill: bool) -> list[dict[str, Any]]:
    """DRILL_CHECKS: each database's order count must equal its count at snapshot time
    (the seeded rows: the ones written later must be absent), its newest order at most a
    day older than the snapshot; with ``fail_drill`` the first asks for a million orders."""
    checks: list[dict[str, Any]] = [
        {"name": "orders at snapshot", "sql": COUNT_SQL, "databases": [db], "equals": n}
        for db in databases
        for n in [seeded_rows(db)]
    ]
    checks.append({"name": "newest order", "sql": NEWEST_SQL, "max_age_seconds": 86_400})
    if fail_drill:
        checks.append(
            {
                "name": "orders at least a million",
                "sql": COUNT_SQL,
                "databases": [databases[0]],
                "min": FAILING_MIN,
            }
        )
    return checks


def run_drill_demo(options: DrillDemoOptions = DrillDemoOptions()) -> dict[str, Any]:
    started = time.monotonic()
    out: IO[str] = io.StringIO() if options.quiet else sys.stdout
    today = datetime.now(UTC).replace(hour=2, minute=50, second=0, microsecond=0)
    clock = VirtualClock(today)
    spec = WorldSpec(databases=options.databases, engine=True, restore_network=True)
    environment = {
        "DRILL_EVERY_DAYS": "1",  # every database is due today
        "DRILL_CHECKS": json.dumps(drill_checks(options.databases, options.fail_drill)),
    }
    log_path = options.output / "logs" / "lambda-drill.jsonl"
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with (
        _handler_output_to(log_path),
        LocalAws(
            spec,
            templates=options.templates,
            environment=environment,
            clock=clock,
            profile=profiles.get("moderate", seed=7),
            schedules=("start_backup", "start_drill", "reconcile"),
        ) as local,
    ):
        assert local.engine is not None
        sources = {db: (ACCOUNT, spec.source_region, db.lower()) for db in options.databases}
        counts_at_snapshot = {db: seeded_rows(db) for db in options.databases}
        engine = local.engine

        def write_orders() -> None:
            for key in sources.values():
                engine.insert_rows(key, ORDERS_AFTER_SNAPSHOT)

        clock.call_at(
            today + timedelta(hours=2, minutes=10),
            write_orders,
            label="orders written after the snapshots",
        )
        local.run_until(today + timedelta(hours=12))
        settings = deployed_settings(local)
        drills = [_drill(settings, local, db, counts_at_snapshot[db]) for db in options.databases]
        now_counts = {db: local.engine.count(k, COUNT_SQL) for db, k in sources.items()}
        left = _drill_instances(local, settings)
        inventory = local.inventory()
        emails = write_emails(inventory.emails, options.output / "emails-drill")
        drill_emails = [
            {"subject": m.subject, "file": str(p)}
            for m, p in zip(inventory.emails, emails, strict=True)
            if "drill" in m.subject.lower()
        ]
    summary: dict[str, Any] = {
        "drills": drills,
        "drill_instances_left": left,
        "source_orders_now": now_counts,
        "drill_emails": drill_emails,
        "failure_notices": [e for e in drill_emails if "fail" in e["subject"].lower()],
        "wall_seconds": round(time.monotonic() - started, 2),
        "virtual_hours": 12,
        "handler_logs": str(log_path),
    }
    _print(summary, out)
    return summary


def deployed_settings(local: LocalAws) -> Settings:
    function = next(iter(local.main.functions.values()))
    with patched_environ({**function.environment, **local.environment}):
        load_settings.cache_clear()
        try:
            return load_settings()
        finally:
            load_settings.cache_clear()


def _drill(settings: Settings, local: LocalAws, database: str, at_snapshot: int) -> dict[str, Any]:
    with patched_environ(local.server.environment):
        result = drill_results.latest_result(settings, local.aws_for(ACCOUNT), database, "demo")
    if result is None:
        return {"database": database, "outcome": "none", "reason": "no drill result was written"}
    summary = result.summary()
    for check in summary["checks"]:
        if check["name"] == "orders at snapshot":
            check["source_value_at_snapshot"] = at_snapshot
    return summary


def _drill_instances(local: LocalAws, settings: Settings) -> list[str]:
    rds = local.aws_for(ACCOUNT).rds(settings.target_region)
    found = rds.describe_db_instances()["DBInstances"]
    prefix = f"{settings.snapshot_prefix}-drill-"
    return [
        i["DBInstanceIdentifier"] for i in found if i["DBInstanceIdentifier"].startswith(prefix)
    ]


def _print(summary: dict[str, Any], out: IO[str]) -> None:
    print("Restore drills (a night, then a drill of each database; virtual clock)", file=out)
    for drill in summary["drills"]:
        restore = drill.get("restore_seconds") or 0
        rpo = drill.get("rpo_seconds") or 0
        print(
            f"  {drill['database']}: {drill['outcome']}, restored in {restore / 60:.0f} min, "
            f"RPO {rpo / 3600:.1f} h, deleted: {drill.get('deleted')}",
            file=out,
        )
        for check in drill.get("checks", []):
            mark = "ok " if check["passed"] else "FAIL"
            print(f"    {mark} {check['name']}: {check['value']}", file=out)
        if drill["outcome"] == "failed":
            print(f"    why: {drill.get('reason', '')}"[:80], file=out)
    print(f"  drill instances left: {len(summary['drill_instances_left'])}", file=out)
    for email in summary["drill_emails"]:
        print(f"  email: {email['subject'][:60]} -> {email['file']}", file=out)
    print(f"  wall time {summary['wall_seconds']} s", file=out)
