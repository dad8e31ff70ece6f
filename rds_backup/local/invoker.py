"""Lambda's asynchronous invocation in the local AWS.

moto cannot run our handlers, so on the local AWS each function's asynchronous invocation
queue is an SQS queue, ``lambda-<function name>``, that the local Lambda runner polls with
Lambda's async semantics (``runner.py``; the rules' targets point at the same queues,
``wiring.py``). ``install()`` makes moto's ``Invoke`` with ``InvocationType=Event`` hand the
payload to that queue and answer 202, which is what Lambda does: the event is accepted now,
and the function runs it later with its retries and on-failure destination (Lambda Developer
Guide, "Invoking a Lambda function asynchronously"). So the operator commands call Lambda as
on AWS (``rds-backup redrive`` uses ``Invoke``) and never import this local AWS.

A synchronous ``Invoke`` (``RequestResponse``, the default) of a function registered in
:data:`synchronous` runs its real handler at once and answers its result, or its error with
``X-Amz-Function-Error`` as Lambda does: check_drill asks the drill probe this way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
    name = function_name.rsplit(":function:", 1)[-1].split(":")[0]
    if headers.get("X-Amz-Invocation-Type", "RequestResponse") == "RequestResponse" and (
        name in synchronous
    ):
        return _answer(name, body, response_headers)
    return _original_invoke(self, function_name, qualifier, body, headers, response_headers)


# Functions the local AWS answers synchronously (RequestResponse), by function name: each
# returns (answer, error) as the real handler gave them (runner.py ``call``).
Synchronous = Callable[[dict[str, Any]], tuple[Any, BaseException | None]]
synchronous: dict[str, Synchronous] = {}


def _answer(name: str, body: Any, response_headers: Any) -> str | bytes | None:
    """Lambda's RequestResponse answer: the handler's JSON result, or its error as the
    Python runtime reports it with ``X-Amz-Function-Error: Unhandled`` (Lambda Developer
    Guide, "Invoke", and "AWS Lambda function errors in Python")."""
    payload = json.loads(body.decode() if isinstance(body, bytes) else str(body or "{}"))
    result, error = synchronous[name](payload)
    if error is not None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})
    return json.dumps(result)


def install() -> None:
    """Idempotent; moto's server and in-process ``mock_aws`` share the class."""
    LambdaBackend.invoke = _invoke  # type: ignore[method-assign]
