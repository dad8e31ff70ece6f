"""The local AWS, assembled: a moto server in two regions, seeded like a real account, with
the deployed stacks' rules loaded from their CloudFormation, a local Lambda runner and the
RDS event emulator, pumped until the chain goes quiet.

    with LocalAws(WorldSpec()) as local:
        local.fire_schedule()
        local.run_until_quiet()
        print(local.timeline.render())
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from events import load_sample
from rds_backup import aws as aws_module
from rds_backup.aws import Aws, get_aws
from rds_backup.local.emulator import RdsEventEmulator
from rds_backup.local.faults import FaultInjector
from rds_backup.local.inventory import Inventory, take_inventory
from rds_backup.local.runner import ApiCalls, LambdaRunner
from rds_backup.local.seed import WorldSpec, seed_world
from rds_backup.local.server import LocalServer, patched_environ
from rds_backup.local.stack import Rule, Stack, read_stack
from rds_backup.local.timeline import Timeline
from rds_backup.local.wiring import Wiring, install
from rds_backup.settings import load_settings

STACK_NAME = "rds-backup-dev"
START_FUNCTION = "start_backup"
POLL_PAUSE = 0.02  # seconds to wait when only delayed events are pending
TemplateLoader = Callable[[str], dict[str, Any]]
R = TypeVar("R", bound=LambdaRunner)


class NotQuiet(RuntimeError):
    """The chain was still busy when the time ran out."""


def package_templates(stack: str) -> dict[str, Any]:
    from rds_backup.local.packaging import load_template

    return load_template(stack)  # type: ignore[arg-type]


class LocalAws:
    """One seeded local AWS. Pass ``server`` to reuse a running one (it is reset first)."""

    def __init__(
        self,
        spec: WorldSpec | None = None,
        *,
        server: LocalServer | None = None,
        templates: TemplateLoader = package_templates,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec or WorldSpec()
        self._own_server = server is None
        self._server = server
        self._templates = templates
        self._extra_environment = environment or {}
        self._exit = ExitStack()
        self.timeline = Timeline()
        self.api_calls = ApiCalls(self.timeline)
        self.faults = FaultInjector()
        self.environment: dict[str, str] = {}
        self.stacks: list[Stack] = []
        self.wirings: list[Wiring] = []
        self.runners: list[LambdaRunner] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalAws:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def server(self) -> LocalServer:
        assert self._server is not None, "LocalAws is not started"
        return self._server

    @property
    def regions(self) -> tuple[str, str]:
        return (self.spec.source_region, self.spec.target_region)

    def start(self) -> None:
        main = read_stack(self._templates("main"), self.spec.source_region, STACK_NAME)
        target = read_stack(
            self._templates("target"), self.spec.target_region, f"{STACK_NAME}-target"
        )
        if self._server is None:
            self._server = LocalServer()
        else:
            self._server.reset()
        self._exit.enter_context(patched_environ(self.server.environment))
        self.api_calls.install()
        self._exit.callback(self.api_calls.uninstall)
        self.faults.install()
        self._exit.callback(self.faults.uninstall)
        self._exit.callback(_forget_cached_clients)
        _forget_cached_clients()
        self.environment = {**seed_world(Aws(), self.spec), **self._extra_environment}
        self.stacks = [main, target]
        self.wirings = [install(self.server, stack) for stack in self.stacks]
        self.runners = [
            LambdaRunner(
                self.server, stack, wiring, self.environment, self.timeline, self.api_calls
            )
            for stack, wiring in zip(self.stacks, self.wirings, strict=True)
            if stack.functions
        ]
        self.emulator = RdsEventEmulator(self.server, self.regions, self.timeline)
        self.timeline.started = time.monotonic()  # the timeline starts when the world is ready
        self.timeline.add(
            "note", self.spec.source_region, "local AWS ready", result=self.server.url
        )

    def stop(self) -> None:
        self._exit.close()
        if self._own_server and self._server is not None:
            self._server.stop()
            self._server = None

    # -- driving the chain -------------------------------------------------------------------

    def use_runners(self, runner_class: type[R]) -> list[R]:
        """Replace the runners by ``runner_class`` ones on the same stacks and queues (the
        benchmark's timed or child-process runners); return them for further set-up."""
        made = [
            runner_class(
                self.server, r.stack, r.wiring, self.environment, self.timeline, self.api_calls
            )
            for r in self.runners
        ]
        self.runners = list(made)
        return made

    def deliver_each_event(self, times: int) -> None:
        """Hand every event to its function ``times`` times (at-least-once delivery)."""
        for runner in self.runners:
            runner.deliveries = times

    def configure(self, **values: str) -> None:
        """Change the functions' environment, as a redeploy with new parameters would."""
        self.environment.update(values)
        for runner in self.runners:
            runner.environment.update(values)

    @property
    def main(self) -> Stack:
        return self.stacks[0]

    def fire_schedule(
        self, when: datetime | None = None, function: str = START_FUNCTION
    ) -> datetime:
        """What EventBridge does when a schedule is due (moto never fires schedules): put the
        scheduled event on the queue of each function the schedule rule of ``function``
        targets. ``when`` defaults to now, to the minute; return it."""
        when = (when or datetime.now(UTC)).replace(second=0, microsecond=0)
        rule = self.schedule_rule(function)
        wiring = self.wirings[0]
        event = load_sample("scheduled")
        event.update(
            id=str(uuid.uuid4()),
            time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            region=self.spec.source_region,
            resources=[wiring.schedules[rule.name]],
        )
        sqs = self.server.client("sqs", self.spec.source_region)
        for url in wiring.scheduled[rule.name]:
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        self.timeline.add(
            "schedule",
            self.spec.source_region,
            "Scheduled Event",
            subject=rule.name,
            result=f"{rule.schedule}, fired for {event['time']}",
        )
        return when

    def schedule_rule(self, function: str = START_FUNCTION) -> Rule:
        """The main stack's schedule rule that invokes ``function`` (its handler's name)."""
        for rule in self.main.rules:
            if rule.schedule and any(
                self.main.functions[f].short_name == function for f in rule.functions
            ):
                return rule
        raise LookupError(f"the main stack has no schedule rule invoking {function}")

    def request_backup(self, databases: Sequence[str] | None = None, reason: str = "") -> None:
        """Put a "Backup Requested" event on the source bus, as an operator would."""
        detail: dict[str, Any] = {"reason": reason or "local request"}
        if databases is not None:
            detail["databases"] = list(databases)
        self.server.client("events", self.spec.source_region).put_events(
            Entries=[
                {
                    "Source": "rds-backup",
                    "DetailType": "Backup Requested",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        self.timeline.add("request", self.spec.source_region, "Backup Requested")

    def run_until_quiet(self, max_seconds: float = 30.0) -> int:
        """Pump: emulator tick → runners drain queues, until nothing is waiting anywhere.
        Return the number of handler invocations (events handled)."""
        deadline = time.monotonic() + max_seconds
        handled = 0
        while True:
            emitted = self.emulator.tick()
            drained = sum(runner.drain() for runner in self.runners)
            handled += drained
            if not emitted and not drained:
                if self.emulator.idle and not any(r.pending() for r in self.runners):
                    return handled
                time.sleep(POLL_PAUSE)
            if time.monotonic() > deadline:
                raise NotQuiet(
                    f"still busy after {max_seconds:.0f}s: {len(self.emulator.pending)} RDS "
                    "events pending"
                )

    def replay(self, name: str | None = None) -> list[str]:
        """Replay every archive of the source region in full (moto ignores the window);
        return the replay names. Run :meth:`run_until_quiet` to let the chain react."""
        events = self.server.client("events", self.spec.source_region)
        started = []
        for archive in self.main.archives:
            replay = (name or f"local-replay-{uuid.uuid4().hex[:8]}")[:64]
            events.start_replay(
                ReplayName=replay,
                EventSourceArn=self.wirings[0].archives[archive.name],
                EventStartTime=datetime(2000, 1, 1, tzinfo=UTC),
                EventEndTime=datetime.now(UTC),
                Destination={"Arn": self.wirings[0].bus_arn(archive.event_bus)},
            )
            described = events.describe_archive(ArchiveName=archive.name)
            self.timeline.add(
                "replay",
                self.spec.source_region,
                replay,
                subject=archive.name,
                result=f"{described.get('EventCount', '?')} archived events replayed",
            )
            started.append(replay)
        return started

    # -- looking at the result ---------------------------------------------------------------

    def inventory(self) -> Inventory:
        return take_inventory(self.server, self.regions, self.spec.source_region)

    def dead_letters(self) -> list[dict[str, Any]]:
        """Invocation records that reached an SQS on-failure destination (notify's DLQ)."""
        found: list[dict[str, Any]] = []
        for wiring in self.wirings:
            sqs = self.server.client("sqs", wiring.region)
            for url in wiring.dead_letter.values():
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
                ).get("Messages", [])
                found.extend(json.loads(m["Body"]) for m in messages)
        return found


def _forget_cached_clients() -> None:
    """Handlers cache settings, clients and their boto3 session per container; a new local
    AWS is a new container (and its session must carry the API call hook)."""
    load_settings.cache_clear()
    get_aws.cache_clear()
    shared_session = getattr(aws_module, "_shared_session", None)
    if shared_session is not None and hasattr(shared_session, "cache_clear"):
        shared_session.cache_clear()
