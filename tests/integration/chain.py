"""Drive the chain by hand on in-process moto: each step's handler with its RDS event."""

from __future__ import annotations

from typing import Any

from events import load_sample
from handlers import copy_snapshot, export_snapshot, start_backup
from rds_backup.local.context import LocalContext
from tests.support import rds_event

CONTEXT = LocalContext()


def snapshot_and_copy() -> None:
    start_backup.handler(load_sample("scheduled"), CONTEXT)
    copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), CONTEXT)


def through_export(**extra: Any) -> dict[str, Any]:
    snapshot_and_copy()
    return export_snapshot.handler(rds_event("RDS-EVENT-0060", "us-west-2", **extra), CONTEXT)
