"""redrive on moto: a message is deleted only after its function accepted the event, a
refused one stays, and AWS Lambda is asked for an asynchronous invocation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from events import load_sample
from rds_backup.ops.errors import OperatorError
from rds_backup.ops.redrive import LambdaInvoker, redrive
from tests.support import ACCOUNT

STACK = "rds-backup"  # the seeded world's STACK_NAME default


class Recording:
    """An Invoker (rds_backup.ops.redrive) that accepts, or refuses, every invocation."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def invoke(self, region: str, function_name: str, event: dict[str, Any]) -> None:
        self.calls.append((region, function_name, event))
        if self.refuse:
            raise OperatorError("TooManyRequestsException: Rate exceeded")


@pytest.fixture
def notify_dlq(aws, settings) -> str:
    url: str = aws.client("sqs", settings.source_region).create_queue(
        QueueName=f"{settings.stack_name}-notify-failure-dlq"
    )["QueueUrl"]
    return url


def _record() -> dict[str, Any]:
    """Lambda's invocation record, as an SQS on-failure destination receives it."""
    failure = load_sample("lambda-invocation-failure")["detail"]
    failure["requestContext"]["functionArn"] = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{STACK}-notify:$LATEST"
    )
    return failure


def _messages(aws, settings, url: str) -> int:
    attributes = aws.client("sqs", settings.source_region).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_given_a_parked_record_when_redriven_then_its_payload_goes_to_its_function_then_deleted(
    settings, aws, notify_dlq
):
    record = _record()
    aws.client("sqs", settings.source_region).send_message(
        QueueUrl=notify_dlq, MessageBody=json.dumps(record)
    )
    invoker = Recording()

    summary = redrive(settings, aws, invoker, dry_run=False, out=lambda _: None)

    assert invoker.calls == [("us-east-1", f"{STACK}-notify", record["requestPayload"])]
    assert summary["invoked"] == 1
    assert _messages(aws, settings, notify_dlq) == 0


def test_given_the_function_refuses_when_redriven_then_the_message_stays_and_it_is_said(
    settings, aws, notify_dlq
):
    aws.client("sqs", settings.source_region).send_message(
        QueueUrl=notify_dlq, MessageBody=json.dumps(_record())
    )

    summary = redrive(settings, aws, Recording(refuse=True), dry_run=False, out=lambda _: None)

    assert summary["invoked"] == 0
    assert summary["left"] == 1
    assert "could not be re-driven" in summary["error"]
    (row,) = [m for q in summary["queues"] for m in q["messages"] if "why" in m]
    assert "TooManyRequestsException" in row["why"]
    assert _messages(aws, settings, notify_dlq) == 1  # still there (hidden while it retries)


def test_given_a_message_that_is_not_json_when_redriven_then_it_is_left_with_the_reason(
    settings, aws, notify_dlq
):
    aws.client("sqs", settings.source_region).send_message(QueueUrl=notify_dlq, MessageBody="{")
    invoker = Recording()

    summary = redrive(settings, aws, invoker, dry_run=False, out=lambda _: None)

    assert invoker.calls == []
    assert summary["left"] == 1
    assert _messages(aws, settings, notify_dlq) == 1


def test_given_aws_lambda_when_invoked_then_it_is_asynchronous_and_202_is_required(settings, aws):
    # moto cannot run our handlers; Lambda's answer is stubbed (botocore Stubber)
    client = aws.client("lambda", "us-east-1")
    event = load_sample("rds-0042-snapshot-created")
    with Stubber(client) as stub:
        expected = {
            "FunctionName": f"{STACK}-copy_snapshot",
            "InvocationType": "Event",
            "Payload": json.dumps(event).encode(),
        }
        stub.add_response("invoke", {"StatusCode": 202}, expected)
        stub.add_response("invoke", {"StatusCode": 200}, expected)

        LambdaInvoker(aws).invoke("us-east-1", f"{STACK}-copy_snapshot", event)
        with pytest.raises(OperatorError, match="did not accept"):
            LambdaInvoker(aws).invoke("us-east-1", f"{STACK}-copy_snapshot", event)
        stub.assert_no_pending_responses()
