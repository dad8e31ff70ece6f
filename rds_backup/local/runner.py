"""The local Lambda runner: poll each function's queue and invoke its handler in-process,
with Lambda's asynchronous semantics.

An event is tried up to 1 + MaximumRetryAttempts times; then it takes the function's
on-failure path from the template: a "Lambda Function Invocation Result - Failure" event on
the bus, or the invocation record in an SQS dead-letter queue. Every attempt is written to
the timeline. Retries are immediate, except in timed mode (``runner.clock`` set): then, as
Lambda does (AWS Lambda Developer Guide, "Asynchronous invocation"), the first retry comes
1 minute after the failure and the second 2 minutes after that, on virtual time.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import botocore.handlers
import botocore.parsers
from moto.sqs.models import sqs_backends

from rds_backup import clock as domain_clock
from rds_backup.aws import patched_environ
from rds_backup.local.context import LocalContext
from rds_backup.local.limits import REFUSAL_CODES
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT, Function, Stack
from rds_backup.local.timeline import Timeline, event_name, event_region, event_subject
from rds_backup.local.wiring import Wiring
from rds_backup.observability import SERVICE, logger
from rds_backup.settings import load_settings

if TYPE_CHECKING:
    from rds_backup.local.clock import VirtualClock

FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
# The on-failure record's source on a bus: "lambda" in captured events and older docs,
# "aws.lambda" in today's docs (events/lambda_failure.py). The runner emits either.
FAILURE_SOURCES = ("lambda", "aws.lambda")
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))  # Lambda's async retries
Handler = Callable[[dict[str, Any], Any], Any]
RECEIVE_BATCH = 10


class ApiCalls:
    """Counts the AWS API calls handlers make, by ``service:Operation``.

    A botocore ``before-call`` hook in botocore's built-in handler list, so every botocore
    session created after :meth:`install` carries it (the harness drops the handlers'
    cached session at start). Only calls made while a handler runs are counted, by the
    counter of the running local AWS: the harness's own calls are not.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.active = False
        self.during_invocation = 0
        self.label = ""  # the running handler and its event

    def install(self) -> None:
        global _counter  # one hook per process; the running local AWS counts
        _counter = self
        install_fast_timestamps()
        for hook in (_HOOK, _REFUSAL_HOOK, _RECORD_HOOK):
            if hook not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append(hook)

    def uninstall(self) -> None:
        global _counter
        if _counter is self:
            _counter = None

    def count(self, operation: str) -> None:
        if self.active:
            self.timeline.api_calls[operation] += 1
            self.timeline.api_calls_by_handler[self.label, operation] += 1
            self.during_invocation += 1

    def refused(self, code: str) -> None:
        """A handler's call was refused for an AWS limit (``timeline.refused_calls``)."""
        if self.active:
            self.timeline.refused_calls[code] += 1

    @contextmanager
    def counting(self, label: str = "") -> Iterator[None]:
        self.active, self.during_invocation, self.label = True, 0, label
        try:
            yield
        finally:
            self.active = False


_counter: ApiCalls | None = None


@contextmanager
def handler_output_to(sink: IO[str]) -> Iterator[None]:
    """Send what handlers write (powertools JSON logs on stdout, EMF metrics) to ``sink``
    instead of the terminal, for as long as the block runs."""
    streams = [
        handler
        for handler in logging.getLogger(SERVICE).handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    saved = [handler.setStream(sink) for handler in streams]
    try:
        with redirect_stdout(sink):
            yield
    finally:
        for handler, stream in zip(streams, saved, strict=True):
            if stream is not None:
                handler.setStream(stream)


def active_counter() -> ApiCalls | None:
    """The running local AWS's counter (its ``active`` flag: a handler is running)."""
    return _counter


def _count_call(model: Any, **_: Any) -> None:
    if _counter is not None:
        _counter.count(f"{model.service_model.service_id.replace(' ', '')}:{model.name}")


def _count_refusal(parsed: Any = None, **_: Any) -> None:
    code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    if _counter is not None and code in REFUSAL_CODES:
        _counter.refused(code)


_HOOK = ("before-call", _count_call)
_REFUSAL_HOOK = ("after-call", _count_refusal)


@dataclass(frozen=True)
class RecordedCall:
    """One AWS call a handler made: the IAM service prefix (the model's signing name),
    the operation and the parameters it was given (before validation)."""

    service: str
    operation: str
    params: Mapping[str, Any]


class CallRecorder:
    """The AWS calls each function's handler makes, by function (``Function.short_name``):
    the ground truth the IAM-from-calls test compares with the template's roles
    (tests/e2e/test_iam_from_calls.py). A botocore ``before-parameter-build`` hook keyed by
    the innermost running handler (a function invoked synchronously from a handler, the
    drill probe, runs inside its caller). Only calls made while a handler runs count.

        with CallRecorder() as recorder:
            ...  # run chains on the local AWS
        recorder.calls["copy_snapshot"]
    """

    def __init__(self) -> None:
        self.calls: dict[str, list[RecordedCall]] = defaultdict(list)

    def __enter__(self) -> CallRecorder:
        _recorders.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        _recorders.remove(self)

    def record(self, function: str, call: RecordedCall) -> None:
        self.calls[function].append(call)


_recorders: list[CallRecorder] = []
# The functions whose handlers run now, innermost last, with the thread each runs in: a
# function invoked synchronously runs in the local server's thread, and so do the local
# AWS's own calls while it answers a handler (RDS events of a restore), which are not the
# handler's.
_running: list[tuple[str, int]] = []


def _record_call(model: Any, params: Any = None, **_: Any) -> None:
    if not (_recorders and _running):
        return
    function, thread = _running[-1]
    if thread != threading.get_ident():
        return
    service = model.service_model.signing_name or model.service_model.endpoint_prefix
    call = RecordedCall(service, model.name, dict(params or {}))
    for recorder in _recorders:
        recorder.record(function, call)


_RECORD_HOOK = ("before-parameter-build", _record_call)


class LambdaRunner:
    def __init__(
        self,
        server: LocalServer,
        stack: Stack,
        wiring: Wiring,
        environment: Mapping[str, str],
        timeline: Timeline,
        api_calls: ApiCalls,
    ) -> None:
        self.server = server
        self.stack = stack
        self.wiring = wiring
        self.environment = dict(environment)
        self.timeline = timeline
        self.api_calls = api_calls
        self.sqs = server.client("sqs", stack.region)
        # EventBridge delivers at least once: each event is handed to its function this
        # many times (a knob for duplicate tests; 1 = once).
        self.deliveries = 1
        self.clock: VirtualClock | None = None  # timed mode: retries 1 and 2 minutes apart
        # The source of the on-failure record put on a bus (one of FAILURE_SOURCES).
        self.failure_source = FAILURE_SOURCES[0]
        self._queues = _moto_queues(stack.region, wiring.queues)

    def pending(self) -> int:
        """Messages waiting or in flight in the functions' queues."""
        total = 0
        for url in self.wiring.queues.values():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            total += sum(int(value) for value in attributes.values())
        return total

    def waiting(self) -> bool:
        """Is a message in any of the functions' queues? (moto's queues, read in-process:
        no request per queue per pump step.)"""
        return any(queue is None or queue._messages for queue in self._queues.values())

    def drain(self) -> int:
        """Invoke every function for every message waiting in its queue; return how many."""
        handled = 0
        for logical_id, url in self.wiring.queues.items():
            queue = self._queues.get(logical_id)
            if queue is not None and not queue._messages:
                continue
            function = self.stack.functions[logical_id]
            for body in self._take(url, queue):
                for _ in range(max(1, self.deliveries)):
                    self.invoke(function, json.loads(body))
                handled += 1
        return handled

    def _take(self, url: str, queue: Any) -> list[str]:
        """Receive up to RECEIVE_BATCH messages and delete them: Lambda's async queue hands
        them over, and its retries are its own. From moto's queue in-process when known (no
        request is in flight while the runner drains: handlers run one at a time in this
        thread), which at fleet scale saves two HTTP requests per invocation; the harness's
        plumbing, not a handler's call."""
        if queue is None:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=RECEIVE_BATCH, VisibilityTimeout=60
            ).get("Messages", [])
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ],
                )
            return [str(m["Body"]) for m in messages]
        backend = sqs_backends[ACCOUNT][self.stack.region]
        received = backend.receive_message(queue.name, RECEIVE_BATCH, 0, 60)
        if received:
            backend.delete_message_batch(
                queue.name,
                [{"Id": str(n), "ReceiptHandle": m.receipt_handle} for n, m in enumerate(received)],
            )
        return [str(m.body) for m in received]

    def invoke(self, function: Function, event: dict[str, Any]) -> bool:
        """One asynchronous invocation: attempts, then the on-failure path. True if it
        succeeded (timed mode: if its first attempt did; retries are queued on the clock)."""
        if self.clock is not None:
            return self._timed_attempt(function, event, 1, str(uuid.uuid4()))
        attempts = 1 + function.max_retries
        error: BaseException | None = None
        request_id = str(uuid.uuid4())
        for attempt in range(1, attempts + 1):
            error = self._attempt(function, event, attempt, request_id)
            if error is None:
                return True
        assert error is not None
        self._on_failure(function, event, error, attempts, request_id)
        return False

    def _timed_attempt(
        self, function: Function, event: dict[str, Any], attempt: int, request_id: str
    ) -> bool:
        error = self._attempt(function, event, attempt, request_id)
        if error is None:
            return True
        attempts = 1 + function.max_retries
        if attempt >= attempts or self.clock is None:
            self._on_failure(function, event, error, attempts, request_id)
            return False
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
        self.clock.call_later(
            delay,
            lambda: self._timed_attempt(function, event, attempt + 1, request_id),
            label=f"retry {attempt + 1} of {function.short_name}",
        )
        return False

    def _attempt(
        self, function: Function, event: dict[str, Any], attempt: int, request_id: str
    ) -> BaseException | None:
        context = LocalContext(
            function_name=function.name,
            invoked_function_arn=self.function_arn(function),
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function.name}",
        )
        environment = {
            **function.environment,
            **self.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_REGION": self.stack.region,
        }
        error: BaseException | None = None
        result: Any = None
        started = time.perf_counter()
        label = f"{function.short_name} on {event_name(event)}"
        with patched_environ(environment), self.api_calls.counting(label):
            _running.append((function.short_name, threading.get_ident()))
            load_settings.cache_clear()
            try:
                # Import inside the attempt: a missing module is Runtime.ImportModuleError.
                result = load_handler(function)(event, context)
            except Exception as caught:  # noqa: BLE001 - Lambda catches everything, so do we
                error = caught
                logger.warning(
                    "local invocation failed",
                    function=function.name,
                    attempt=attempt,
                    event_id=event.get("id"),
                    error_type=type(caught).__name__,
                    exc_info=caught,
                )
            finally:
                _running.pop()
        load_settings.cache_clear()
        self.timeline.add(
            "invoke",
            event_region(event),
            event_name(event),
            subject=event_subject(event),
            function=function.short_name,
            attempt=attempt,
            ok=error is None,
            result=describe_result(result) if error is None else describe_error(error),
            duration_ms=(time.perf_counter() - started) * 1000,
            api_calls=self.api_calls.during_invocation,
            replay="replay-name" in event,
        )
        self.last_result = result
        return error

    def call(self, function: Function, event: dict[str, Any]) -> tuple[Any, BaseException | None]:
        """One synchronous invocation (Lambda ``Invoke``, RequestResponse: no retries, no
        on-failure path; the caller gets the answer or the error): (result, error)."""
        error = self._attempt(function, event, 1, str(uuid.uuid4()))
        return (None if error else self.last_result), error

    def _on_failure(
        self,
        function: Function,
        event: dict[str, Any],
        error: BaseException,
        attempts: int,
        request_id: str,
    ) -> None:
        arn = self.function_arn(function)
        record = {
            "version": "1.0",
            "timestamp": domain_clock.now()
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
        }
        destination = function.on_failure
        region = event_region(event)
        if destination is None:
            self.timeline.add(
                "failure",
                region,
                "no on-failure destination: event lost",
                function=function.short_name,
                ok=False,
            )
            return
        if ":sqs:" in destination:
            url = self.wiring.dead_letter.get(destination) or self._queue_url(destination)
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
            where = f"dead-letter queue {destination.rsplit(':', 1)[-1]}"
        else:
            bus_region = destination.split(":")[3] or self.stack.region
            self.server.client("events", bus_region).put_events(
                Entries=[
                    {
                        "Source": self.failure_source,
                        "DetailType": FAILURE_DETAIL_TYPE,
                        "Detail": json.dumps(record),
                        "Resources": [destination, f"{arn}:$LATEST"],
                        "EventBusName": destination,
                    }
                ]
            )
            where = f"{FAILURE_DETAIL_TYPE} on {destination.rsplit(':', 1)[-1]}"
        logger.warning(
            "retries exhausted; on-failure destination used",
            function=function.name,
            attempts=attempts,
            destination=destination,
        )
        self.timeline.add(
            "failure",
            region,
            f"retries exhausted → {where}",
            subject=event_subject(event),
            function=function.short_name,
            ok=False,
        )

    def _queue_url(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        url: str = self.server.client("sqs", arn.split(":")[3]).get_queue_url(QueueName=name)[
            "QueueUrl"
        ]
        return url

    def function_arn(self, function: Function) -> str:
        return f"arn:aws:lambda:{self.stack.region}:{ACCOUNT}:function:{function.name}"


def load_handler(function: Function) -> Handler:
    module = importlib.import_module(function.module)
    handler: Handler = getattr(module, function.attribute)
    return handler


def describe_result(result: Any) -> str:
    if result is None:
        return "returned"
    text = json.dumps(result, default=str, separators=(",", ":"))
    return text


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _moto_queues(region: str, urls: Mapping[str, str]) -> dict[str, Any]:
    """moto's queue objects behind ``urls`` (None where not found: then always drained)."""
    try:
        backend = sqs_backends[ACCOUNT][region]
    except KeyError:
        return {}
    return {
        logical_id: backend.queues.get(url.rstrip("/").rsplit("/", 1)[-1])
        for logical_id, url in urls.items()
    }


def install_fast_timestamps() -> None:
    """Parse the ISO 8601 timestamps in AWS responses with ``datetime.fromisoformat`` (what
    botocore hands to dateutil: a third of a 100-database night's wall time went there).
    The same aware datetimes; anything else (epoch numbers, naive or odd strings) still
    goes to botocore's parser. Local only: handlers in Lambda keep botocore's."""
    original = botocore.parsers.DEFAULT_TIMESTAMP_PARSER
    if getattr(original, "local_fast", False):
        return

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return original(value)
            if parsed.tzinfo is not None:
                return parsed
        return original(value)

    parse.local_fast = True  # type: ignore[attr-defined]
    botocore.parsers.DEFAULT_TIMESTAMP_PARSER = parse
