"""EventBridge behaviour moto lacks, added in the open (like ``limits`` does for RDS).

- ``StartReplay`` honours ``Destination.FilterArns``: EventBridge replays only to the rules
  listed there (StartReplay API reference, ReplayDestination); moto 5 sends every archived
  event to every rule on the bus. Without it, a test could not tell a replay confined to
  this stack's rules from one reaching other teams' rules. (moto still ignores the replay's
  time window: the local AWS replays the whole archive; docs/LOCAL_AWS.md.)
- ``TestEventPattern`` answers (moto raises NotImplementedError): ``rds-backup redrive``
  asks it which of this stack's rules a parked event matches, by moto's own matcher, the
  one that routes events on the local bus.

``install()`` patches moto's classes once per process (the moto server and in-process
``mock_aws`` share them); it is idempotent.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.utils import unix_time
from moto.events.models import EventPattern, Replay, ReplayState, events_backends
from moto.events.responses import EventsHandler
from moto.moto_api._internal import mock_random

_originals: dict[tuple[type, str], Any] = {}


def _replay_events(self: Replay, archive: Any) -> None:
    """moto's Replay.replay_events, delivering only to the rules in FilterArns (if any)."""
    event_bus_name = self.destination["Arn"].split("/")[-1]
    allowed = set(self.destination.get("FilterArns") or [])
    backend = events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(event_bus_name)
    for event in archive.events:
        for rule in bus.rules.values():
            if allowed and rule.arn not in allowed:
                continue
            replayed: Any = dict(
                event, **{"id": str(mock_random.uuid4()), "replay-name": self.name}
            )
            rule.send_to_targets(replayed, transform_input=False)
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()


def _test_event_pattern(self: EventsHandler) -> str:
    pattern = self._get_param("EventPattern")
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": EventPattern.load(pattern).matches_event(event)})


_PATCHES: tuple[tuple[type, str, Any], ...] = (
    (Replay, "replay_events", _replay_events),
    (EventsHandler, "test_event_pattern", _test_event_pattern),
)


def install() -> None:
    """Patch moto's EventBridge classes (once per process; later calls do nothing)."""
    for owner, name, replacement in _PATCHES:
        if (owner, name) not in _originals:
            _originals[(owner, name)] = owner.__dict__.get(name)
            setattr(owner, name, replacement)
