"""RDS's API budget in the local AWS: one token bucket per account and region, shared by
every caller, as RDS throttles (RDS User Guide, "Request throttling for the Amazon RDS API":
"Amazon RDS throttles API requests for each AWS account in each AWS Region", from any
source, SDK, CLI, console or third-party tool; "By default, you can make up to 300 requests
in a burst and a sustained 12 requests per second"; over it "An error occurred
(ThrottlingException) when calling the API_name operation: Rate exceeded").

    throttle = Throttle(background=6.0)  # other tools take 6 requests/s of the 12
    with LocalAws(spec, throttle=throttle, **timed) as local:
        ...
    throttle.refused  # Counter of (account, region) → requests answered ThrottlingException

How it is enforced: moto's RDS request handler (``RDSResponse.call_action``) asks the
bucket of the request's account and region for a token before doing anything; without one,
RDS's answer is made instead: HTTP 400, query-protocol XML, code ``ThrottlingException``,
message "Rate exceeded" (botocore's standard and adaptive retry modes count the code as a
throttling error and back off). Every RDS request a handler makes takes a token; ``exempt``
says which requests are the test rig's own (the harness passes "no handler is running": its
seeding and looking), which take none and are never refused.

Time: the bucket refills on the local AWS's clock (the virtual clock in timed mode, else
the monotonic one). The local Lambda runner runs one invocation at a time and a virtual
instant lasts no time, so each request is given ``call_seconds`` of its own (a request's
latency over the few Lambda invocations that run at once on AWS): requests made at one
virtual instant are spread over the following seconds, at most ``1 / call_seconds`` a
second. botocore's retry pause (``time.sleep`` in botocore.endpoint) is spent on that
same time line, not on the wall, so a backed-off retry finds the tokens refilled since.

The background load stands for the other tools of the account (console, IaC, monitoring):
``background`` requests a second taken from the bucket all the time, leaving ``rate -
background`` to refill for us.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.endpoint
from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.responses import RDSResponse

BURST = 300  # requests in a burst, per account and region
RATE = 12.0  # requests a second, sustained
CALL_SECONDS = 0.02  # each request's share of time on the local time line (50 a second)
CODE = "ThrottlingException"
MESSAGE = "Rate exceeded"


class RateExceeded(RDSClientError):
    """What RDS answers over its API budget (HTTP 400)."""

    def __init__(self) -> None:
        super().__init__(CODE, MESSAGE)


@dataclass
class Bucket:
    tokens: float
    at: float  # seconds on the throttle's time line when ``tokens`` was last brought up to date


@dataclass
class Throttle:
    """The token buckets of every account and region (module docstring)."""

    burst: int = BURST
    rate: float = RATE
    background: float = 0.0  # requests/s other tools of the account take, in every region
    call_seconds: float = CALL_SECONDS
    exempt: Callable[[], bool] = field(default=lambda: False, repr=False)
    clock: Callable[[], float] | None = field(default=None, repr=False)  # seconds, monotonic
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict, repr=False)
    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (account, region) → whole second of the time line → requests accepted in it
    per_second: dict[tuple[str, str], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter), repr=False
    )
    _cursor: float = field(default=-math.inf, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> float:
        """The time line's present: the clock, or later while requests are queued on it."""
        base = self.clock() if self.clock is not None else time.monotonic()
        return max(base, self._cursor)

    def take(self, account: str, region: str) -> bool:
        """One request of ``account`` in ``region``: True if a token was there (taken)."""
        if self.exempt():
            return True  # the harness seeding or looking: not a caller on AWS
        with self._lock:
            now = self.now()
            key = (account, region)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = Bucket(float(self.burst), now)
            refill = (self.rate - self.background) * (now - bucket.at)
            bucket.tokens = min(float(self.burst), max(0.0, bucket.tokens + refill))
            bucket.at = now
            self._cursor = now + self.call_seconds
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                self.accepted[key] += 1
                self.per_second[key][math.floor(now)] += 1
                return True
            self.refused[key] += 1
            return False

    def wait(self, seconds: float) -> None:
        """A caller pauses ``seconds`` (botocore's retry backoff) on the time line."""
        with self._lock:
            self._cursor = max(self.now(), self._cursor) + max(0.0, seconds)

    def peak_per_second(self, region: str) -> int:
        """The most requests accepted in one second of the time line, in ``region``."""
        return max(
            (max(s.values(), default=0) for (_, r), s in self.per_second.items() if r == region),
            default=0,
        )

    def busiest_minute(self, region: str) -> int:
        """The most requests accepted in one minute of the time line, in ``region``."""
        minutes: Counter[int] = Counter()
        for (_, r), seconds in self.per_second.items():
            if r == region:
                for second, n in seconds.items():
                    minutes[second // 60] += n
        return max(minutes.values(), default=0)

    def share_left(self, region: str) -> float:
        """The share of the sustained rate left to the account's other tools during our
        busiest minute in ``region``: 1 - (our requests that minute / 60) / rate."""
        return round(max(0.0, 1.0 - self.busiest_minute(region) / 60 / self.rate), 3)

    def refused_in(self, region: str) -> int:
        return sum(n for (_, r), n in self.refused.items() if r == region)

    # -- installing -------------------------------------------------------------------------

    def install(self) -> None:
        """This throttle answers moto's RDS requests, and botocore's retry pauses are spent
        on its time line (until :meth:`uninstall`)."""
        global _active
        _active = self
        warnings.filterwarnings("ignore", message=rf".*code {CODE} does not match")
        if _ORIGINAL not in _saved:
            _saved[_ORIGINAL] = RDSResponse.__dict__.get("call_action")
            RDSResponse.call_action = _call_action  # type: ignore[method-assign]
        botocore.endpoint.time = _TIME  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        global _active
        if _active is self:
            _active = None
            botocore.endpoint.time = time  # type: ignore[attr-defined]


_ORIGINAL = "call_action"
_saved: dict[str, Any] = {}
_active: Throttle | None = None


def _call_action(self: Any) -> Any:
    throttle = _active
    if throttle is not None and not throttle.take(self.current_account, self.region):
        # as moto answers its own RDS errors (BaseResponse.call_action)
        status, headers, body = self.serialized(ActionResult(RateExceeded()))
        headers["status"] = status
        status, headers, body = self._transform_response(self.response_headers, (body, headers))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body
    original = _saved[_ORIGINAL]
    if original is None:
        return super(RDSResponse, self).call_action()
    return original(self)


class _Time:
    """``time`` as botocore.endpoint sees it while a throttle is installed: its retry pause
    moves the throttle's time line instead of the wall clock."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        if _active is not None:
            _active.wait(seconds)
        else:
            time.sleep(seconds)


_TIME = _Time()
