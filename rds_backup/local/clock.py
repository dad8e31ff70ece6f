"""The virtual clock of the local AWS's timed mode: virtual time and a timer queue.

Nothing sleeps: the harness's pump asks for the next due timer, moves the clock there and
runs what is due, in time order (ties in the order they were queued). While the harness
runs in timed mode the domain reads this clock (``rds_backup.clock.use(clock.now)``), and so
do moto's RDS timestamps.

    clock = VirtualClock(datetime(2026, 1, 5, 2, 55, tzinfo=UTC))
    clock.call_later(timedelta(minutes=20), lambda: print("snapshot done"))
    clock.run_until(clock.now() + timedelta(hours=1))
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(order=True)
class Timer:
    """A callback due at ``due``. ``background`` timers (recurring schedules) do not keep
    the world busy: ``run_until_quiet`` stops when only those are left."""

    due: datetime
    seq: int
    fn: Callable[[], object] = field(compare=False)
    label: str = field(default="", compare=False)
    background: bool = field(default=False, compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Virtual UTC time that only moves when told to. Thread-safe for queuing (moto's
    server thread queues transitions while a handler's request is served)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.start = start.astimezone(UTC)
        self._now = self.start
        self._queue: list[Timer] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def elapsed(self) -> float:
        """Virtual seconds since the clock started."""
        return (self._now - self.start).total_seconds()

    def call_at(
        self, when: datetime, fn: Callable[[], object], label: str = "", background: bool = False
    ) -> Timer:
        """Run ``fn`` when the clock reaches ``when`` (at once on the next run if past)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        timer = Timer(max(when, self._now), next(self._seq), fn, label, background)
        with self._lock:
            heapq.heappush(self._queue, timer)
        return timer

    def call_later(
        self, delay: timedelta, fn: Callable[[], object], label: str = "", background: bool = False
    ) -> Timer:
        return self.call_at(self._now + delay, fn, label, background)

    def next_due(self, *, include_background: bool = True) -> datetime | None:
        """When the earliest live timer is due (None: nothing queued)."""
        with self._lock:
            while self._queue and self._queue[0].cancelled:
                heapq.heappop(self._queue)
            if include_background:
                return self._queue[0].due if self._queue else None
            live = [t.due for t in self._queue if not t.cancelled and not t.background]
        return min(live) if live else None

    def busy(self) -> bool:
        """Is any timer other than a background one queued?"""
        with self._lock:
            return any(not t.cancelled and not t.background for t in self._queue)

    def advance_to(self, when: datetime) -> None:
        """Move the clock forward to ``when`` (never backwards); runs nothing."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when > self._now:
            self._now = when

    def run_due(self) -> int:
        """Run every timer due at or before now, in order; return how many ran. Timers
        queued by a callback for now run in the same call."""
        ran = 0
        while True:
            with self._lock:
                if not self._queue or self._queue[0].due > self._now:
                    return ran
                timer = heapq.heappop(self._queue)
            if not timer.cancelled:
                timer.fn()
                ran += 1

    def pending(self) -> list[Timer]:
        """The queued live timers, earliest first (for looking, not for changing)."""
        with self._lock:
            return sorted(t for t in self._queue if not t.cancelled)

    def run_until(self, when: datetime) -> int:
        """Run every timer due up to ``when`` in time order, then stand at ``when``."""
        ran = 0
        while (due := self.next_due()) is not None and due <= when:
            self.advance_to(due)
            ran += self.run_due()
        self.advance_to(when)
        return ran


@contextmanager
def virtual_moto_time(clock: VirtualClock) -> Iterator[None]:
    """moto's RDS reads the virtual clock for the block: SnapshotCreateTime, export and
    event times follow it (cleanup computes ages from SnapshotCreateTime)."""
    import moto.rds.models as rds_models

    saved = getattr(rds_models, "utcnow")  # noqa: B009 - not re-exported by moto
    setattr(rds_models, "utcnow", lambda: clock.now().replace(tzinfo=None))  # naive UTC  # noqa: B010
    try:
        yield
    finally:
        setattr(rds_models, "utcnow", saved)  # noqa: B010


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def next_run(expression: str, after: datetime, *, inclusive: bool = False) -> datetime:
    """When an EventBridge schedule ``expression`` fires next after ``after`` (or at it,
    if ``inclusive``). Supported: ``rate(N minute|minutes|hour|hours|day|days)`` (counted
    from ``after``) and daily ``cron(M H * * ? *)`` with plain numbers; others raise."""
    if rate := _RATE.match(expression):
        seconds = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
        if seconds <= 0:
            raise ValueError(f"schedule {expression!r}: the rate must be positive")
        return after + timedelta(seconds=seconds)
    if cron := _CRON.match(expression):
        minute, hour = int(cron.group(1)), int(cron.group(2))
        if minute > 59 or hour > 23:
            raise ValueError(f"schedule {expression!r}: no such time of day")
        when = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if when < after or (when == after and not inclusive):
            when += timedelta(days=1)
        return when
    raise ValueError(
        f"schedule {expression!r} is not supported by the virtual clock: use "
        "rate(N minute|minutes|hour|hours|day|days) or cron(M H * * ? *) with numbers"
    )
