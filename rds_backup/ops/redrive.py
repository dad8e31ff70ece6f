"""``rds-backup redrive``: give the events parked in the stack's dead-letter queues back to
the functions that should have handled them.

PutEvents refuses any ``Source`` starting with ``aws.`` (EventBridge API reference,
PutEventsRequestEntry: "aws." sources are reserved for AWS services), so an RDS event parked
in a DLQ cannot be put back on a bus. Instead each message is handed to the right function
by an asynchronous invocation (``InvocationType=Event``, what EventBridge itself does), and
the message is deleted only after the invocation was accepted; a refused one stays queued
(visible again after its visibility timeout) and is reported.

The queues (infra/resources/queues.yml, infra/target-region/serverless.yml):

- ``<stack>-rule-target-dlq`` (source region): the event itself; EventBridge's message
  attributes name the rule (``RULE_ARN``) and the function (``TARGET_ARN``).
- ``<stack>-notify-failure-dlq`` (source region): Lambda's invocation record; the function
  is ``requestContext.functionArn``, the event ``requestPayload``.
- ``<stack>-forward-dlq`` (target region): an RDS event that never reached the source
  region's bus; every function whose chain rule there matches it (EventBridge's own
  ``TestEventPattern``) gets it, as the bus would have delivered it.

How a function is invoked is an :class:`Invoker`: AWS Lambda's asynchronous ``Invoke``
(:class:`LambdaInvoker`), on AWS and on the local AWS alike (there, ``Invoke`` hands the
event to the local Lambda runner: rds_backup/local/invoker.py); tests pass their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from rds_backup.aws import Aws
from rds_backup.ops.errors import OperatorError
from rds_backup.ops.target import chain_rule_arns
from rds_backup.settings import Settings

Print = Callable[[str], None]
RECEIVE_BATCH = 10  # SQS ReceiveMessage's maximum
HOLD_SECONDS = 120  # a message being re-driven is hidden this long (visible again if left)
MAX_MESSAGES = 1000  # per queue and run; run again for more


class Invoker(Protocol):
    """Invoke a function asynchronously with an event; raise if it was not accepted."""

    def invoke(self, region: str, function_name: str, event: dict[str, Any]) -> None: ...


@dataclass
class LambdaInvoker:
    """AWS Lambda's asynchronous invocation (``InvocationType=Event``): Lambda queues the
    event and answers 202; its retries and on-failure destination apply as for any event."""

    aws: Aws

    def invoke(self, region: str, function_name: str, event: dict[str, Any]) -> None:
        answer = self.aws.client("lambda", region).invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
        if answer.get("StatusCode") != 202 or answer.get("FunctionError"):
            raise OperatorError(
                f"Lambda did not accept the event for {function_name}: status "
                f"{answer.get('StatusCode')} {answer.get('FunctionError') or ''}".strip()
            )


@dataclass(frozen=True)
class Parked:
    """One DLQ message: where it is, and what it holds."""

    queue: str
    region: str
    message_id: str
    receipt: str
    event: dict[str, Any] | None  # the event to hand over (None: not understood)
    functions: tuple[str, ...]  # who gets it
    why: str = ""  # why it cannot be re-driven, when it cannot

    def describe(self) -> str:
        event = self.event or {}
        raw = event.get("detail")
        detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
        what = str(event.get("detail-type") or "?")
        subject = detail.get("SourceIdentifier") or detail.get("EventID") or event.get("id")
        return f"{what} {subject or ''}".strip()


@dataclass
class QueueReport:
    queue: str
    region: str
    messages: list[dict[str, Any]] = field(default_factory=list)


def redrive(
    settings: Settings, aws: Aws, invoker: Invoker, *, dry_run: bool, out: Print
) -> dict[str, Any]:
    """Re-drive every message of the stack's DLQs; return the summary (see module doc)."""
    reports = []
    invoked = left = 0
    for region, queue in dead_letter_queues(settings):
        report = QueueReport(queue, region)
        reports.append(report)
        url = _queue_url(aws, region, queue)
        if url is None:
            out(f"{region} {queue}: not found (is the stack deployed there?)")
            report.messages.append({"action": "missing"})
            continue
        sqs = aws.client("sqs", region)
        for parked in _parked(settings, aws, region, queue, url, dry_run):
            row: dict[str, Any] = {
                "message_id": parked.message_id,
                "event": parked.describe(),
                "functions": list(parked.functions),
            }
            if not parked.functions:
                row["action"] = "left"
                row["why"] = parked.why
                left += 1
            elif dry_run:
                row["action"] = "would invoke"
            else:
                # every function of this stack lives in the source region
                failed = _hand_over(invoker, settings.source_region, parked)
                if failed:
                    row["action"] = "left"
                    row["why"] = failed
                    left += 1
                else:
                    # only now: the invocation was accepted
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=parked.receipt)
                    row["action"] = "invoked"
                    invoked += 1
            report.messages.append(row)
            out(
                f"{region} {queue}: {parked.describe()} -> "
                f"{', '.join(parked.functions) or '?'}: {row['action']}"
                + (f" ({row['why']})" if row.get("why") else "")
            )
    would = sum(1 for r in reports for m in r.messages if m.get("action") == "would invoke")
    out(
        f"{would} messages would be re-driven (dry run: nothing invoked or deleted)"
        if dry_run
        else f"{invoked} re-driven and deleted, {left} left in their queues"
    )
    summary = {
        "dry_run": dry_run,
        "invoked": invoked,
        "left": left,
        "queues": [r.__dict__ for r in reports],
    }
    if left and not dry_run:
        summary["error"] = f"{left} messages could not be re-driven; they stay in their queues"
    return summary


def dead_letter_queues(settings: Settings) -> list[tuple[str, str]]:
    """(region, queue name) of every DLQ whose messages are events for our functions."""
    stack = settings.stack_name
    return [
        (settings.source_region, f"{stack}-rule-target-dlq"),
        (settings.source_region, f"{stack}-notify-failure-dlq"),
        (settings.target_region, f"{stack}-forward-dlq"),
    ]


def _queue_url(aws: Aws, region: str, queue: str) -> str | None:
    try:
        url: str = aws.client("sqs", region).get_queue_url(QueueName=queue)["QueueUrl"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None
        raise
    return url


def _parked(
    settings: Settings, aws: Aws, region: str, queue: str, url: str, dry_run: bool
) -> Iterator[Parked]:
    """Every message of the queue once. A dry run leaves them visible (and stops when the
    queue answers only messages already seen); a redrive hides each while it works."""
    sqs = aws.client("sqs", region)
    seen: set[str] = set()
    while len(seen) < MAX_MESSAGES:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            VisibilityTimeout=0 if dry_run else HOLD_SECONDS,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield _understand(settings, aws, region, queue, message)


def _understand(
    settings: Settings, aws: Aws, region: str, queue: str, message: dict[str, Any]
) -> Parked:
    base = {
        "queue": queue,
        "region": region,
        "message_id": message["MessageId"],
        "receipt": message["ReceiptHandle"],
    }
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return Parked(**base, event=None, functions=(), why="the message is not JSON")
    if not isinstance(body, dict):
        return Parked(**base, event=None, functions=(), why="the message is not an event")
    context = body.get("requestContext")
    if isinstance(context, dict) and "requestPayload" in body:
        # Lambda's invocation record (an SQS on-failure destination)
        function = _function_name(str(context.get("functionArn", "")))
        event = body.get("requestPayload")
        if not function or not isinstance(event, dict):
            return Parked(**base, event=None, functions=(), why="no function or event inside")
        return _ours(settings, Parked(**base, event=event, functions=(function,)))
    attributes = {
        name: str(value.get("StringValue", ""))
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    target = attributes.get("TARGET_ARN", "")
    if ":lambda:" in target and ":function:" in target:
        # EventBridge could not invoke this function (rule-target DLQ)
        return _ours(settings, Parked(**base, event=body, functions=(_function_name(target),)))
    # An event that never reached the source bus (the forwarder's DLQ): every function of
    # our chain rules there that matches it, as the bus would have delivered it.
    functions = _matching_functions(settings, aws, body)
    if not functions:
        return Parked(
            **base, event=body, functions=(), why="no chain rule of this stack matches it"
        )
    return Parked(**base, event=body, functions=functions)


def _ours(settings: Settings, parked: Parked) -> Parked:
    """Only this stack's functions are invoked (a queue policy mistake must not make us
    invoke someone else's function)."""
    foreign = [f for f in parked.functions if not f.startswith(f"{settings.stack_name}-")]
    if foreign:
        return Parked(
            parked.queue,
            parked.region,
            parked.message_id,
            parked.receipt,
            parked.event,
            (),
            why=f"{', '.join(foreign)} is not a function of {settings.stack_name}",
        )
    return parked


def _function_name(arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier]
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 and parts[5] == "function" else ""


def _matching_functions(settings: Settings, aws: Aws, event: dict[str, Any]) -> tuple[str, ...]:
    events = aws.events(settings.source_region)
    functions: list[str] = []
    for name in sorted(chain_rule_arns(events, settings)):
        rule = events.describe_rule(Name=name)
        pattern = rule.get("EventPattern")
        if not pattern:
            continue
        if not events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]:
            continue
        for target in events.list_targets_by_rule(Rule=name).get("Targets", []):
            function = _target_function(settings, str(target.get("Arn", "")))
            if function and function not in functions:
                functions.append(function)
    return tuple(functions)


def _target_function(settings: Settings, arn: str) -> str:
    """The function a rule target invokes: a Lambda ARN, or, on the local AWS, the local
    runner's queue ``lambda-<function>`` that stands for it (rds_backup/local/wiring.py)."""
    if ":lambda:" in arn:
        return _function_name(arn)
    name = arn.rsplit(":", 1)[-1]
    if ":sqs:" in arn and name.startswith(f"lambda-{settings.stack_name}-"):
        return name.removeprefix("lambda-")
    return ""


def _hand_over(invoker: Invoker, region: str, parked: Parked) -> str:
    """Invoke every function; return why not, or '' when every invocation was accepted. (A
    message for several functions stays whole if one refuses; invoking the others again
    on the next redrive is harmless: the handlers find their work done.)"""
    assert parked.event is not None
    for function in parked.functions:
        try:
            invoker.invoke(region, function, parked.event)
        except (ClientError, OperatorError) as error:
            return f"invoking {function} failed: {error}"
    return ""
