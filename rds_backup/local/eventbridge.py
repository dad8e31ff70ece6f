"""EventBridge behaviour moto lacks, added in the open (like ``limits`` does for RDS).

- ``StartReplay`` honours ``Destination.FilterArns``: EventBridge replays only to the rules
  listed there (StartReplay API reference, ReplayDestination); moto 5 sends every archived
  event to every rule on the bus. Without it, a test could not tell a replay confined to
  this stack's rules from one reaching other teams' rules. (moto still ignores the replay's
  time window: the local AWS replays the whole archive; docs/LOCAL_AWS.md.)
- ``TestEventPattern`` answers (moto raises NotImplementedError): ``rds-backup redrive``
  asks it which of this stack's rules a parked event matches, by moto's own matcher, the
  one that routes events on the local bus.
- **Across accounts**, an event bus's resource policy decides (moto stores it, never reads
  it; EventBridge User Guide, "Sending and receiving events between AWS accounts" and
  "Permissions for event buses"). Its statements are evaluated by ``policy.py``, with the
  condition keys ``events:source``, ``events:detail-type``, ``events:eventBusInvocation`` and
  ``aws:PrincipalAccount``:
  - a rule whose target is another account's bus delivers there only when that bus's policy
    lets the rule's account (or the target's RoleArn) put the event. Otherwise the sender's
    PutEvents has still succeeded and the event is simply not delivered: the rule's
    ``FailedInvocations`` metric (AWS/Events, RuleName [+ EventBusName]) counts it, and the
    target's dead-letter queue, if any, gets it with RULE_ARN, TARGET_ARN, ERROR_CODE
    (``NO_PERMISSIONS``, ``NO_RESOURCE``, ``THIRD_ACCOUNT_HOP_DETECTED``) and ERROR_MESSAGE
    attributes, without retries (EventBridge User Guide, "Monitoring Amazon EventBridge",
    "Using dead-letter queues to process undelivered events": errors from missing
    permissions are not retried). ``failed_deliveries()`` lists them for tests. The event
    arrives with its own ``account``, ``region``, ``time``, ``resources`` and ``id`` (moto
    put a new event stamped with the receiver's account), and no Input transformation
    (PutTargets: not available for another account's bus). An event received from another
    account is not sent on to a third one ("these events are not sent to the third account").
  - PutEvents with ``EventBusName`` set to another account's bus ARN goes to that bus (moto
    used the bus of that *name* in the caller's account) when its policy allows it; else the
    entry fails with ``AccessDeniedException``, or ``NotAuthorizedForDetailTypeException`` /
    ``NotAuthorizedForSourceException`` when the caller's only statements fail on that
    condition (PutEventsResultEntry, ErrorCode).
  Same-account targets and puts are untouched (moto's, quirks included).

``install()`` patches moto's classes once per process (the moto server and in-process
``mock_aws`` share them); it is idempotent.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.utils import unix_time
from moto.events.models import (  # type: ignore[attr-defined]
    _BASE_EVENT_MESSAGE,
    EventPattern,
    EventsBackend,
    Replay,
    ReplayState,
    Rule,
    events_backends,
)
from moto.events.responses import EventsHandler
from moto.moto_api._internal import mock_random
from moto.sqs.models import sqs_backends

from rds_backup.local import policy

PUT_EVENTS = "events:PutEvents"
_originals: dict[tuple[type, str], Any] = {}


@dataclass(frozen=True)
class FailedDelivery:
    """An event a rule could not deliver to another account's bus (what FailedInvocations
    counts and a target's dead-letter queue would hold)."""

    rule_arn: str
    target_arn: str
    error_code: str
    message: str
    event: dict[str, Any]


_failed: list[FailedDelivery] = []


def failed_deliveries() -> list[FailedDelivery]:
    return list(_failed)


def forget_failed_deliveries() -> None:
    _failed.clear()


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


# -- across accounts ----------------------------------------------------------------------


def _bus_of(arn: str) -> tuple[str, str, str] | None:
    """(account, region, bus name) of an event bus ARN; None for anything else."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "events" or not parts[5].startswith("event-bus/"):
        return None
    return parts[4], parts[3], parts[5].removeprefix("event-bus/")


def _context(event: dict[str, Any], account: str, forwarded: bool) -> dict[str, str]:
    return {
        "events:source": str(event.get("source", "")),
        "events:detail-type": str(event.get("detail-type", "")),
        "events:eventBusInvocation": "true" if forwarded else "false",
        "aws:PrincipalAccount": account,
        "aws:SourceAccount": account,
    }


def _put_on(bus: Any, event: dict[str, Any]) -> None:
    """What moto does with an event on a bus: every rule sees it."""
    for rule in list(bus.rules.values()):
        rule.send_to_targets(copy.deepcopy(event))


class _Targets:
    """A rule seen with only some of its targets (moto's own delivery for those)."""

    def __init__(self, rule: Any, targets: list[dict[str, Any]]) -> None:
        self._rule = rule
        self.targets = targets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def _send_to_targets(
    self: Any, original_event: dict[str, Any], transform_input: bool = True
) -> None:
    original = _originals[(Rule, "send_to_targets")]
    crossing = [t for t in self.targets if (bus := _bus_of(t["Arn"])) and bus[0] != self.account_id]
    if not crossing:
        original(self, original_event, transform_input)
        return
    if not self.event_pattern.matches_event(original_event):
        return
    others = [t for t in self.targets if t not in crossing]
    if others:
        original(_Targets(self, others), original_event, transform_input)
    for target in crossing:
        _deliver(self, target, original_event)


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    bus_ref = _bus_of(target["Arn"])
    assert bus_ref is not None
    account, region, name = bus_ref
    origin = str(event.get("account") or rule.account_id)
    if origin != rule.account_id and account != origin:
        why = "An event received from another account is not sent on to a third account."
        _fail(rule, target, event, "THIRD_ACCOUNT_HOP_DETECTED", why)
        return
    bus = events_backends[account][region].event_buses.get(name)
    if bus is None:
        _fail(rule, target, event, "NO_RESOURCE", f"Event bus {target['Arn']} does not exist.")
        return
    caller = policy.Caller(rule.account_id, target.get("RoleArn"))
    decision = policy.evaluate(
        bus.policy, caller, PUT_EVENTS, bus.arn, _context(event, rule.account_id, True)
    )
    if not decision.allowed:
        _fail(rule, target, event, "NO_PERMISSIONS", _denied(caller, bus.arn))
        return
    _put_on(bus, dict(event, account=origin))


def _denied(caller: policy.Caller, bus_arn: str) -> str:
    # The IAM User Guide's wording for a refusal by a resource-based policy.
    return (
        f"User: {caller.arn or caller.root} is not authorized to perform: {PUT_EVENTS} on "
        f"resource: {bus_arn} because no resource-based policy allows the {PUT_EVENTS} action"
    )


def _fail(rule: Any, target: dict[str, Any], event: dict[str, Any], code: str, why: str) -> None:
    _failed.append(FailedDelivery(rule.arn, target["Arn"], code, why, copy.deepcopy(event)))
    dimensions = [{"Name": "RuleName", "Value": rule.name}]
    if rule.event_bus_name != "default":
        dimensions.append({"Name": "EventBusName", "Value": rule.event_bus_name})
    cloudwatch_backends[rule.account_id][rule.region_name].put_metric_data(
        "AWS/Events",
        [{"MetricName": "FailedInvocations", "Value": 1.0, "Unit": "Count",
          "Dimensions": dimensions}],
    )  # fmt: skip
    queue = (target.get("DeadLetterConfig") or {}).get("Arn")
    if queue:
        attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": code,
                      "ERROR_MESSAGE": why}  # fmt: skip
        parts = queue.split(":")
        sqs_backends[parts[4]][parts[3]].send_message(
            parts[5],
            json.dumps(event, default=str),
            message_attributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        )


def _put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    original = _originals[(EventsBackend, "put_events")]
    crossing = {
        index
        for index, entry in enumerate(events)
        if (bus := _bus_of(str(entry.get("EventBusName") or ""))) and bus[0] != self.account_id
    }
    if not crossing or len(events) > 10:
        result: list[dict[str, Any]] = original(self, events)
        return result
    local = iter(original(self, [e for i, e in enumerate(events) if i not in crossing]))
    return [
        _put_across(self, entry) if index in crossing else next(local)
        for index, entry in enumerate(events)
    ]


def _put_across(backend: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """One PutEvents entry whose EventBusName is another account's bus ARN."""
    for field in ("Source", "DetailType", "Detail"):
        if not entry.get(field):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {field} is not valid. Reason: {field} is a required "
                "argument.",
            }
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    arn = str(entry["EventBusName"])
    account, region, name = _bus_of(arn) or ("", "", "")
    bus = events_backends[account][region].event_buses.get(name)
    caller = policy.Caller(backend.account_id)
    event: dict[str, Any] = dict(copy.deepcopy(_BASE_EVENT_MESSAGE))
    event.update(
        {
            "id": str(mock_random.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": backend.account_id,
            "time": entry.get("Time", unix_time()),
            "region": region,
            "resources": entry.get("Resources", []),
            "detail": detail,
            "ingestion-time": unix_time(),
        }
    )
    decision = (
        policy.evaluate(
            bus.policy, caller, PUT_EVENTS, bus.arn, _context(event, backend.account_id, False)
        )
        if bus is not None
        else policy.Decision(allowed=False)
    )
    if not decision.allowed:
        # The caller cannot tell a bus it may not use from one that does not exist.
        code = "AccessDeniedException"
        if not decision.denied and decision.failed_keys == {"events:detail-type"}:
            code = "NotAuthorizedForDetailTypeException"
        elif not decision.denied and decision.failed_keys == {"events:source"}:
            code = "NotAuthorizedForSourceException"
        return {"ErrorCode": code, "ErrorMessage": _denied(caller, arn)}
    assert bus is not None
    _put_on(bus, event)
    return {"EventId": event["id"]}


_PATCHES: tuple[tuple[type, str, Any], ...] = (
    (Replay, "replay_events", _replay_events),
    (EventsHandler, "test_event_pattern", _test_event_pattern),
    (Rule, "send_to_targets", _send_to_targets),
    (EventsBackend, "put_events", _put_events),
)


def install() -> None:
    """Patch moto's EventBridge classes (once per process; later calls do nothing)."""
    for owner, name, replacement in _PATCHES:
        if (owner, name) not in _originals:
            _originals[(owner, name)] = owner.__dict__.get(name)
            setattr(owner, name, replacement)
