"""A lived-in account for the fleet benchmark: what a real account holds at 03:00 after
weeks of use, seeded straight into moto's RDS (no events, no API calls: the night's calls
are the chain's own).

- our history: ``nights`` earlier nightly runs of every database, each with its copy in the
  target region (tagged ours, available) and a COMPLETE export task in both regions (the
  source's, from when its source snapshot was exported, and the copy's), with the times and
  data size the duration profile gives that run;
- RDS's automated snapshots: ``automated_days`` per database (RDS keeps one a day for the
  backup retention period; ``DescribeDBSnapshots`` without ``SnapshotType`` returns them);
- other teams: ``foreign_databases`` DB instances with ``foreign_snapshots`` manual
  snapshots spread over both regions and ``foreign_exports`` export tasks of theirs.

    local = LocalAws(spec, clock=..., profile=..., throttle=Throttle(background=6.0))
    with local:
        seed_history(local, LivedIn())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.rds.models import DBSnapshot, ExportTask, rds_backends

from rds_backup.aws import Aws
from rds_backup.local.bench.common import quiet_handlers
from rds_backup.local.clock import VirtualClock
from rds_backup.local.harness import LocalAws
from rds_backup.local.profiles import get as get_profile
from rds_backup.local.seed import WorldSpec, create_database
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT
from rds_backup.local.throttle import Throttle
from rds_backup.model import tags
from rds_backup.model.naming import export_id, run_id, snapshot_id
from rds_backup.settings import parse_settings


@dataclass(frozen=True)
class LivedIn:
    nights: int = 15  # earlier nightly runs of ours, one a day before tonight
    automated_days: int = 7  # automated snapshots per database
    foreign_databases: int = 10
    foreign_snapshots: int = 400  # manual snapshots of other teams, both regions together
    foreign_exports: int = 200  # export tasks of other teams, both regions together


def seed_history(local: LocalAws, lived: LivedIn, tonight: datetime) -> dict[str, int]:
    """Seed ``lived`` into ``local`` (started, timed) before the run at ``tonight``; return
    what was seeded, by kind."""
    settings = parse_settings(local.environment)
    assert local.profile is not None, "a lived-in account needs timed mode (a profile)"
    profile = local.profile
    source, target = local.regions
    backends = {region: rds_backends[ACCOUNT][region] for region in (source, target)}
    seeded = {"copies": 0, "export_tasks": 0, "automated": 0, "foreign_snapshots": 0}
    for name in local.spec.databases:
        database = backends[source].databases[name]
        for day in range(1, lived.automated_days + 1):
            when = tonight - timedelta(days=day, hours=-1)
            identifier = f"rds:{name}-{when:%Y-%m-%d-%H-%M}"
            _snapshot(backends[source], database, identifier, when, "automated")
            seeded["automated"] += 1
        for night in range(1, lived.nights + 1):
            run = run_id(tonight - timedelta(days=night))
            identifier = snapshot_id(settings.snapshot_prefix, name, run)
            made = tonight - timedelta(days=night)
            mark = tags.as_list(tags.ours(settings, name, run, tags.Role.COPY, "target"))
            copy = _snapshot(backends[target], database, identifier, made, "manual", mark)
            copy.local_copy_source_region = source
            seeded["copies"] += 1
            for region in (source, target):
                arn = f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:{identifier}"
                hours = profile.duration("export", identifier, region, name)
                started = made + timedelta(hours=1)
                _export(backends[region], copy, export_id(identifier, region), arn,
                        started, started + hours, settings.target_bucket)  # fmt: skip
                seeded["export_tasks"] += 1
    aws = Aws()
    foreign = [f"team{index:02d}-app" for index in range(lived.foreign_databases)]
    for name in foreign:
        create_database(aws, source, name)
    regions = (source, target)
    for index in range(lived.foreign_snapshots):
        name = foreign[index % len(foreign)]
        region = regions[index % 2]
        when = tonight - timedelta(hours=5 * index + 7)
        database = backends[source].databases[name]
        snap = _snapshot(backends[region], database, f"{name}-manual-{index:04d}", when, "manual",
                         [{"Key": "team", "Value": name}])  # fmt: skip
        seeded["foreign_snapshots"] += 1
        if index < lived.foreign_exports:
            started = when + timedelta(minutes=30)
            _export(backends[region], snap, f"{name}-export-{index:04d}", snap.arn,
                    started, started + timedelta(hours=2), "other-team-bucket")  # fmt: skip
            seeded["export_tasks"] += 1
    return seeded


def _snapshot(
    backend: Any,
    database: Any,
    identifier: str,
    when: datetime,
    kind: str,
    tag_list: list[Any] | None = None,
) -> Any:
    snapshot = DBSnapshot(backend, database, identifier, kind, tags=tag_list)
    snapshot.created = when.replace(tzinfo=None)  # moto keeps naive UTC
    snapshot.original_snapshot_create_time = snapshot.created
    backend.database_snapshots[identifier] = snapshot
    return snapshot


def _export(
    backend: Any,
    snapshot: Any,
    identifier: str,
    arn: str,
    started: datetime,
    ended: datetime,
    bucket: str,
) -> None:
    task: Any = ExportTask(
        backend,
        snapshot,
        {
            "export_task_identifier": identifier,
            "source_arn": arn,
            "s3_bucket_name": bucket,
            "iam_role_arn": f"arn:aws:iam::{ACCOUNT}:role/export",
        },
    )
    task.status = "COMPLETE"
    task.task_start_time = started.replace(tzinfo=None)
    task.task_end_time = ended.replace(tzinfo=None)
    task.percent_progress = 100
    task.total_extracted_data_in_gb = max(1, round(snapshot.allocated_storage * 0.35))
    task.created_at = task.task_start_time
    backend.export_tasks[identifier] = task


BACKGROUND = 6.0  # requests/s of other tools in the 200-database row (issue 26)


def lived_row(server: LocalServer, n: int, background: float = 0.0) -> dict[str, Any]:
    """One night of ``n`` databases on a lived-in account (:class:`LivedIn`), RDS's API
    throttled as on AWS with ``background`` requests/s of other tools: RDS calls per
    database, peak calls per second per region, calls refused, handler failures, and the
    share of the bucket left to others in our busiest minute."""
    from rds_backup.local.bench import fleet

    profile = get_profile("moderate", seed=fleet.SEED)
    names = fleet.databases(n)
    schedule = fleet.START.replace(hour=3, minute=0)
    run = run_id(schedule)
    throttle = Throttle(background=background)
    local = LocalAws(
        WorldSpec(databases=names),
        server=server,
        clock=VirtualClock(fleet.START),
        profile=profile,
        throttle=throttle,
    )
    with quiet_handlers(), local:
        local.set_quota(None, manual_snapshots=fleet.RAISED_QUOTA)
        seeded = seed_history(local, LivedIn(), schedule)
        local.auto_schedules = {"reconcile", "cleanup"}
        local.run_until(schedule - timedelta(minutes=1))
        local.fire_schedule(schedule)
        local.run_until_quiet(max_seconds=fleet.WALL_LIMIT)
        row = fleet.outcome(local, names, run, schedule, exports_expected=True)
        rds = sum(v for k, v in local.timeline.api_calls.items() if k.startswith("RDS:"))
        by_handler: dict[str, int] = {}
        for (label, operation), calls in local.timeline.api_calls_by_handler.items():
            if operation.startswith("RDS:"):
                by_handler[label] = by_handler.get(label, 0) + calls
        entries = local.timeline.entries
    regions = local.regions
    row.update(
        profile="moderate",
        databases=n,
        lived_in=seeded,
        background_requests_per_second=background,
        rds_calls_per_database=round(rds / n, 1),
        # where they go: each handler on each event, most first
        rds_calls_by_handler=dict(sorted(by_handler.items(), key=lambda kv: -kv[1])),
        peak_rds_calls_per_second={r: throttle.peak_per_second(r) for r in regions},
        throttled_calls=sum(throttle.refused.values()),
        handler_failures=sum(1 for e in entries if e.kind == "invoke" and not e.ok),
        retries_exhausted=sum(1 for e in entries if e.kind == "failure"),
        bucket_left_to_others={r: throttle.share_left(r) for r in regions},
    )
    return row
