"""`rds-backup status` tells the truth (issue 15 item 4), on moto: a failed or canceled copy
is failed with its reason, a failed export shows RDS's cause, a step that could start but
did not is stalled, a selected database whose run got no snapshot has a row, times are UTC,
sizes are shown, and the default table fits 80 columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import load_sample
from handlers import start_backup
from rds_backup.limits import COPY_CANCELED
from rds_backup.local.seed import WorldSpec
from rds_backup.ops.runs_table import recent_runs, render
from rds_backup.settings import load_settings
from rds_backup.state.selection import select_databases
from rds_backup.steps.start_backup import StartFailed
from tests.integration.chain import CONTEXT
from tests.integration.test_slots import SRC, TGT, copy_all, export_of, scheduled, snapshot_of
from tests.support import fail_export, rds_event, set_snapshot_status

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def rows_by_db(settings, aws, now=NOW):
    selection = select_databases(settings, aws)
    return {r.database: r for r in recent_runs(settings, aws, now, 2, selection=selection)}


def test_given_a_failed_copy_when_status_runs_then_it_is_failed_with_its_reason_not_pending(
    settings, aws
):
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    set_snapshot_status(TGT, snapshot_of("orders"), "failed")

    rows = rows_by_db(settings, aws)

    assert rows["orders"].copy == "failed"
    assert rows["orders"].outcome == "failed"
    assert rows["orders"].reasons == ("copy failed in us-west-2 (snapshot status failed)",)
    text = render(list(rows.values()), settings)
    assert "orders 2026-11-25 03:00: copy failed in us-west-2" in text


def test_given_a_canceled_copy_when_status_runs_then_it_is_failed_and_says_how_to_redrive(
    settings, aws
):
    start_backup.handler(scheduled(), CONTEXT)
    source = aws.rds(SRC).describe_db_snapshots(DBSnapshotIdentifier=snapshot_of("orders"))
    aws.rds(SRC).add_tags_to_resource(
        ResourceName=source["DBSnapshots"][0]["DBSnapshotArn"],
        Tags=[{"Key": COPY_CANCELED, "Value": "true"}],
    )

    rows = rows_by_db(settings, aws)

    assert (rows["orders"].copy, rows["orders"].outcome) == ("canceled", "failed")
    assert "rds-backup replay" in rows["orders"].reasons[0]


def test_given_a_failed_export_when_status_runs_then_rds_cause_is_shown(settings, aws):
    from handlers import export_snapshot

    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    export_snapshot.handler(rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")), CONTEXT)
    fail_export(TGT, export_of(snapshot_of("orders")), "S3 bucket access denied")

    rows = rows_by_db(settings, aws)

    assert rows["orders"].exports[TGT] == "FAILED"
    assert rows["orders"].outcome == "failed"
    assert rows["orders"].reasons == ("export us-west-2 failed: S3 bucket access denied",)
    assert rows["orders"].export_tasks[TGT]["failure_cause"] == "S3 bucket access denied"


def test_given_a_copy_never_started_with_free_slots_when_late_then_it_is_stalled(settings, aws):
    start_backup.handler(scheduled(), CONTEXT)  # no copy_snapshot: its event was lost

    fresh = rows_by_db(settings, aws, now=datetime(2026, 11, 25, 3, 5, tzinfo=UTC))
    late = rows_by_db(settings, aws)

    assert fresh["orders"].copy.startswith("waiting ")
    assert fresh["orders"].outcome == "pending"
    assert (late["orders"].copy, late["orders"].outcome) == ("stalled", "stalled")
    assert "20 of 20 copy slots are free" in late["orders"].reasons[0]


def test_given_a_database_whose_run_got_no_snapshot_when_status_runs_then_it_has_a_row(
    settings, aws, monkeypatch
):
    # given: the nightly run (every database) made no snapshot of billing
    monkeypatch.setenv("DB_IDENTIFIER", "orders")
    load_settings.cache_clear()
    start_backup.handler(load_sample("scheduled") | {"time": "2026-11-25T03:00:00Z"}, CONTEXT)
    load_settings.cache_clear()

    rows = rows_by_db(settings, aws)

    missing = rows["billing"]
    assert (missing.run, missing.source, missing.outcome) == (
        "20261125-0300",
        "none",
        "no snapshot",
    )
    assert "no snapshot of this run (named in DB_IDENTIFIER)" in missing.reasons[0]
    (line,) = [x for x in render(list(rows.values()), settings).splitlines() if x.startswith("bil")]
    assert line.split() == ["billing", "2026-11-25", "03:00", "-", "-", "-", "no", "snapshot"]


def test_given_a_request_for_one_database_when_status_runs_then_the_others_have_no_row(
    settings, aws
):
    # given: an operator's Backup Requested for orders only
    event = load_sample("backup-requested") | {"time": "2026-11-25T03:00:00Z"}
    event["detail"]["databases"] = ["orders"]
    start_backup.handler(event, CONTEXT)

    rows = rows_by_db(settings, aws)

    # then: billing was not requested in that run: it is not missing from it
    assert set(rows) == {"orders"}


def test_given_a_configured_name_that_is_no_database_when_status_runs_then_its_row_says_so(
    settings, aws, monkeypatch
):
    monkeypatch.setenv("DB_IDENTIFIER", "orders,ghost")
    load_settings.cache_clear()
    with pytest.raises(StartFailed):
        start_backup.handler(scheduled(), CONTEXT)

    rows = rows_by_db(load_settings(), aws)

    assert rows["ghost"].outcome == "no snapshot"
    assert rows["ghost"].reasons[0].startswith("DatabaseNotFound: ghost is neither")


@pytest.mark.parametrize(
    "spec", [WorldSpec(databases=("orders", "a-very-long-database-identifier-for-reporting"))]
)
def test_given_long_names_and_reasons_when_rendered_then_every_line_fits_80_columns(settings, aws):
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    set_snapshot_status(TGT, snapshot_of("orders"), "failed")

    rows = recent_runs(settings, aws, NOW + timedelta(hours=1), 2)
    text = render(rows, settings)

    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.splitlines()[0].split() == [
        "DATABASE",
        "RUN",
        "(UTC)",
        "SIZE",
        "COPY",
        "EXPORT",
        "OUTCOME",
    ]
    assert "20G" in text  # AllocatedStorage of the seeded databases
    wide = render(rows, settings, wide=True)
    assert "a-very-long-database-identifier-for-reporting" in wide
    assert "copy failed in us-west-2 (snapshot status failed)" in wide
