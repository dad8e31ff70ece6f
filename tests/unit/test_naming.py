"""Derived names: stable, valid RDS identifiers, export ids within limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rds_backup.model import naming
from rds_backup.model.naming import export_id, export_uri, run_id, snapshot_id

RDS_ID = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")
EXPORT_ID = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,59}(?<!-)$")
db_ids = st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,62}", fullmatch=True)


def test_given_a_scheduled_time_when_named_then_the_snapshot_id_has_the_documented_shape():
    run = run_id(datetime(2026, 11, 25, 3, 0, 41, tzinfo=UTC))

    assert snapshot_id("rds-backup", "Orders", run) == "rds-backup-orders-20261125-0300"


def test_given_a_time_in_another_zone_when_named_then_the_run_is_in_utc():
    local = datetime(2026, 11, 25, 4, 0, tzinfo=timezone(timedelta(hours=1)))

    assert run_id(local) == "20261125-0300"


@given(db=db_ids, attempt=st.integers(min_value=1, max_value=99))
def test_any_valid_database_yields_valid_snapshot_and_export_ids(db, attempt):
    snap = snapshot_id("rds-backup", db, "20261125-0300")
    export = export_id(snap, "ap-southeast-2", attempt)

    assert RDS_ID.match(snap)
    assert EXPORT_ID.match(export), export
    assert export == export_id(snap, "ap-southeast-2", attempt)


def test_given_two_long_names_sharing_a_prefix_when_exported_then_ids_differ():
    a = snapshot_id("rds-backup", "a" * 60 + "x", "20261125-0300")
    b = snapshot_id("rds-backup", "a" * 60 + "y", "20261125-0300")

    assert export_id(a, "us-west-2") != export_id(b, "us-west-2")


def test_export_uri_is_bucket_prefix_and_export_id():
    assert export_uri("bkt", "rds-backup/", "e-1") == "s3://bkt/rds-backup/e-1/"
    assert export_uri("bkt", "", "e-1") == "s3://bkt/e-1/"


LOWER_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@given(st.from_regex(r"[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,20}){0,4}", fullmatch=True))
def test_given_any_database_name_when_its_snapshot_is_named_then_the_id_fits_63_and_is_stable(
    database: str,
):
    identifier = snapshot_id("rds-backup", database, "20261207-0300")

    # CreateDBClusterSnapshot: 1 to 63 letters, numbers or hyphens, a letter first, no
    # trailing hyphen and no two consecutive hyphens
    assert len(identifier) <= 63
    assert LOWER_ID.match(identifier)
    assert "--" not in identifier
    assert not identifier.endswith("-")
    assert identifier.endswith("-20261207-0300")
    assert snapshot_id("rds-backup", database.upper(), "20261207-0300") == identifier


def test_given_two_long_names_that_share_their_start_when_named_then_their_ids_differ():
    first = snapshot_id("rds-backup", "warehouse-analytics-primary-cluster-east", "20261207-0300")
    second = snapshot_id("rds-backup", "warehouse-analytics-primary-cluster-west", "20261207-0300")

    assert first != second
    assert len(first) == len(second) == 63


def test_given_a_database_and_a_time_when_a_restore_id_is_derived_then_it_names_both():
    when = datetime(2026, 11, 25, 5, 14, tzinfo=UTC)

    assert naming.restore_id("Orders", when) == "orders-restored-20261125-0514"


def test_given_a_long_database_name_when_a_restore_id_is_derived_then_it_fits_and_stays_apart():
    when = datetime(2026, 11, 25, 5, 14, tzinfo=UTC)
    first, second = (naming.restore_id(f"{'a' * 55}{tail}", when, 60) for tail in ("x", "y"))

    assert len(first) <= 60
    assert len(second) <= 60
    assert first != second
    assert first.endswith("-20261125-0514")
    assert naming.identifier_problem(first, 60) is None


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("orders-dr", None),
        ("o", None),
        ("o" * 63, None),
        ("o" * 64, "must be 1 to 63 characters, is 64"),
        ("1orders", "must start with a letter"),
        ("orders_dr", "must start with a letter"),
        ("orders-", "must not end with a hyphen"),
        ("orders--dr", "must not end with a hyphen or hold two hyphens in a row"),
    ],
)
def test_given_an_identifier_when_checked_then_rds_rules_decide(identifier, problem):
    found = naming.identifier_problem(identifier)

    assert (found is None) if problem is None else (found is not None and problem in found)
