"""One-time EventBridge Scheduler schedules, fired by the local AWS.

moto stores schedules but never fires them (docs/LOCAL_AWS.md, "moto quirks": schedules never fire).
The chain arranges one schedule per cluster copy check (``at(...)``, target: the default
bus, ``EventBridgeParameters`` Source/DetailType, ``Input`` the detail,
``ActionAfterCompletion=DELETE``: rds_backup/state/copy_checks.py). This pump does what Scheduler
would: when a schedule is due it puts that event on the target bus and deletes the
schedule. Instant mode: a schedule fires on the next pump (no waiting: moto's copies are
available at once). Timed mode: it fires at its ``at(...)`` time on the virtual clock, so a
copy that takes hours is checked with the back-off the chain chose. Each arrangement and
firing is written to the timeline (kind ``schedule``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from moto.scheduler.models import scheduler_backends

from rds_backup import clock as domain_clock
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT
from rds_backup.local.timeline import Timeline

if TYPE_CHECKING:
    from rds_backup.local.clock import VirtualClock

AT_FORMAT = "at(%Y-%m-%dT%H:%M:%S)"


class SchedulePump:
    def __init__(
        self,
        server: LocalServer,
        region: str,
        timeline: Timeline,
        clock: VirtualClock | None = None,
        group: str = "default",
    ) -> None:
        self.server = server
        self.region = region
        self.timeline = timeline
        self.clock = clock
        self.known: set[tuple[str, str, float]] = set()
        self.fired = 0
        if group != "default":
            scheduler = server.client("scheduler", region)
            names = {g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]}
            if group not in names:
                scheduler.create_schedule_group(Name=group)

    def tick(self) -> int:
        """Notice new schedules; fire the due ones (instant mode: all). Return how many
        fired now."""
        fired = 0
        backend = scheduler_backends[ACCOUNT][self.region]
        for group in list(backend.schedule_groups.values()):
            for schedule in list(group.schedules.values()):
                key = (group.name, schedule.name, float(schedule.creation_date))
                if key in self.known:
                    continue
                self.known.add(key)
                due = _due(schedule.schedule_expression)
                self.timeline.add(
                    "schedule",
                    self.region,
                    "check arranged",
                    subject=schedule.name,
                    result=f"due {due.isoformat()}" if due else schedule.schedule_expression,
                )
                if self.clock is not None and due is not None:
                    self.clock.call_at(
                        due,
                        partial(self._fire, group.name, schedule.name),
                        label=f"schedule {schedule.name}",
                    )
                else:
                    fired += self._fire(group.name, schedule.name)
        return fired

    def _fire(self, group_name: str, name: str) -> int:
        backend = scheduler_backends[ACCOUNT][self.region]
        group = backend.schedule_groups.get(group_name)
        schedule = group.schedules.get(name) if group is not None else None
        if schedule is None:
            return 0  # deleted before it was due
        target: dict[str, Any] = schedule.target
        params = target.get("EventBridgeParameters") or {}
        bus_region = str(target["Arn"]).split(":")[3]
        self.server.client("events", bus_region).put_events(
            Entries=[
                {
                    "Source": params.get("Source", "aws.scheduler"),
                    "DetailType": params.get("DetailType", "Scheduled Event"),
                    "Detail": target.get("Input") or "{}",
                    "EventBusName": str(target["Arn"]),
                    "Time": domain_clock.now(),
                }
            ]
        )
        if schedule.action_after_completion == "DELETE" and group is not None:
            group.schedules.pop(name, None)
        self.fired += 1
        self.timeline.add(
            "schedule", self.region, params.get("DetailType", "schedule fired"), subject=name
        )
        return 1


def _due(expression: str) -> datetime | None:
    try:
        return datetime.strptime(expression, AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None  # rate()/cron(): not used by the chain
