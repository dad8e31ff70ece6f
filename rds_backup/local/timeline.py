"""What happened on the local AWS, in order: events emitted, handlers invoked, results.

In timed mode (a virtual clock) ``at`` is virtual seconds since the clock's start and each
entry carries its virtual datetime (``when``); otherwise ``at`` is wall seconds."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rds_backup.arns import parse_snapshot_arn

if TYPE_CHECKING:
    from rds_backup.local.clock import VirtualClock

RESULT_WIDTH = 90  # characters of a handler's result or error shown per timeline line


@dataclass(frozen=True)
class Entry:
    at: float  # seconds since the timeline started
    kind: str  # emit | drop | invoke | failure | schedule | replay | note | fault | email
    region: str
    what: str  # the event (EventID or detail-type) or the note
    subject: str = ""  # the snapshot or run it is about
    function: str = ""
    attempt: int = 0
    ok: bool = True
    result: str = ""
    duration_ms: float = 0.0
    api_calls: int = 0
    replay: bool = False
    when: datetime | None = None  # the virtual time (timed mode)


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    entries: list[Entry] = field(default_factory=list)
    api_calls: Counter[str] = field(default_factory=Counter)
    # the same calls by the handler and event that made them: ("notify on RDS-EVENT-0161",
    # "RDS:DescribeExportTasks") -> count
    api_calls_by_handler: Counter[tuple[str, str]] = field(default_factory=Counter)
    # handler API calls refused for an AWS limit, by error code
    refused_calls: Counter[str] = field(default_factory=Counter)
    clock: VirtualClock | None = None

    def now(self) -> float:
        if self.clock is not None:
            return self.clock.elapsed()
        return time.monotonic() - self.started

    def add(self, kind: str, region: str, what: str, **fields: Any) -> Entry:
        if self.clock is not None:
            fields.setdefault("when", self.clock.now())
        entry = Entry(at=self.now(), kind=kind, region=region, what=what, **fields)
        self.entries.append(entry)
        return entry

    def emails(self) -> list[Entry]:
        """One entry per email SES accepted (``when``: its virtual send time)."""
        return [e for e in self.entries if e.kind == "email"]

    def invocations(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "invoke"]

    def invocations_by_function(self) -> dict[str, int]:
        return dict(sorted(Counter(e.function for e in self.invocations()).items()))

    def render(self) -> str:
        """One line per entry: time, region, what happened; invocations as
        ``event → handler  ok|ERR result``."""
        lines = []
        for entry in self.entries:
            stamp = (
                f"+{timedelta(seconds=round(entry.at))}"
                if self.clock is not None
                else f"+{entry.at:6.2f}s"
            )
            head = f"{stamp}  {entry.region:<10} {entry.kind:<8}"
            if entry.kind == "invoke":
                mark = "ok " if entry.ok else "ERR"
                notes = [f"{entry.duration_ms:.0f} ms", f"{entry.api_calls} API calls"]
                if entry.attempt > 1:
                    notes.append(f"attempt {entry.attempt}")
                if entry.replay:
                    notes.append("replayed")
                lines.append(
                    f"{head} {entry.what:<16} → {entry.function:<16} {mark} "
                    f"{_clip(entry.result)}  [{', '.join(notes)}]"
                )
            else:
                subject = f" {entry.subject}" if entry.subject else ""
                result = f" — {entry.result}" if entry.result else ""
                lines.append(f"{head} {entry.what}{subject}{result}")
        return "\n".join(lines)


def _clip(text: str, limit: int = RESULT_WIDTH) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_region(event: dict[str, Any]) -> str:
    """The region of the resource an event is about (never the envelope's, see DESIGN)."""
    detail = event.get("detail") or {}
    payload = detail.get("requestPayload") if isinstance(detail, dict) else None
    if isinstance(payload, dict):
        return event_region(payload)
    arn = detail.get("SourceArn") if isinstance(detail, dict) else None
    for candidate in [arn, *event.get("resources", [])]:
        if isinstance(candidate, str) and candidate.startswith("arn:"):
            parts = candidate.split(":")
            if len(parts) > 3 and parts[3]:
                return parts[3]
    return str(event.get("region", ""))


def event_name(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    if isinstance(detail, dict) and detail.get("EventID"):
        return str(detail["EventID"])
    return str(event.get("detail-type", "?"))


def event_subject(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    if not isinstance(detail, dict):
        return ""
    if isinstance(detail.get("requestPayload"), dict):
        return event_subject(detail["requestPayload"])
    arn = detail.get("SourceArn")
    if isinstance(arn, str):
        try:
            return parse_snapshot_arn(arn).identifier
        except ValueError:
            return arn
    return ""
