"""`rds-backup status` on moto with AWS's limits: a step waiting for a slot is shown as
waiting, with its place in the queue; a database not exported tonight shows its next
export night (EXPORT_EVERY_DAYS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers import export_snapshot, start_backup
from rds_backup.local.seed import WorldSpec
from rds_backup.model import capacity
from rds_backup.ops.runs_table import recent_runs, render
from rds_backup.settings import load_settings
from tests.integration.chain import CONTEXT
from tests.integration.test_slots import (
    SRC,
    TGT,
    TWELVE,
    copy_all,
    exports_take_time,  # noqa: F401 - fixture
    scheduled,
    snapshot_of,
)
from tests.support import rds_event

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
@pytest.mark.usefixtures("exports_take_time")
def test_given_exports_waiting_for_slots_when_status_runs_then_each_shows_its_place(settings, aws):
    # given 12 copies and 5 export slots: 5 exports run, 7 wait
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    export_snapshot.handler(rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")), CONTEXT)

    # when
    rows = recent_runs(settings, aws, NOW, days=2)

    # then the running exports show their status and the others their place in the queue
    states = sorted(row.exports[TGT] for row in rows)
    running = [s for s in states if not s.startswith("waiting")]
    waiting = sorted(
        (s for s in states if s.startswith("waiting")),
        key=lambda s: int(s.split()[1].split("/")[0]),
    )
    assert len(rows) == 12
    assert len(running) == 5
    assert waiting == [f"waiting {n}/7" for n in range(1, 8)]
    assert all(row.copy == "available" for row in rows)
    assert "waiting 1/7" in render(rows, settings)


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing"))])
def test_given_exports_every_two_nights_when_status_runs_then_the_off_night_shows_the_next(
    settings, aws, monkeypatch
):
    # given
    monkeypatch.setenv("EXPORT_EVERY_DAYS", "2")
    load_settings.cache_clear()
    spread = load_settings()
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()

    # when
    rows = {row.database: row for row in recent_runs(spread, aws, NOW, days=2)}

    # then the database not due tonight names its next export night
    night = datetime(2026, 11, 25, tzinfo=UTC).date()
    off = [db for db in rows if not capacity.export_due(spread, db, night)]
    assert len(off) == 1
    due = capacity.next_export_due(spread, off[0], night)
    assert rows[off[0]].exports == {TGT: f"next {due.isoformat()}"}
    assert rows[off[0]].outcome == "succeeded"
    assert SRC not in rows[off[0]].exports
