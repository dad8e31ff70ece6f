"""AWS faults for the local AWS: make chosen API calls fail the way AWS would, while a
handler runs (the harness's own calls are never touched).

A fault answers before the request is sent (so botocore's retry logic, the handler's
error translation and Lambda's retries all see a real AWS error response), or raises
after a successful call to stand for a Lambda timing out mid-step.

    faults = FaultInjector(seed=7)
    faults.add(Fault("rds:CopyDBSnapshot", "SnapshotQuotaExceeded", times=2))
    faults.add(Fault("*", "Throttling", share=0.2))
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders

from rds_backup.local import runner

# Services whose errors come as query-protocol XML; the others here speak JSON.
QUERY_PROTOCOL = {"rds", "ses", "sqs", "iam", "sts"}


class InjectedTimeout(Exception):
    """A handler 'timed out' right after an AWS call succeeded."""


@dataclass
class Fault:
    operation: str  # "service:Operation" as in botocore event names (rds:CopyDBSnapshot), or "*"
    code: str  # AWS error code, e.g. Throttling, SnapshotQuotaExceeded
    message: str = "injected by the local AWS"
    times: int | None = None  # fail this many matching calls, then let them through
    share: float = 1.0  # probability that a matching call fails (seeded)
    after: bool = False  # let the call succeed, then fail as a timeout would
    status: int = 400
    hits: int = field(default=0, init=False)

    def matches(self, service: str, operation: str) -> bool:
        return self.operation in ("*", f"{service}:{operation}")


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class FaultInjector:
    """Install once per local AWS; add and clear faults as a test goes."""

    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self.random = random.Random(seed)  # noqa: S311 - fault sampling, not security

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def install(self) -> None:
        global _injector  # one injector per process; the running local AWS's
        _injector = self
        for hook in _HOOKS:
            if hook not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append(hook)

    def uninstall(self) -> None:
        global _injector
        if _injector is self:
            _injector = None

    def _pick(self, event_name: str, after: bool) -> Fault | None:
        counter = runner.active_counter()
        if counter is None or not counter.active:
            return None  # only calls made by a running handler
        _, service, operation = event_name.split(".", 2)
        for fault in self.faults:
            if fault.after != after or not fault.matches(service, operation):
                continue
            if fault.times is not None and fault.hits >= fault.times:
                continue
            if fault.share < 1.0 and self.random.random() >= fault.share:
                continue
            fault.hits += 1
            return fault
        return None


_injector: FaultInjector | None = None


def _before_send(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
    fault = _injector._pick(event_name, after=False) if _injector else None
    if fault is None:
        return None
    service = event_name.split(".")[1]
    if service in QUERY_PROTOCOL:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{fault.code}</Code><Message>{fault.message}</Message>"
            "</Error><RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": fault.code}
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(request.url, fault.status, http_headers, _Body(body))


def _after_call(event_name: str, **_: Any) -> None:
    fault = _injector._pick(event_name, after=True) if _injector else None
    if fault is not None:
        raise InjectedTimeout(f"Task timed out after the call {event_name} succeeded (injected)")


_HOOKS = [("before-send", _before_send), ("after-call", _after_call)]
