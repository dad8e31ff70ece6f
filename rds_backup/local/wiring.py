"""Load a stack's EventBridge rules, archive and queues into the local AWS.

moto cannot invoke Lambda, so every rule that targets a function targets that function's
SQS queue instead; the local Lambda runner polls the queues. Bus targets (the target
region's forwarder) stay bus targets: moto forwards across regions itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rds_backup.local.invoker import invocation_queue_name
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT, Function, Stack

FORWARDER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/rds-backup-local-forwarder"


@dataclass
class Wiring:
    """Where each function's events land, per region."""

    region: str
    queues: dict[str, str] = field(default_factory=dict)  # function logical id → queue URL
    schedules: dict[str, str] = field(default_factory=dict)  # schedule rule name → rule ARN
    # schedule rule name → queues of the functions it invokes (the harness fires schedules)
    scheduled: dict[str, list[str]] = field(default_factory=dict)
    dead_letter: dict[str, str] = field(default_factory=dict)  # queue ARN → queue URL
    archives: dict[str, str] = field(default_factory=dict)  # archive name → archive ARN

    def bus_arn(self, bus: str = "default") -> str:
        return f"arn:aws:events:{self.region}:{ACCOUNT}:event-bus/{bus}"


def function_queue_name(function: Function) -> str:
    """The function's local invocation queue (invoker.py names it, for operator commands)."""
    return invocation_queue_name(function.name)


def install(server: LocalServer, stack: Stack) -> Wiring:
    """Create queues, rules (SQS targets for functions) and archives for ``stack``."""
    region = stack.region
    sqs = server.client("sqs", region)
    events = server.client("events", region)
    wiring = Wiring(region)
    for name in stack.queues:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        wiring.dead_letter[f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"] = url
    queue_arns: dict[str, str] = {}
    for logical_id, function in stack.functions.items():
        name = function_queue_name(function)
        wiring.queues[logical_id] = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arns[logical_id] = f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
    buses = {"default"}
    for rule in stack.rules:
        if rule.event_bus not in buses:
            events.create_event_bus(Name=rule.event_bus)
            buses.add(rule.event_bus)
        if rule.schedule:
            events.put_rule(
                Name=rule.name,
                ScheduleExpression=rule.schedule,
                EventBusName=rule.event_bus,
                State="ENABLED" if rule.enabled else "DISABLED",
            )
            wiring.schedules[rule.name] = f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule.name}"
            # No targets: moto matches a rule without a pattern against every event put on
            # the bus. The harness fires the schedule into these queues itself.
            wiring.scheduled[rule.name] = [wiring.queues[f] for f in rule.functions]
            continue
        events.put_rule(
            Name=rule.name,
            EventPattern=json.dumps(rule.pattern or {}),
            EventBusName=rule.event_bus,
            State="ENABLED" if rule.enabled else "DISABLED",
        )
        targets = [
            {
                "Id": logical_id[:64],
                "Arn": queue_arns[logical_id],
                **rule.inputs.get(logical_id, {}),
            }
            for logical_id in rule.functions
        ] + [
            {"Id": f"bus{index}", "Arn": arn, "RoleArn": FORWARDER_ROLE}
            for index, arn in enumerate(rule.buses)
        ]
        if targets:
            events.put_targets(Rule=rule.name, EventBusName=rule.event_bus, Targets=targets)
    for archive in stack.archives:
        created = events.create_archive(
            ArchiveName=archive.name,
            EventSourceArn=wiring.bus_arn(archive.event_bus),
            EventPattern=json.dumps(archive.pattern or {}),
        )
        wiring.archives[archive.name] = created["ArchiveArn"]
    return wiring
