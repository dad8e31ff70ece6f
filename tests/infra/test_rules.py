"""Every handler hears exactly its events: the rules in the generated CloudFormation are
matched against the real-shaped samples in events/samples/."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from events import load_sample
from tests.infra.conftest import Packaged
from tests.infra.support import functions, matches, resources, rules_for

# Which samples each handler must react to (pattern rules). Schedules are checked by name.
PATTERN_SAMPLES = {
    "start_backup": ["backup-requested"],
    # the copy slots: a new source, and a copy ending frees a slot
    "copy_snapshot": [
        "rds-0042-snapshot-created",
        "rds-0060-copy-finished",
        "rds-0061-copy-canceled",
    ],
    # the export slots: a copy ready, and an export ending frees a slot
    "export_snapshot": [
        "rds-0060-copy-finished",
        "rds-0159-export-failed",
        "rds-0160-export-canceled",
        "rds-0161-export-completed",
    ],
    "notify": [
        "rds-0159-export-failed",
        "rds-0160-export-canceled",
        "rds-0161-export-completed",
        "rds-0060-copy-finished",
        "rds-0061-copy-canceled",
        "lambda-invocation-failure",
        "lambda-invocation-failure-aws-source",
        "snapshot-quota-reached",
        "drill-finished",
    ],
    "check_drill": ["drill-check-due"],
    # the vault account (docs/VAULT.md): a copy became available; the vault holds its copy
    "share_vault": ["rds-0060-copy-finished", "vault-copy-finished"],
}
SCHEDULED = {"start_backup", "cleanup", "reconcile", "start_drill"}
ALL_PATTERN_SAMPLES = sorted({name for names in PATTERN_SAMPLES.values() for name in names})
FORWARDED = {
    "rds-0060-copy-finished",
    "rds-0061-copy-canceled",
    "rds-0159-export-failed",
    "rds-0160-export-canceled",
    "rds-0161-export-completed",
}


def _pattern_rules(main: Packaged, name: str) -> list[dict[str, Any]]:
    logical_id, _ = functions(main.template)[name]
    return [rule for rule in rules_for(main.template, logical_id) if "EventPattern" in rule]


def test_given_the_main_stack_when_packaged_then_every_handler_module_has_one_function(
    main_stack: Packaged,
) -> None:
    assert set(functions(main_stack.template)) == {
        "start_backup",
        "copy_snapshot",
        "export_snapshot",
        "notify",
        "cleanup",
        "reconcile",
        "check_copy",
        "start_drill",
        "check_drill",
        "share_vault",
    }


@pytest.mark.parametrize(
    ("handler", "sample"),
    [(handler, sample) for handler, samples in PATTERN_SAMPLES.items() for sample in samples],
)
def test_given_a_handlers_sample_event_when_matched_against_its_rules_then_one_rule_matches(
    main_stack: Packaged, handler: str, sample: str
) -> None:
    event = load_sample(sample)
    rules = _pattern_rules(main_stack, handler)
    assert any(matches(rule["EventPattern"], event) for rule in rules), (handler, sample)


@pytest.mark.parametrize("sample", ALL_PATTERN_SAMPLES)
def test_given_a_sample_event_when_matched_against_other_handlers_rules_then_none_matches(
    main_stack: Packaged, sample: str
) -> None:
    event = load_sample(sample)
    for handler in functions(main_stack.template):
        if sample in PATTERN_SAMPLES.get(handler, []):
            continue
        for rule in _pattern_rules(main_stack, handler):
            assert not matches(rule["EventPattern"], event), (handler, rule["Name"], sample)


def test_given_snapshot_events_of_another_prefix_when_matched_then_no_rule_reacts(
    main_stack: Packaged,
) -> None:
    for sample in ALL_PATTERN_SAMPLES:
        event = load_sample(sample)
        if event["source"] != "aws.rds":
            continue
        event["detail"]["SourceIdentifier"] = "manual-orders-20261125"
        for rule in resources(main_stack.template, "AWS::Events::Rule").values():
            pattern = rule["Properties"].get("EventPattern")
            assert pattern is None or not matches(pattern, event), (rule, sample)


def test_given_a_failure_of_notify_itself_when_matched_then_it_is_not_routed_back_to_notify(
    main_stack: Packaged,
) -> None:
    event = load_sample("lambda-invocation-failure")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:rds-backup-dev-notify:$LATEST"
    event["detail"]["requestContext"]["functionArn"] = arn
    assert not any(matches(r["EventPattern"], event) for r in _pattern_rules(main_stack, "notify"))


@pytest.mark.parametrize("handler", sorted(SCHEDULED))
def test_given_a_scheduled_handler_when_packaged_then_its_own_schedule_rule_fires_it(
    main_stack: Packaged, handler: str
) -> None:
    logical_id, _ = functions(main_stack.template)[handler]
    schedules = [r for r in rules_for(main_stack.template, logical_id) if "ScheduleExpression" in r]
    assert len(schedules) == 1
    assert schedules[0]["ScheduleExpression"].startswith(("cron(", "rate("))


def test_given_the_scheduled_sample_when_its_rule_is_looked_up_then_it_is_start_backups(
    main_stack: Packaged,
) -> None:
    rule_name = load_sample("scheduled")["resources"][0].rsplit("/", 1)[1]
    logical_id, _ = functions(main_stack.template)["start_backup"]
    names = [r["Name"] for r in rules_for(main_stack.template, logical_id)]
    assert rule_name in names


@pytest.mark.parametrize("sample", sorted(FORWARDED | {"rds-0042-snapshot-created"}))
def test_given_the_target_region_stack_when_an_rds_event_arrives_then_only_chain_events_forward(
    target_stack: Packaged, sample: str
) -> None:
    rule = resources(target_stack.template, "AWS::Events::Rule")["ForwardRdsEventsRule"]
    assert matches(rule["Properties"]["EventPattern"], load_sample(sample)) == (sample in FORWARDED)


def test_given_the_forwarder_when_packaged_then_it_targets_the_source_default_bus_with_a_role(
    target_stack: Packaged,
) -> None:
    forwarders = resources(target_stack.template, "AWS::Events::Rule")
    assert set(forwarders) == {"ForwardRdsEventsRule", "ForwardDrillEventsRule"}
    for rule in forwarders.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"]["Fn::Sub"].endswith(":us-east-1:${AWS::AccountId}:event-bus/default")
        assert "RoleArn" in target
        assert "DeadLetterConfig" in target
        assert "RetryPolicy" in target


@pytest.mark.parametrize("sample", [*ALL_PATTERN_SAMPLES, "scheduled"])
def test_given_the_archive_when_a_chain_event_arrives_then_it_is_kept(
    main_stack: Packaged, sample: str
) -> None:
    (archive,) = resources(main_stack.template, "AWS::Events::Archive").values()
    event = load_sample(sample)
    # Schedules fire targets directly; they never pass through the bus, so nothing to keep.
    assert matches(archive["Properties"]["EventPattern"], event) == (sample != "scheduled")
    assert int(archive["Properties"]["RetentionDays"]) == 30


def test_given_the_archive_when_another_systems_event_arrives_then_it_is_not_kept(
    main_stack: Packaged,
) -> None:
    (archive,) = resources(main_stack.template, "AWS::Events::Archive").values()
    event = copy.deepcopy(load_sample("lambda-invocation-failure"))
    event["detail"]["requestContext"]["functionArn"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:someone-else:$LATEST"
    )
    assert not matches(archive["Properties"]["EventPattern"], event)


def test_given_any_other_handler_failing_when_lambda_reports_it_then_notify_hears_of_it(
    main_stack: Packaged,
) -> None:
    notify_rules = _pattern_rules(main_stack, "notify")
    for name in functions(main_stack.template):
        if name == "notify":
            continue
        event = load_sample("lambda-invocation-failure")
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:rds-backup-dev-{name}:$LATEST"
        event["detail"]["requestContext"]["functionArn"] = arn
        assert any(matches(r["EventPattern"], event) for r in notify_rules), name
