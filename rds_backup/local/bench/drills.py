"""A week of restore drills for a fleet (``rds-backup bench --drills``): the real handlers,
the rules from the generated CloudFormation, the local AWS in timed mode with its real
PostgreSQL (engine.py) behind every database.

100 databases (profile ``moderate``, sizes seeded per database) are backed up every night
at 03:00 (exports spread over nights as rds_backup/model/capacity.py recommends); the daily
drill schedule (09:00) restores the databases whose drill day has come
(rds_backup/model/drills.py spreads the fleet over DRILL_EVERY_DAYS=7), at most
DRILL_CONCURRENCY (2) at a time, inside the target region's default DB instances quota (40).
Each drill restores the newest available copy (restore time from the profile, growing with
the database's size), runs two SQL checks over the wire (the order count is at least the
seeded one; the newest order is at most a day older than the snapshot), deletes its
instance and sees it gone; notify tells each drill once.

Reported, from the drill results the chain wrote to S3 (rds_backup/state/drill_results.py)
and from the local AWS at the end:

- ``drilled_in_time``: databases with a passed drill within DRILL_EVERY_DAYS of the first
  drill day (target: all); ``failed``, ``never_drilled``;
- ``drill_instances_left`` (target 0), ``peak_drill_instances`` (≤ DRILL_CONCURRENCY) and
  ``peak_db_instances_target`` against the quota;
- ``instance_hours_per_week``: the drill instances' lifetimes (what the drills cost);
- ``rto_by_size``: restore seconds (median, max) per size band; ``rpo_hours`` median, max;
- ``drill_emails``: one per drill (exactly once).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from rds_backup.local import limits as local_limits
from rds_backup.local import profiles
from rds_backup.local.bench.common import quiet_handlers
from rds_backup.local.bench.fleet import SEED, START, databases, recommended_export_every_days
from rds_backup.local.clock import VirtualClock
from rds_backup.local.drill_demo import COUNT_SQL, NEWEST_SQL, deployed_settings
from rds_backup.local.engine import seeded_rows
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import ACCOUNT, WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.model import drills as drill_model
from rds_backup.model.drills import DrillResult, Outcome
from rds_backup.settings import Settings
from rds_backup.state import drill_results
from rds_backup.state.drill_results import FOLDER

DATABASES = 100
EVERY_DAYS = 7
PROFILE = "moderate"
SIZE_BANDS = ((0, 50), (50, 100), (100, 200), (200, 400), (400, 10**6))  # GiB, [low, high)
WALL_LIMIT = 3600.0
RPO_HOURS_MAX = 30  # the drills start at 09:00; the nights at 03:00


def drill_checks(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Two checks on every database (DRILL_CHECKS holds at most 50, so not one per
    database): at least as many orders as the smallest seeded database holds (a restore
    holds every row of its snapshot), and the newest order at most a day older than the
    snapshot."""
    fewest = min(seeded_rows(db) for db in names)
    return [
        {"name": "orders at least seeded", "sql": COUNT_SQL, "min": fewest},
        {"name": "newest order", "sql": NEWEST_SQL, "max_age_seconds": 86_400},
    ]


def drill_week(
    server: LocalServer | None = None, n: int = DATABASES, steady: bool = True
) -> dict[str, Any]:
    """One simulated week of nights and drills of ``n`` databases; the row's figures.

    ``steady``: the fleet was drilled last week as its rotation asks (each database's drill
    of the period before is on record, passed), so this week drills each database once, on
    its day. Without it the week is the first after deploying: on day one every database is
    due (none has a drill on record) and the fleet is drilled at once, DRILL_CONCURRENCY at a
    time, before the rotation takes over."""
    started_wall = time.monotonic()
    profile = profiles.get(PROFILE, seed=SEED)
    names = databases(n)
    hours = profile.medians["export"] / 60
    environment = {
        "EXPORT_EVERY_DAYS": str(recommended_export_every_days(names, hours)),
        "EXPORT_HOURS_ESTIMATE": f"{hours:.2f}",
        "DRILL_EVERY_DAYS": str(EVERY_DAYS),
        "DRILL_CHECKS": json.dumps(drill_checks(names)),
    }
    first_night = START.replace(hour=3, minute=0)
    end = first_night + timedelta(days=EVERY_DAYS, hours=20)  # the 8th drill day is over
    spec = WorldSpec(databases=names, engine=True, restore_network=True)
    peaks = {"drill_instances": 0, "db_instances_target": 0}
    with (
        quiet_handlers(),
        LocalAws(
            spec,
            server=server,
            clock=VirtualClock(START),
            profile=profile,
            environment=environment,
            schedules=("start_backup", "start_drill", "reconcile", "cleanup"),
        ) as local,
    ):
        local.set_quota(None, manual_snapshots=100_000)  # both regions: 8 nights of 100
        settings = deployed_settings(local)
        if steady:
            _last_weeks_drills(settings, local, names, first_night)
        rds = local.aws_for(ACCOUNT).rds(settings.target_region)
        prefix = f"{settings.snapshot_prefix}-drill-"

        def sample() -> None:
            found = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
            drills = sum(1 for name in found if name.startswith(prefix))
            peaks["drill_instances"] = max(peaks["drill_instances"], drills)
            peaks["db_instances_target"] = max(peaks["db_instances_target"], len(found))

        moment = START
        while moment < end:  # sample the target region every 10 virtual minutes
            moment += timedelta(minutes=10)
            local.run_until(moment, max_seconds=WALL_LIMIT)
            sample()
        local.auto_schedules = {"reconcile"}
        local.run_until_quiet(max_seconds=WALL_LIMIT)
        results = _results(settings, local)
        left = [
            i["DBInstanceIdentifier"]
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceIdentifier"].startswith(prefix)
        ]
        sent = local.inventory().emails
        emails = [m for m in sent if "drill" in m.subject.lower()]
        # the nights' own failures (a quota, a failed step) would make old copies the newest
        night_failures = sum(
            1
            for m in sent
            if m not in emails and (m.outcome == "failure" or "quota" in m.subject.lower())
        )
        quota = local_limits.quotas(settings.target_region).db_instances
    first_day = first_night.date()
    measured = [r for r in results if r.day >= first_day]  # not last week's, seeded
    return _row(names, profile, measured, left, emails, peaks, quota, settings) | {
        "week": "steady (last week's drills on record)" if steady else "first after deploying",
        "backup_failure_emails": night_failures,
        "wall_seconds": round(time.monotonic() - started_wall, 1),
    }


def _last_weeks_drills(
    settings: Settings, local: LocalAws, names: tuple[str, ...], first_night: datetime
) -> None:
    """Each database's drill of the period before the simulated week, as the chain writes
    it (passed, its instance deleted): who is due on the first day is the rotation's."""
    aws = local.aws_for(ACCOUNT)
    first_day = first_night.date()
    for name in names:
        day = drill_model.drill_day(settings, name, first_day)
        if day == first_day:
            day -= timedelta(days=settings.drill_every_days)
        started = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
        result = DrillResult(
            drill_id=drill_model.drill_id(settings.snapshot_prefix, name, day),
            database=name,
            day=day,
            snapshot_id=f"{settings.snapshot_prefix}-{name}-{day:%Y%m%d}-0300",
            snapshot_time=started - timedelta(hours=6),
            started=started,
            restored=started + timedelta(minutes=30),
            checked=started + timedelta(minutes=35),
            ended=started + timedelta(minutes=45),
            outcome=Outcome.PASSED,
            deleted=True,
        )
        drill_results.write_result(settings, aws, result, "bench")


def _results(settings: Settings, local: LocalAws) -> list[DrillResult]:
    s3 = local.aws_for(ACCOUNT).s3(settings.target_region)
    folder = f"{settings.export_s3_prefix}/{FOLDER}/"
    found: list[DrillResult] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.target_bucket, Prefix=folder
    ):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=settings.target_bucket, Key=item["Key"])["Body"].read()
            found.append(DrillResult.model_validate_json(body))
    return found


def _row(
    names: tuple[str, ...],
    profile: profiles.Profile,
    results: list[DrillResult],
    left: list[str],
    emails: list[Any],
    peaks: dict[str, int],
    quota: int,
    settings: Settings,
) -> dict[str, Any]:
    first_day = min((r.day for r in results), default=START.date())
    passed_by: dict[str, list[DrillResult]] = defaultdict(list)
    for result in results:
        if result.outcome is Outcome.PASSED:
            passed_by[result.database].append(result)
    in_time = {
        db for db, done in passed_by.items() if min(r.day for r in done) - first_day
        < timedelta(days=EVERY_DAYS)
    }  # fmt: skip
    bands: dict[str, list[float]] = defaultdict(list)
    for result in results:
        if result.restore_seconds is not None:
            gib = profile.size_gib(result.database)
            low, high = next(b for b in SIZE_BANDS if b[0] <= gib < b[1])
            label = f"{low}-{high} GiB" if high < 10**6 else f">={low} GiB"
            bands[label].append(result.restore_seconds)
    rpo = [r.rpo_seconds / 3600 for r in results if r.rpo_seconds is not None]
    return {
        "databases": len(names),
        "profile": profile.name,
        "drill_every_days": EVERY_DAYS,
        "drill_concurrency": settings.drill_concurrency,
        "days_simulated": EVERY_DAYS + 1,
        "drills": len(results),
        "passed": sum(1 for r in results if r.outcome is Outcome.PASSED),
        "failed": sum(1 for r in results if r.outcome is Outcome.FAILED),
        "drilled_in_time": len(in_time),
        # how many days after its drill day a drill started (a drill that waited for a slot)
        "max_days_late": max(((r.started.date() - r.day).days for r in results), default=0),
        "never_drilled": sum(1 for db in names if db not in passed_by),
        "drill_instances_left": len(left),
        "peak_drill_instances": peaks["drill_instances"],
        "peak_db_instances_target": peaks["db_instances_target"],
        "db_instances_quota_target": quota,
        "instance_hours_per_week": round(
            sum(r.instance_hours for r in results if r.day - first_day < timedelta(EVERY_DAYS)),
            1,
        ),
        "rto_by_size": {
            label: {
                "drills": len(values),
                "median_minutes": round(statistics.median(values) / 60, 1),
                "max_minutes": round(max(values) / 60, 1),
            }
            for label, values in sorted(bands.items(), key=lambda kv: _band_low(kv[0]))
        },
        "rpo_hours": {
            "median": round(statistics.median(rpo), 2) if rpo else None,
            "max": round(max(rpo), 2) if rpo else None,
        },
        "drill_emails": len(emails),
        "failures": [
            {"database": r.database, "day": r.day.isoformat(), "step": r.step, "code": r.code,
             "reason": r.reason[:160]}
            for r in results if r.outcome is Outcome.FAILED
        ],
        "oldest_copies": [
            {"database": r.database, "day": r.day.isoformat(), "snapshot": r.snapshot_id,
             "rpo_hours": round((r.rpo_seconds or 0) / 3600, 1)}
            for r in sorted(results, key=lambda r: -(r.rpo_seconds or 0))[:3]
        ],
    }  # fmt: skip


def _band_low(label: str) -> int:
    return int(label.lstrip(">=").split("-")[0].split(" ")[0])


def targets(row: dict[str, Any]) -> list[dict[str, Any]]:
    """What a user relies on: every database drilled in its period, nothing left running,
    the drill slots and the quota respected, each drill told once."""
    n = row["databases"]
    return [
        _target("drilled_in_time", row["drilled_in_time"], f"== {n}", row["drilled_in_time"] == n),
        _target("drill_instances_left", row["drill_instances_left"], "== 0",
                row["drill_instances_left"] == 0),
        _target("peak_drill_instances", row["peak_drill_instances"],
                f"<= {row['drill_concurrency']}",
                row["peak_drill_instances"] <= row["drill_concurrency"]),
        _target("peak_db_instances_target", row["peak_db_instances_target"],
                f"<= {row['db_instances_quota_target']}",
                row["peak_db_instances_target"] <= row["db_instances_quota_target"]),
        _target("drill_emails", row["drill_emails"], f"== {row['drills']}",
                row["drill_emails"] == row["drills"]),
        # a drill restores last night's copy, or the night before's while tonight's copy is
        # not yet available: a week-old RPO means the nights stopped making copies
        _target("rpo_hours_max", row["rpo_hours"]["max"], f"<= {RPO_HOURS_MAX}",
                (row["rpo_hours"]["max"] or 0) <= RPO_HOURS_MAX),
    ]  # fmt: skip


def _target(name: str, value: Any, target: str, passed: bool) -> dict[str, Any]:
    return {"name": name, "value": value, "target": target, "passed": passed}


def run_drills(n: int = DATABASES) -> dict[str, Any]:
    server = LocalServer()
    server.dispatch_in_process()  # no socket per AWS call (local/direct.py), as --fleet
    try:
        row = drill_week(server, n=n)
    finally:
        server.stop()
    checks = targets(row)
    return {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "row": row,
        "targets": checks,
        "passed": all(t["passed"] for t in checks),
    }


def render_drills(result: dict[str, Any]) -> str:
    row = result["row"]
    lines = [
        f"Restore drills: {row['databases']} databases over {row['drill_every_days']} days "
        f"({row['profile']}), {row['drill_concurrency']} at a time",
        f"  drills {row['drills']}: passed {row['passed']}, failed {row['failed']}; "
        f"drilled in time {row['drilled_in_time']}/{row['databases']}",
        f"  drill instances left {row['drill_instances_left']}; peak "
        f"{row['peak_drill_instances']} at once, {row['peak_db_instances_target']} of "
        f"{row['db_instances_quota_target']} DB instances in the target region",
        f"  instance-hours per week {row['instance_hours_per_week']}; RPO median "
        f"{row['rpo_hours']['median']} h, max {row['rpo_hours']['max']} h",
        "  RTO by size (restore to available):",
        *(
            f"    {band:>12}: {v['drills']:3d} drills, median {v['median_minutes']} min, "
            f"max {v['max_minutes']} min"
            for band, v in row["rto_by_size"].items()
        ),
        f"  emails {row['drill_emails']}; wall {row['wall_seconds']} s",
        *(
            f"  {'pass' if t['passed'] else 'FAIL'} {t['name']}: {t['value']} ({t['target']})"
            for t in result["targets"]
        ),
    ]
    return "\n".join(lines)
