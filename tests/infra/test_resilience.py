"""Every failure reaches a person: async retries and an on-failure path for every function,
retry policy and DLQ on every rule target, and alarms on the DLQs."""

from __future__ import annotations

from tests.infra.conftest import Packaged
from tests.infra.support import functions, resolve, resources, rules_for

DEFAULT_BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default"


def _invoke_configs(main: Packaged) -> dict[str, dict[str, object]]:
    return {
        body["Properties"]["FunctionName"]["Ref"]: body["Properties"]
        for body in resources(main.template, "AWS::Lambda::EventInvokeConfig").values()
    }


def test_given_every_function_when_packaged_then_it_has_async_retries_and_an_on_failure_path(
    main_stack: Packaged,
) -> None:
    configs = _invoke_configs(main_stack)
    for name, (logical_id, _) in functions(main_stack.template).items():
        config = configs[logical_id]
        assert "MaximumRetryAttempts" in config, name
        assert "MaximumEventAgeInSeconds" in config, name
        destination = resolve(config["DestinationConfig"]["OnFailure"]["Destination"])  # type: ignore[index]
        if name == "notify":
            # Its own failures stop in an SQS queue, never back on the bus (no loop).
            assert destination == resolve({"Fn::GetAtt": ["NotifyFailureDlq", "Arn"]})
        else:
            assert destination == DEFAULT_BUS, name


def test_given_every_rule_target_when_packaged_then_it_has_a_retry_policy_and_a_dlq(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    for stack in (main_stack, target_stack):
        for rule_id, rule in resources(stack.template, "AWS::Events::Rule").items():
            for target in rule["Properties"]["Targets"]:
                assert "RetryPolicy" in target, rule_id
                assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][1] == "Arn", rule_id


def test_given_every_function_when_packaged_then_some_rule_invokes_it(
    main_stack: Packaged,
) -> None:
    for name, (logical_id, _) in functions(main_stack.template).items():
        assert rules_for(main_stack.template, logical_id), name


def test_given_every_queue_when_packaged_then_it_is_encrypted_and_alarmed(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    for stack in (main_stack, target_stack):
        alarmed = {
            alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
            for alarm in resources(stack.template, "AWS::CloudWatch::Alarm").values()
            if alarm["Properties"].get("Namespace") == "AWS/SQS"
        }
        for queue_id, queue in resources(stack.template, "AWS::SQS::Queue").items():
            assert queue["Properties"]["SqsManagedSseEnabled"] is True, queue_id
            assert queue_id in alarmed, queue_id


def test_given_the_idempotency_table_when_packaged_then_it_has_the_powertools_layout(
    main_stack: Packaged,
) -> None:
    table = main_stack.template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_given_optional_resources_when_packaged_then_they_are_conditional(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    main = main_stack.template["Resources"]
    assert main["SourceExportBucket"]["Condition"] == "CreateBuckets"
    assert main["RdsExportRole"]["Condition"] == "UseCreatedExportRole"
    assert target_stack.template["Resources"]["TargetExportBucket"]["Condition"] == "CreateBuckets"
    bucket = main["SourceExportBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
