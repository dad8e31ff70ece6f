"""Restore drills, the pure part (rds_backup/model/drills.py): every database has one drill
day per DRILL_EVERY_DAYS, spread over the fleet; drill ids fit RDS's 63 characters; a value
passes by the check's rule; the restored database is compared with its manifest; and the
drill's email says what happened."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rds_backup.mail import render
from rds_backup.model import drills
from rds_backup.model.drills import CheckResult, DrillResult, Outcome
from rds_backup.model.kinds import Kind
from rds_backup.model.manifest import of_instance
from rds_backup.model.report import DrillReport
from rds_backup.settings import ConfigError, SqlCheck, parse_settings

VALID = {
    "SOURCE_REGION": "eu-west-1",
    "TARGET_REGION": "eu-central-1",
    "SOURCE_BUCKET": "acme-backups-euw1",
    "TARGET_BUCKET": "acme-backups-euc1",
    "KMS_KEY_ID": "mrk-1234abcd12ab34cd56ef1234567890ab",
    "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/rds-s3-export",
    "ADMIN_EMAIL": "dba@example.com",
}
SNAPSHOT_TIME = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def fleet_settings(count: int, every: int = 7) -> object:
    names = ",".join(f"db{i:03d}" for i in range(count))
    return parse_settings(VALID | {"DB_IDENTIFIER": names, "DRILL_EVERY_DAYS": str(every)})


@pytest.mark.parametrize(("count", "every"), [(1, 7), (20, 7), (100, 7), (30, 14), (5, 1)])
def test_given_a_fleet_when_drill_days_are_spread_then_each_database_once_per_period(count, every):
    settings = fleet_settings(count, every)
    start = date(2026, 11, 23)
    days = [start + timedelta(days=n) for n in range(every)]
    drilled: Counter[str] = Counter()
    per_day: Counter[date] = Counter()
    for day in days:
        for i in range(count):
            name = f"db{i:03d}"
            if drills.drill_day(settings, name, day) == day:
                drilled[name] += 1
                per_day[day] += 1
    assert set(drilled.values()) == {1}
    assert len(drilled) == count
    assert max(per_day.values()) - min(per_day.get(d, 0) for d in days) <= 1


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_given_any_day_when_the_drill_day_is_taken_then_it_is_within_the_period(day):
    settings = fleet_settings(10)
    for i in range(10):
        drilled = drills.drill_day(settings, f"db{i:03d}", day)
        assert day - timedelta(days=6) <= drilled <= day
        assert drills.next_drill_day(settings, f"db{i:03d}", day) == drilled + timedelta(days=7)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=63))
def test_given_any_database_name_when_a_drill_id_is_derived_then_it_fits_and_is_stable(name):
    db = "a" + name[:62]
    first = drills.drill_id("rds-backup", db, date(2026, 11, 25))
    assert len(first) <= 61
    assert len(drills.member_id(first)) <= 63
    assert "--" not in first
    assert not first.endswith("-")
    assert first == drills.drill_id("rds-backup", db.upper(), date(2026, 11, 25))
    assert drills.is_drill_id("rds-backup", first)


def test_given_two_long_names_sharing_a_start_when_derived_then_their_drill_ids_differ():
    a = drills.drill_id("rds-backup", "x" * 60 + "a", date(2026, 11, 25))
    b = drills.drill_id("rds-backup", "x" * 60 + "b", date(2026, 11, 25))
    assert a != b
    assert a.endswith("-20261125")
    assert b.endswith("-20261125")


@pytest.mark.parametrize(
    ("rule", "value", "passed"),
    [
        ({"min": 1000}, 1200, True),
        ({"min": 1000}, "999", False),
        ({"max": 5}, 5.0, True),
        ({"equals": "ok"}, "ok", True),
        ({"equals": 3}, "3", True),
        ({"min": 1}, None, False),
        ({"min": 1}, "not a number", False),
        ({"max_age_seconds": 3600}, "2026-11-25T02:30:00+00:00", True),
        ({"max_age_seconds": 3600}, "2026-11-25T01:30:00Z", False),
        ({"max_age_seconds": 3600}, "yesterday", False),
    ],
)
def test_given_a_value_when_judged_then_it_passes_by_the_checks_rule(rule, value, passed):
    check = SqlCheck(name="c", sql="select 1", **rule)
    result = drills.judge(check, value, SNAPSHOT_TIME)
    assert result.passed is passed
    assert result.expected


def test_given_a_check_without_a_rule_when_configured_then_the_settings_refuse_it():
    with pytest.raises(ConfigError, match="give min, max, equals or max_age_seconds"):
        parse_settings(
            VALID
            | {"DB_IDENTIFIER": "orders", "DRILL_CHECKS": '[{"name": "n", "sql": "select 1"}]'}
        )


def test_given_checks_for_some_databases_when_applied_then_only_those_run():
    check = SqlCheck(name="rows", sql="select 1", databases=["Orders"], min=1)
    assert check.applies_to("orders")
    assert not check.applies_to("billing")
    assert SqlCheck(name="any", sql="select 1", min=1).applies_to("billing")


def _instance(**changes: object) -> dict[str, object]:
    record = {
        "DBInstanceIdentifier": "orders",
        "Engine": "postgres",
        "EngineVersion": "16.3",
        "DBInstanceClass": "db.r6g.large",
        "AllocatedStorage": 100,
        "StorageType": "gp3",
        "StorageEncrypted": True,
        "MultiAZ": True,
        "Endpoint": {"Address": "orders.x.rds.amazonaws.com", "Port": 5432},
        "DBParameterGroups": [{"DBParameterGroupName": "orders-pg16"}],
        "OptionGroupMemberships": [{"OptionGroupName": "default:postgres-16"}],
        "DBSubnetGroup": {"DBSubnetGroupName": "orders-subnets", "VpcId": "vpc-1"},
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0123456789abcdef0"}],
        "IAMDatabaseAuthenticationEnabled": True,
    }
    return record | changes


def test_given_an_instance_when_its_manifest_is_made_then_it_holds_what_a_restore_needs():
    manifest = of_instance("orders", "rds-backup-orders-x", SNAPSHOT_TIME, "eu-west-1", _instance())
    assert (manifest.engine, manifest.engine_version, manifest.port) == ("postgres", "16.3", 5432)
    assert manifest.instance_class == "db.r6g.large"
    assert manifest.parameter_group == "orders-pg16"
    assert manifest.subnet_group == "orders-subnets"
    assert manifest.security_groups == ("sg-0123456789abcdef0",)
    assert manifest.multi_az
    assert manifest.iam_auth
    assert manifest.storage_encrypted
    assert type(manifest).from_json(manifest.as_json()) == manifest


def test_given_a_restored_copy_when_compared_with_its_manifest_then_structure_is_checked():
    manifest = of_instance("orders", "rds-backup-orders-x", SNAPSHOT_TIME, "eu-west-1", _instance())
    same = drills.structural_checks(manifest, _instance(EngineVersion="16.4"))
    assert all(c.passed for c in same)
    smaller = drills.structural_checks(manifest, _instance(AllocatedStorage=20))
    assert [c.name for c in smaller if not c.passed] == ["allocated storage GiB"]
    assert not drills.structural_checks(None, _instance())[0].passed


def _result(outcome: Outcome, **changes: object) -> DrillResult:
    started = datetime(2026, 11, 25, 9, tzinfo=UTC)
    values: dict[str, object] = {
        "drill_id": "rds-backup-drill-orders-20261125",
        "database": "orders",
        "kind": Kind.INSTANCE,
        "day": date(2026, 11, 25),
        "snapshot_id": "rds-backup-orders-20261125-0300",
        "snapshot_time": SNAPSHOT_TIME,
        "started": started,
        "restored": started + timedelta(minutes=14, seconds=36),
        "first_answer": started + timedelta(minutes=17),
        "checked": started + timedelta(minutes=17),
        "ended": started + timedelta(minutes=25),
        "outcome": outcome,
        "checks": (
            CheckResult(
                name="orders rows", passed=outcome is Outcome.PASSED, value=1200, expected=">= 1000"
            ),
        ),
        "deleted": True,
    }
    return DrillResult.model_validate(values | changes)


def test_given_a_passed_drill_when_rendered_then_it_names_rto_rpo_and_each_check():
    email = render(DrillReport("rds-backup-prod", "eu-central-1", _result(Outcome.PASSED)))
    assert "passed" in email.subject
    assert "14.6 min" in email.subject
    assert "Restore time (RTO):" in email.text
    assert "14.6 min" in email.text
    assert "Data age (RPO):" in email.text
    assert "6.0 h" in email.text
    assert "PASS  orders rows (sql): 1200 (expected >= 1000)" in email.text
    assert "Instance-hours used:" in email.text
    assert "0.417" in email.text


def test_given_a_failed_drill_when_rendered_then_it_names_the_step_the_reason_and_the_fix():
    result = _result(
        Outcome.FAILED,
        step="checks",
        code="DrillCheckFailed",
        reason="orders rows: 3, expected >= 1000",
        remedy="look at the source database",
    )
    email = render(DrillReport("rds-backup-prod", "eu-central-1", result))
    assert "FAILED at checks" in email.subject
    assert "orders rows: 3, expected >= 1000" in email.text
    assert "look at the source database" in email.text
    assert "FAIL  orders rows" in email.text


@pytest.mark.parametrize(
    ("engine", "driver"),
    [
        ("postgres", "postgres"),
        ("aurora-postgresql", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("aurora-mysql", "mysql"),
        ("aurora", "mysql"),
        ("oracle-ee", None),
        ("sqlserver-se", None),
    ],
)
def test_given_an_rds_engine_when_the_probe_picks_a_driver_then_aurora_engines_have_theirs(
    engine, driver
):
    from rds_backup.steps import probe_drill

    expected = probe_drill.DRIVERS[driver] if driver else None
    assert probe_drill.driver_for(engine) is expected


def test_given_an_aurora_drill_of_three_instances_when_its_hours_are_counted_then_all_count():
    one = _result(Outcome.PASSED)
    three = _result(Outcome.PASSED, instances=3)
    assert three.instance_hours == pytest.approx(3 * one.instance_hours, abs=0.002)
