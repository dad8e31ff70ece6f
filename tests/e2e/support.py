"""What the end-to-end tests assert on: the chain's results as AWS holds them."""

from __future__ import annotations

from rds_backup.local.harness import LocalAws
from rds_backup.local.inventory import Export, Inventory, SentEmail, Snapshot
from rds_backup.naming import snapshot_id

PREFIX = "rds-backup"


def run_nightly(local: LocalAws) -> str:
    """Fire the nightly schedule and run the chain until it is quiet; return the run id."""
    when = local.fire_schedule()
    local.run_until_quiet()
    return when.strftime("%Y%m%d-%H%M")


def snapshots_of(found: Inventory, database: str, run: str) -> dict[str, Snapshot]:
    """Our snapshots of one run, by region."""
    identifier = snapshot_id(PREFIX, database, run)
    return {s.region: s for s in found.snapshots if s.identifier == identifier}


def exports_of(found: Inventory, database: str, run: str) -> list[Export]:
    identifier = snapshot_id(PREFIX, database, run)
    return [e for e in found.exports if e.snapshot == identifier]


def emails_about(found: Inventory, database: str) -> list[SentEmail]:
    return [m for m in found.emails if f" {database} " in f" {m.subject} "]


def handler_errors(local: LocalAws) -> list[str]:
    return [
        f"{e.function} on {e.what} ({e.subject}): {e.result}"
        for e in local.timeline.invocations()
        if not e.ok
    ]
