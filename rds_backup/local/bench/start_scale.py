"""start_backup for 200 databases: API calls and our time (in-process moto, same method as
``cleanup_scale``: handler wall time minus time inside botocore/moto)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rds_backup.local.bench.common import BotocoreTime, quiet_handlers
from rds_backup.local.bench.inprocess import create_databases, moto_in_process, settings_for
from rds_backup.steps.start_backup import start_backup


def measure(count: int) -> dict[str, Any]:
    databases = [f"app{n:03d}" for n in range(count)]
    settings = settings_for(databases)
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    with moto_in_process() as aws:
        create_databases(aws, databases)
        aws.rds(settings.source_region)  # the client exists in a warm container
        timer = BotocoreTime()
        with quiet_handlers(), timer.patched():
            started = time.perf_counter()
            result = start_backup(settings, aws, when)
            total = time.perf_counter() - started
    ours = total - timer.seconds
    return {
        "method": "in-process moto; our time = wall time minus time inside botocore/moto",
        "databases": count,
        "snapshots_created": len(result.created),
        "api_calls_by_operation": dict(sorted(timer.calls.items())),
        "api_calls_total": sum(timer.calls.values()),
        "handler_wall_s": round(total, 3),
        "inside_botocore_and_moto_s": round(timer.seconds, 3),
        "our_time_ms": round(ours * 1000, 1),
        "our_ms_per_database": round(ours * 1000 / count, 3),
    }
