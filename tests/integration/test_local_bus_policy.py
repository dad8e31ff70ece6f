"""Events between the local AWS's two accounts: a bus's resource policy decides what another
account may put on it, whether through a rule's target or PutEvents with the bus's ARN
(rds_backup/local/eventbridge.py). In-process moto, real boto3, one session per account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rds_backup.aws import Aws
from rds_backup.local import accounts, eventbridge
from rds_backup.local.accounts import SOURCE_ACCOUNT, VAULT_ACCOUNT

REGION = "us-west-2"
SHARED = "Vault Snapshot Shared"  # a detail-type the vault accepts (names are the chain's)
FINISHED = "Vault Copy Finished"
SOURCE_BUS = f"arn:aws:events:{REGION}:{SOURCE_ACCOUNT}:event-bus/default"


@dataclass
class Buses:
    source: Aws
    vault: Aws
    vault_bus: str  # ARN
    vault_queue: str  # URL of the queue a vault rule sends everything from "rds-backup" to
    source_queue: str  # URL of the queue a source rule sends "rds-backup.vault" events to
    dlq: str  # URL of the source rule's dead-letter queue

    def sent_to_vault(self) -> list[dict[str, Any]]:
        return _drain(self.vault.client("sqs", REGION), self.vault_queue)

    def sent_to_source(self) -> list[dict[str, Any]]:
        return _drain(self.source.client("sqs", REGION), self.source_queue)


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return [
        dict(json.loads(m["Body"]), _attributes=m.get("MessageAttributes", {})) for m in messages
    ]


def _queue(aws: Aws, account: str, name: str) -> tuple[str, str]:
    url = aws.client("sqs", REGION).create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{account}:{name}"


def _rule(aws: Aws, bus: str, name: str, pattern: dict[str, Any], target: dict[str, Any]) -> None:
    events = aws.events(REGION)
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[target])


@pytest.fixture
def buses() -> Iterator[Buses]:
    eventbridge.install()
    eventbridge.forget_failed_deliveries()
    with mock_aws():
        source = Aws(boto3.Session())
        vault = Aws(accounts.assume(boto3.client("sts", REGION), VAULT_ACCOUNT))
        bus = vault.events(REGION).create_event_bus(Name="rds-backup-vault")["EventBusArn"]
        vault_url, vault_arn = _queue(vault, VAULT_ACCOUNT, "vault-sees")
        _rule(vault, "rds-backup-vault", "from-source",
              {"source": ["rds-backup"], "account": [SOURCE_ACCOUNT]},
              {"Id": "q", "Arn": vault_arn})  # fmt: skip
        dlq_url, dlq_arn = _queue(source, SOURCE_ACCOUNT, "to-vault-dlq")
        _rule(source, "default", "to-vault", {"source": ["rds-backup"]},
              {"Id": "vault", "Arn": bus, "DeadLetterConfig": {"Arn": dlq_arn}})  # fmt: skip
        source_url, source_arn = _queue(source, SOURCE_ACCOUNT, "source-sees")
        _rule(source, "default", "from-vault", {"source": ["rds-backup.vault"]},
              {"Id": "q", "Arn": source_arn})  # fmt: skip
        yield Buses(source, vault, bus, vault_url, source_url, dlq_url)
    eventbridge.forget_failed_deliveries()


def _put(aws: Aws, detail_type: str, source: str = "rds-backup", **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = aws.events(REGION).put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": '{"n": 1}', **extra}]
    )
    return answer


def _failed_invocations(aws: Aws) -> float:
    answer = aws.client("cloudwatch", REGION).get_metric_statistics(
        Namespace="AWS/Events",
        MetricName="FailedInvocations",
        Dimensions=[{"Name": "RuleName", "Value": "to-vault"}],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=86400,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in answer["Datapoints"]))


def test_given_no_bus_policy_when_the_source_rule_sends_to_the_vault_then_it_is_not_delivered(
    buses: Buses,
):
    # when
    answer = _put(buses.source, SHARED)

    # then: the sender's PutEvents succeeded; the cross-account delivery failed
    assert answer["FailedEntryCount"] == 0
    assert buses.sent_to_vault() == []
    assert _failed_invocations(buses.source) == 1.0
    [failed] = eventbridge.failed_deliveries()
    assert (failed.error_code, failed.target_arn) == ("NO_PERMISSIONS", buses.vault_bus)
    [parked] = _drain(buses.source.client("sqs", REGION), buses.dlq)
    assert parked["detail-type"] == SHARED
    assert parked["_attributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert parked["_attributes"]["TARGET_ARN"]["StringValue"] == buses.vault_bus


def test_given_a_policy_for_the_source_and_named_detail_types_then_only_those_are_delivered(
    buses: Buses,
):
    # given
    accounts.allow_events(buses.vault.events(REGION), "rds-backup-vault", SOURCE_ACCOUNT, [SHARED])

    # when
    _put(buses.source, SHARED)
    _put(buses.source, "Backup Requested")

    # then
    [delivered] = buses.sent_to_vault()
    assert delivered["detail-type"] == SHARED
    assert delivered["detail"] == {"n": 1}
    assert delivered["region"] == REGION
    assert [f.event["detail-type"] for f in eventbridge.failed_deliveries()] == ["Backup Requested"]
    assert _failed_invocations(buses.source) == 1.0


def test_given_a_policy_for_the_source_when_a_third_account_puts_on_the_vault_bus_then_denied(
    buses: Buses,
):
    # given
    accounts.allow_events(buses.vault.events(REGION), "rds-backup-vault", SOURCE_ACCOUNT, [SHARED])
    stranger = Aws(accounts.assume(buses.source.client("sts", REGION), "111122223333"))

    # when
    answer = _put(stranger, SHARED, EventBusName=buses.vault_bus)

    # then
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    assert buses.sent_to_vault() == []


def test_given_the_source_bus_allows_the_vault_when_it_puts_by_arn_then_the_source_sees_it(
    buses: Buses,
):
    # given
    accounts.allow_events(buses.source.events(REGION), "default", VAULT_ACCOUNT, [FINISHED])

    # when
    answer = buses.vault.events(REGION).put_events(
        Entries=[
            {"Source": "rds-backup.vault", "DetailType": FINISHED, "Detail": "{}",
             "EventBusName": SOURCE_BUS},
            {"Source": "rds-backup.vault", "DetailType": "Vault Cleanup", "Detail": "{}",
             "EventBusName": SOURCE_BUS},
        ]
    )  # fmt: skip

    # then
    assert answer["FailedEntryCount"] == 1
    assert "EventId" in answer["Entries"][0]
    assert answer["Entries"][1]["ErrorCode"] == "NotAuthorizedForDetailTypeException"
    assert [e["detail-type"] for e in buses.sent_to_source()] == [FINISHED]
    own = buses.vault.events(REGION).describe_event_bus(Name="default")
    assert own["Arn"].split(":")[4] == VAULT_ACCOUNT  # its own default bus got nothing


def test_given_no_source_bus_policy_when_the_vault_puts_by_arn_then_access_is_denied(
    buses: Buses,
):
    # when
    answer = _put(buses.vault, FINISHED, source="rds-backup.vault", EventBusName=SOURCE_BUS)

    # then
    assert answer["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    assert buses.sent_to_source() == []


def test_given_an_event_from_the_source_when_the_vault_forwards_it_to_a_third_account_then_no(
    buses: Buses,
):
    # given: the vault passes what it receives on to a third account's bus
    accounts.allow_events(buses.vault.events(REGION), "rds-backup-vault", SOURCE_ACCOUNT)
    third = Aws(accounts.assume(buses.source.client("sts", REGION), "111122223333"))
    elsewhere = third.events(REGION).create_event_bus(Name="audit")["EventBusArn"]
    accounts.allow_events(third.events(REGION), "audit", VAULT_ACCOUNT)
    _rule(buses.vault, "rds-backup-vault", "onwards", {"source": ["rds-backup"]},
          {"Id": "audit", "Arn": elsewhere})  # fmt: skip

    # when
    _put(buses.source, SHARED)

    # then: the vault got it; the third account did not
    assert len(buses.sent_to_vault()) == 1
    codes = [f.error_code for f in eventbridge.failed_deliveries()]
    assert codes == ["THIRD_ACCOUNT_HOP_DETECTED"]
