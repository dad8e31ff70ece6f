"""A night on a throttled, lived-in account (rds_backup/local/throttle.py, bench/lived_in.py):
RDS's API budget shared with other tools' background load, 15 nights of our history, other
teams' snapshots and export tasks. Every database is backed up, no failure email, and the
fills' RDS calls do not grow with what other teams keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rds_backup.local import profiles
from rds_backup.local.bench.lived_in import LivedIn, seed_history
from rds_backup.local.clock import VirtualClock
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.local.throttle import Throttle

pytestmark = pytest.mark.e2e

START = datetime(2026, 1, 5, 2, 55, tzinfo=UTC)
NIGHT = START.replace(hour=3, minute=0)
SIX = tuple(f"db{index:02d}" for index in range(6))
FILLS = ("copy_snapshot", "export_snapshot", "start_backup")


def _night(
    server: LocalServer, templates: dict[str, dict[str, Any]], lived: LivedIn, throttle: Throttle
) -> LocalAws:
    local = LocalAws(
        WorldSpec(databases=SIX),
        server=server,
        templates=templates.__getitem__,
        clock=VirtualClock(START),
        profile=profiles.get("small", seed=3),
        schedules=("reconcile",),
        throttle=throttle,
    )
    with local:
        local.set_quota(None, manual_snapshots=10_000)
        seed_history(local, lived, NIGHT)
        local.run_until(NIGHT - timedelta(minutes=1))
        local.fire_schedule(NIGHT)
        local.run_until_quiet(max_seconds=300)
        local.found = local.inventory()  # type: ignore[attr-defined]
    return local


def test_a_throttled_night_backs_up_every_database_without_a_failure_email(
    local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> None:
    # given a small budget that other tools nearly use up (burst 4, 11.9 of 12 requests/s)
    throttle = Throttle(burst=4, background=11.9)
    # when the night runs
    local = _night(local_server, templates, LivedIn(foreign_snapshots=40, foreign_exports=20),
                   throttle)  # fmt: skip
    found = local.found  # type: ignore[attr-defined]
    run = "20260105-0300"
    # then RDS refused calls, and yet every database has its copy and export, and no failure
    assert sum(throttle.refused.values()) > 0
    copies = {s.database for s in found.snapshots if s.role == "copy" and s.run == run}
    exported = {e.snapshot for e in found.exports if e.snapshot.endswith(run)}
    assert copies == set(SIX)
    assert len(exported) == len(SIX)
    assert [m for m in found.emails if m.outcome == "failure"] == []
    assert sum(1 for m in found.emails if m.outcome == "success") == len(SIX)


def test_the_fills_calls_do_not_grow_with_other_teams_snapshots(
    local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> None:
    def fill_calls(foreign: int) -> int:
        local = _night(local_server, templates, LivedIn(foreign_snapshots=foreign,
                       foreign_exports=0), Throttle())  # fmt: skip
        return sum(
            e.api_calls
            for e in local.timeline.entries
            if e.kind == "invoke" and e.function in FILLS
        )

    # given the same night with no other team's snapshot, and with 600 of them
    # when the start and the fills run, then they make the same number of calls
    assert fill_calls(600) == fill_calls(0)
