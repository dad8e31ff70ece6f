"""The local AWS's asynchronous Lambda invocation, for operator commands.

moto cannot run our handlers, so on the local AWS each function's asynchronous invocation
queue is an SQS queue, ``lambda-<function name>``, that the local Lambda runner polls with
Lambda's async semantics (``runner.py``; the rules' targets point at the same queues,
``wiring.py``). Handing an event to that queue is what ``Invoke(InvocationType=Event)``
does on AWS: the event is accepted now and the function runs it, with its retries and its
on-failure destination. ``rds-backup redrive --endpoint-url <local AWS>`` uses this
(``rds_backup.ops.redrive.Invoker``). Only boto3 here: the operator CLI imports it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from rds_backup.aws import Aws

QUEUE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def invocation_queue_name(function_name: str) -> str:
    """The local invocation queue of a function (an SQS name: 80 characters at most)."""
    return QUEUE_NAME.sub("-", f"lambda-{function_name}")[:80]


@dataclass
class LocalQueueInvoker:
    """Invoke asynchronously through the local runner's invocation queue."""

    aws: Aws

    def invoke(self, region: str, function_name: str, event: dict[str, Any]) -> None:
        sqs = self.aws.client("sqs", region)
        url = sqs.get_queue_url(QueueName=invocation_queue_name(function_name))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))


def serves_local_functions(aws: Aws, region: str, function_name: str) -> bool:
    """Is this endpoint a local AWS running our functions (their invocation queue exists)?"""
    try:
        aws.client("sqs", region).get_queue_url(QueueName=invocation_queue_name(function_name))
    except ClientError:
        return False
    return True
