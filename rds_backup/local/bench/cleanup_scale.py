"""cleanup at scale: 10,000 snapshots of ours and 1,000 foreign ones across two regions.

Method: in-process moto with the snapshots put straight into moto's RDS backends (20
databases, one snapshot a day each, a source in the source region and its copy in the
target region; foreign manual snapshots, half of them named with our prefix but tagged by
another stack). Then ``plan_cleanup`` + ``apply_cleanup`` run as the handler runs them.
Every boto3 call goes through ``BaseClient._make_api_call``, which is timed (serialising,
moto answering in-process, parsing the answer); our time = handler wall time - that time.
moto answers every describe in one page (it ignores paging); real RDS answers 100 a page
(the page size we ask for), so the AWS page count is also given. DeleteDBSnapshot is
answered by removing the snapshot from moto's backend directly (moto's XML answer costs ~9
ms a call here, 85 s for the full run): still counted, and excluded from our time anyway.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rds_backup.local.bench.common import BotocoreTime, quiet_handlers
from rds_backup.local.bench.inprocess import (
    SOURCE,
    TARGET,
    create_databases,
    delete_in_backend,
    inject_snapshot,
    moto_in_process,
    settings_for,
)
from rds_backup.model import tags
from rds_backup.model.naming import run_id, snapshot_id
from rds_backup.steps.cleanup import apply_cleanup, plan_cleanup

DATABASES = 20
PAGE_SIZE = 100  # what rds_backup.state.inventory asks DescribeDBSnapshots for


def measure(ours: int, foreign: int) -> dict[str, Any]:
    databases = [f"db{n:02d}" for n in range(DATABASES)]
    runs = max(1, ours // (2 * DATABASES))
    settings = settings_for(databases)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    per_region = {SOURCE: 0, TARGET: 0}
    with moto_in_process() as aws:
        create_databases(aws, databases)
        seeded = time.perf_counter()
        for day in range(runs):
            when = (now - timedelta(days=day)).replace(hour=2, minute=0)
            run = run_id(when)
            for database in databases:
                identifier = snapshot_id(settings.snapshot_prefix, database, run)
                for region, role in ((SOURCE, tags.Role.SOURCE), (TARGET, tags.Role.COPY)):
                    tag_map = tags.ours(settings, database, run, role, "target")
                    inject_snapshot(region, database, identifier, when, tag_map)
                    per_region[region] += 1
        for n in range(foreign):
            region = SOURCE if n % 2 == 0 else TARGET
            database = databases[n % DATABASES]
            created = now - timedelta(days=n % 400 + 1)
            if n % 4 < 2:
                inject_snapshot(region, database, f"manual-{database}-{n}", created, {"team": "x"})
            else:  # our prefix, another stack's tags: must not be touched either
                other = {"rds-backup:stack": "other-stack", "rds-backup:role": "copy"}
                inject_snapshot(
                    region, database, f"{settings.snapshot_prefix}-{database}-x{n}", created, other
                )
            per_region[region] += 1
        seeding_s = time.perf_counter() - seeded
        timer = BotocoreTime({"DeleteDBSnapshot": delete_in_backend})
        with quiet_handlers(), timer.patched():
            started = time.perf_counter()
            plan = plan_cleanup(settings, aws, now)
            planned = time.perf_counter()
            plan_botocore = timer.seconds
            result = apply_cleanup(plan, settings, aws)
            finished = time.perf_counter()
    total = finished - started
    ours_s = total - timer.seconds
    plan_ours = (planned - started) - plan_botocore
    apply_ours = ours_s - plan_ours
    seen = len(plan.decisions)
    foreign_touched = [d for d in plan.deletions if d.snapshot.database is None]
    pages = {region: math.ceil(count / PAGE_SIZE) for region, count in per_region.items()}
    per_snapshot_ms = ours_s * 1000 / seen if seen else 0.0
    return {
        "method": (
            "in-process moto, snapshots injected into moto's backends; our time = handler "
            "wall time minus the wall time inside botocore's _make_api_call (which includes "
            "moto's own work); per snapshot = our time / snapshots listed"
        ),
        "snapshots_ours": runs * DATABASES * 2,
        "snapshots_foreign": foreign,
        "snapshots_listed": seen,
        "deleted": len(result.deleted),
        "kept": result.kept,
        "foreign_deleted": len(foreign_touched),
        "api_calls_by_operation": dict(sorted(timer.calls.items())),
        "list_tags_for_resource_calls": timer.calls.get("RDS:ListTagsForResource", 0),
        "describe_db_snapshots_pages_on_aws": sum(pages.values()),
        "describe_db_snapshots_pages_on_aws_by_region": pages,
        "handler_wall_s": round(total, 2),
        "inside_botocore_and_moto_s": round(timer.seconds, 2),
        "our_time_s": round(ours_s, 3),
        "our_time_plan_s": round(plan_ours, 3),
        "our_time_apply_s": round(apply_ours, 3),
        "our_ms_per_snapshot": round(per_snapshot_ms, 4),
        "our_ms_per_deletion_apply": round(apply_ours * 1000 / max(1, len(result.deleted)), 4),
        "seeding_s": round(seeding_s, 2),
    }
