"""Lambda's asynchronous invocation in the local AWS.

moto cannot run our handlers, so on the local AWS each function's asynchronous invocation
queue is an SQS queue, ``lambda-<function name>``, that the local Lambda runner polls with
Lambda's async semantics (``runner.py``; the rules' targets point at the same queues,
``wiring.py``). ``install()`` makes moto's ``Invoke`` with ``InvocationType=Event`` hand the
payload to that queue and answer 202, which is what Lambda does: the event is accepted now,
and the function runs it later with its retries and on-failure destination (Lambda Developer
Guide, "Invoking a Lambda function asynchronously"). So the operator commands call Lambda as
on AWS (``rds-backup redrive`` uses ``Invoke``) and never import this local AWS.
"""

from __future__ import annotations

import re
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends

QUEUE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_original_invoke = LambdaBackend.invoke


def invocation_queue_name(function_name: str) -> str:
    """The local invocation queue of a function (an SQS name: 80 characters at most)."""
    return QUEUE_NAME.sub("-", f"lambda-{function_name}")[:80]


def _invoke(
    self: LambdaBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    if headers.get("X-Amz-Invocation-Type") == "Event":
        name = function_name.rsplit(":function:", 1)[-1].split(":")[0]
        sqs = sqs_backends[self.account_id][self.region_name]
        payload = body.decode() if isinstance(body, bytes) else str(body)
        try:
            sqs.send_message(invocation_queue_name(name), payload)
        except QueueDoesNotExist:
            pass  # not one of the runner's functions: moto's own answer
        else:
            response_headers["Content-Length"] = "0"
            return b""
    return _original_invoke(self, function_name, qualifier, body, headers, response_headers)


def install() -> None:
    """Idempotent; moto's server and in-process ``mock_aws`` share the class."""
    LambdaBackend.invoke = _invoke  # type: ignore[method-assign]
