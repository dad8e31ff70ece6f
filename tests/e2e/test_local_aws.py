"""The local AWS itself: it loads what the templates deploy, and its RDS event emulator's
knobs (late and lost events) behave as RDS's best-effort delivery does."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from rds_backup.local.harness import LocalAws
from rds_backup.local.stack import read_stack
from tests.e2e.support import emails_about, exports_of, handler_errors, run_nightly

DATABASES = ("orders", "billing")
SOURCE, TARGET = "us-east-1", "us-west-2"


def _rules(template: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for body in template["Resources"].values():
        if body["Type"] == "AWS::Events::Rule":
            properties = body["Properties"]
            pattern = properties.get("EventPattern")
            found[properties["Name"]] = json.loads(pattern) if isinstance(pattern, str) else pattern
    return found


def test_given_the_generated_templates_when_the_local_aws_starts_then_its_rules_are_theirs(
    local_aws: LocalAws, templates: dict[str, dict[str, Any]]
) -> None:
    # when
    loaded = {}
    for region in (SOURCE, TARGET):
        events = local_aws.server.client("events", region)
        for rule in events.list_rules()["Rules"]:
            if rule.get("ManagedBy"):
                continue  # the archive's own rule
            pattern = rule.get("EventPattern")
            loaded[rule["Name"]] = json.loads(pattern) if pattern else None

    # then
    expected = {**_rules(templates["main"]), **_rules(templates["target"])}
    assert loaded == expected
    archives = local_aws.server.client("events", SOURCE).list_archives()["Archives"]
    assert [a["ArchiveName"] for a in archives] == [a.name for a in local_aws.main.archives]


def test_given_rds_events_arrive_late_when_the_night_runs_then_the_chain_still_completes(
    local_aws: LocalAws,
) -> None:
    # given
    local_aws.emulator.knobs.delay = 0.2

    # when
    run = run_nightly(local_aws)

    # then
    found = local_aws.inventory()
    for database in DATABASES:
        assert [e.status for e in exports_of(found, database, run)] == ["COMPLETE"]
        assert [m.outcome for m in emails_about(found, database)] == ["success"]
    assert handler_errors(local_aws) == []


def test_given_a_lost_copy_finished_event_when_reconcile_runs_an_hour_later_then_the_chain_ends(
    local_aws: LocalAws,
) -> None:
    # given: RDS never delivers RDS-EVENT-0060, so the chain stalls after the copy
    local_aws.emulator.knobs.drop.add("RDS-EVENT-0060")
    when = local_aws.fire_schedule()
    local_aws.run_until_quiet()
    run = when.strftime("%Y%m%d-%H%M")
    stalled = local_aws.inventory()
    assert all(exports_of(stalled, database, run) == [] for database in DATABASES)
    assert stalled.emails == ()

    # when: the hourly reconcile fires after the grace period
    local_aws.fire_schedule(when + timedelta(hours=1), function="reconcile")
    local_aws.run_until_quiet()

    # then
    found = local_aws.inventory()
    for database in DATABASES:
        assert [(e.region, e.status) for e in exports_of(found, database, run)] == [
            (TARGET, "COMPLETE")
        ]
        assert [m.outcome for m in emails_about(found, database)] == ["success"]
    assert handler_errors(local_aws) == []


def test_given_an_operator_request_for_one_database_when_it_runs_then_only_that_one_is_backed_up(
    local_aws: LocalAws,
) -> None:
    # when
    local_aws.request_backup(["orders"], reason="before migration")
    local_aws.run_until_quiet()

    # then
    found = local_aws.inventory()
    assert {s.database for s in found.snapshots} == {"orders"}
    assert [m.outcome for m in emails_about(found, "orders")] == ["success"]
    assert emails_about(found, "billing") == []
    assert handler_errors(local_aws) == []


def test_given_intrinsic_functions_when_the_stack_is_read_then_they_resolve_for_the_region() -> (
    None
):
    # given
    bus = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/b"}
    template = {
        "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
        "Parameters": {"Stage": {"Default": "dev"}},
        "Resources": {
            "FnLambdaFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": {"Fn::Join": ["-", ["svc", {"Ref": "Stage"}, "fn"]]},
                    "Handler": "handlers/fn.handler",
                    "Environment": {
                        "Variables": {
                            "QUEUE": {"Fn::GetAtt": ["Dlq", "QueueName"]},
                            "MODE": {"Fn::If": ["IsDev", "local", "real"]},
                            "FLAG": True,
                        }
                    },
                },
            },
            "FnConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "FnLambdaFunction"},
                    "MaximumRetryAttempts": 1,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": "Dlq.Arn"}}},
                },
            },
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "svc-dlq"}},
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "svc-rule",
                    "EventPattern": '{"source": ["x"]}',
                    "Targets": [
                        {"Id": "f", "Arn": {"Fn::GetAtt": ["FnLambdaFunction", "Arn"]}},
                        {"Id": "b", "Arn": bus},
                    ],
                },
            },
        },
    }

    # when
    stack = read_stack(template, "eu-west-1")

    # then
    function = stack.functions["FnLambdaFunction"]
    assert function.name == "svc-dev-fn"
    assert function.environment == {"QUEUE": "svc-dlq", "MODE": "local", "FLAG": "true"}
    assert function.max_retries == 1
    assert function.on_failure == "arn:aws:sqs:eu-west-1:123456789012:svc-dlq"
    assert (function.module, function.attribute, function.short_name) == (
        "handlers.fn",
        "handler",
        "fn",
    )
    (rule,) = stack.rules
    assert rule.pattern == {"source": ["x"]}
    assert rule.functions == ("FnLambdaFunction",)
    assert rule.buses == ("arn:aws:events:eu-west-1:123456789012:event-bus/b",)
    assert stack.queues == ("svc-dlq",)
