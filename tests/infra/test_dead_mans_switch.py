"""The dead-man's switch in the generated template: one alarm per database on its
BackupSucceeded metric, breaching when missing, over BACKUP_ALARM_HOURS, to the alarm topic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from tests.infra.conftest import Packaged

SETTINGS = {
    "DB_IDENTIFIER": "Orders, billing-eu,orders",
    "BACKUP_ALARM_HOURS": "30",
    "DRILL_SUBNET_GROUP": "drills",
    "DRILL_EVERY_DAYS": "7",
}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        body["Properties"]["AlarmName"]: body["Properties"]
        for body in template["Resources"].values()
        if body["Type"] == "AWS::CloudWatch::Alarm"
        and body["Properties"].get("MetricName") == "BackupSucceeded"
    }


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = packaging.package_variant("main", SETTINGS, tmp_path_factory.mktemp("deadman"))
    template: dict[str, Any] = json.loads((directory / packaging.TEMPLATE).read_text("utf-8"))
    return template


def test_given_the_default_settings_when_packaged_then_the_database_has_a_26_hour_alarm(
    main_stack: Packaged,
) -> None:
    [(name, alarm)] = _alarms(main_stack.template).items()

    assert name == "rds-backup-dev-no-backup-database-1"
    assert alarm["Namespace"] == "RdsBackup"
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": "rds-backup"},
        {"Name": "database", "Value": "database-1"},
    ]
    # 26 hourly sums below 1, every one of them: 26 h without a success
    assert alarm["Period"] == 3600
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 26
    assert alarm["Statistic"] == "Sum"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    # a night in which nothing ran publishes nothing: missing data must alarm
    assert alarm["TreatMissingData"] == "breaching"


def test_given_the_default_settings_when_packaged_then_the_alarm_goes_where_the_others_go(
    main_stack: Packaged,
) -> None:
    [alarm] = _alarms(main_stack.template).values()
    others = [
        body["Properties"]["AlarmActions"]
        for body in main_stack.resources("AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("MetricName") != "BackupSucceeded"
    ]

    assert others
    assert all(actions == alarm["AlarmActions"] for actions in others)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_given_several_databases_and_hours_when_packaged_then_one_alarm_each_lower_case(
    fleet: dict[str, Any],
) -> None:
    alarms = _alarms(fleet)

    assert sorted(alarms) == [
        "rds-backup-dev-no-backup-billing-eu",
        "rds-backup-dev-no-backup-orders",
    ]
    assert {a["Dimensions"][1]["Value"] for a in alarms.values()} == {"orders", "billing-eu"}
    assert {a["EvaluationPeriods"] for a in alarms.values()} == {30}
    # PutMetricAlarm: Period x EvaluationPeriods at most 7 days
    assert all(a["Period"] * a["EvaluationPeriods"] <= 604_800 for a in alarms.values())


def test_given_an_alarm_window_past_seven_days_when_packaged_then_packaging_names_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(packaging.PackagingError) as raised:
        packaging.package_variant("main", {"BACKUP_ALARM_HOURS": "200"}, tmp_path)

    assert "BACKUP_ALARM_HOURS" in str(raised.value)


def _alarms_on(template: dict[str, Any], *metrics: str) -> dict[str, dict[str, Any]]:
    return {
        body["Properties"]["AlarmName"]: body["Properties"]
        for body in template["Resources"].values()
        if body["Type"] == "AWS::CloudWatch::Alarm"
        and body["Properties"].get("MetricName") in metrics
    }


def _drill_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _alarms_on(template, "DaysSinceSuccessfulDrill", "DatabasesWithoutRecentDrill")


def test_given_drills_off_when_packaged_then_no_drill_alarm_exists(main_stack: Packaged) -> None:
    assert _drill_alarms(main_stack.template) == {}


def test_given_drills_on_when_packaged_then_each_database_and_the_fleet_have_a_drill_alarm(
    fleet: dict[str, Any],
) -> None:
    alarms = _drill_alarms(fleet)

    assert set(alarms) == {
        "rds-backup-dev-no-drill-fleet",
        "rds-backup-dev-no-drill-orders",
        "rds-backup-dev-no-drill-billing-eu",
    }
    orders = alarms["rds-backup-dev-no-drill-orders"]
    # older than twice DRILL_EVERY_DAYS, on daily periods; silence is breaching
    assert (orders["Threshold"], orders["Period"]) == (14, 86400)
    assert orders["ComparisonOperator"] == "GreaterThanThreshold"
    assert orders["TreatMissingData"] == "breaching"
    assert {"Name": "database", "Value": "orders"} in orders["Dimensions"]
    fleet_alarm = alarms["rds-backup-dev-no-drill-fleet"]
    assert fleet_alarm["Threshold"] == 0
    assert fleet_alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def _fleet_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _alarms_on(template, "FleetBackupSucceeded", "DatabasesWithoutRecentBackup")


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = {"DB_IDENTIFIER": "", "DB_SELECT_TAG": "backup=nightly", "BACKUP_ALARM_HOURS": "30"}
    directory = packaging.package_variant("main", settings, tmp_path_factory.mktemp("tagged"))
    template: dict[str, Any] = json.loads((directory / packaging.TEMPLATE).read_text("utf-8"))
    return template


def test_given_only_a_select_tag_when_packaged_then_the_fleet_and_coverage_alarms_exist(
    tagged: dict[str, Any],
) -> None:
    alarms = _fleet_alarms(tagged)

    # no name is known at packaging: no per-name alarm, but the fleet is watched
    assert _alarms(tagged) == {}
    assert set(alarms) == {"rds-backup-dev-no-backup-fleet", "rds-backup-dev-no-backup-coverage"}
    fleet_alarm = alarms["rds-backup-dev-no-backup-fleet"]
    assert fleet_alarm["Dimensions"] == [{"Name": "service", "Value": "rds-backup"}]
    assert (fleet_alarm["Statistic"], fleet_alarm["Period"]) == ("Sum", 3600)
    assert fleet_alarm["EvaluationPeriods"] == fleet_alarm["DatapointsToAlarm"] == 30
    assert (fleet_alarm["ComparisonOperator"], fleet_alarm["Threshold"]) == (
        "LessThanThreshold",
        1,
    )
    coverage = alarms["rds-backup-dev-no-backup-coverage"]
    assert (coverage["Statistic"], coverage["Period"]) == ("Maximum", 3600)
    assert (coverage["ComparisonOperator"], coverage["Threshold"]) == ("GreaterThanThreshold", 0)
    # a night with no run at all, or reconcile silent: missing data must alarm
    assert {a["TreatMissingData"] for a in alarms.values()} == {"breaching"}
    assert {json.dumps(a["AlarmActions"]) for a in alarms.values()} == {'[{"Ref": "AlarmTopic"}]'}


def test_given_only_names_when_packaged_then_the_per_name_alarms_still_exist_with_the_fleets(
    fleet: dict[str, Any],
) -> None:
    assert sorted(_alarms(fleet)) == [
        "rds-backup-dev-no-backup-billing-eu",
        "rds-backup-dev-no-backup-orders",
    ]
    assert set(_fleet_alarms(fleet)) == {
        "rds-backup-dev-no-backup-fleet",
        "rds-backup-dev-no-backup-coverage",
    }
