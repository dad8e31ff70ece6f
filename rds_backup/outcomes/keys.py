"""The claim key of each outcome a person is told of: one email per key, ever
(rds_backup/mail/delivery.py). The strings are stored in IDEMPOTENCY_TABLE as claims: a
change would re-send every email of a replayed window, so they never change.

A run's outcomes are keyed by its snapshot id (derived: one per database and run); a
handler's failure by step, database, run and code, so a failure delivered again (at least
once), by several requests, or by every hourly pass of a persistent fault is one outcome.
Scheduled passes (reconcile, cleanup) have no run of their own: their failures are keyed by
day, so a fault that persists is told once a day.
"""

from __future__ import annotations

PERIODIC_STEPS = frozenset({"reconcile", "cleanup"})


def succeeded(snapshot: str) -> str:
    return f"{snapshot}:succeeded"


def export_failed(snapshot: str, export_id: str) -> str:
    return f"{snapshot}:failed:{export_id}"


def copy_canceled(snapshot: str) -> str:
    return f"{snapshot}:copy-canceled"


def cluster_copy_ended(snapshot: str, outcome: str) -> str:
    return f"{snapshot}:cluster-copy-{outcome}"


def stuck(snapshot: str, step: str) -> str:
    return f"{snapshot}:stuck:{step}"


def quota(region: str, run: str, cluster: bool, database: str | None = None) -> str:
    """A run stopped by the manual snapshot quota of a region (one per database in a digest)."""
    key = f"quota:{region}:{run}" + (":cluster" if cluster else "")
    return f"{key}:{database.lower()}" if database else key


def failure(step: str, database: str | None, run: str | None, code: str | None) -> str:
    """A handler's failure after its retries (module docstring)."""
    period = run or "-"
    if step in PERIODIC_STEPS and run:
        period = run[:8]
    return f"failed:{step}:{(database or '-').lower()}:{period}:{code or 'error'}"


def drill(drill_id: str) -> str:
    """A restore drill's outcome (its id is derived from the database and the drill day)."""
    return f"drill:{drill_id}"


def left_selection(database: str, kind: str, last_backup: str) -> str:
    """A database that left the selection after its backup at ``last_backup`` (told once; a
    database selected again and left again later has a newer last backup: told again)."""
    return f"left-selection:{kind}:{database.lower()}:{last_backup}"
