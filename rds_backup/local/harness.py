"""The local AWS, assembled: a moto server in two regions, seeded like a real account, with
the deployed stacks' rules loaded from their CloudFormation, a local Lambda runner and the
RDS event emulator, pumped until the chain goes quiet.

    with LocalAws(WorldSpec()) as local:
        local.fire_schedule()
        local.run_until_quiet()
        print(local.timeline.render())

Two accounts (docs/LOCAL_AWS.md, "Two accounts (the vault)"): ``WorldSpec(vault=VaultSpec())``
seeds a vault account beside the source one; ``local.aws_for(VAULT_ACCOUNT)`` (an ``Aws``) or
``local.session_for(VAULT_ACCOUNT)`` (a boto3 session) acts in it, ``local.vault`` names what
it holds; sharing, cross-account copies and bus policies behave as on AWS (``sharing.py``,
``eventbridge.py``).

Timed mode (docs/LOCAL_AWS.md): give a ``VirtualClock`` and a duration profile. Snapshots,
copies and exports then take their sampled virtual time, the schedules of the main stack
fire themselves when due, Lambda retries come 1 and 2 virtual minutes apart, and the domain
reads the virtual clock; ``run_until(when)`` moves time forward.

    start = datetime(2026, 1, 5, 2, 55, tzinfo=UTC)
    timed = {"clock": VirtualClock(start), "profile": profiles.get("moderate", seed=7)}
    with LocalAws(spec, **timed) as local:
        local.run_until(start + timedelta(hours=1))   # 03:00: the nightly start fires itself
        local.run_until_quiet()
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import boto3
from moto.rds.models import rds_backends

from events import load_sample
from rds_backup import aws as aws_module
from rds_backup import clock as domain_clock
from rds_backup.aws import Aws, get_aws, patched_environ
from rds_backup.local import engine as engine_module
from rds_backup.local import eventbridge, invoker, limits, sharing
from rds_backup.local import inventory as inventory_module
from rds_backup.local.accounts import SOURCE_ACCOUNT, Vault, seed_vault
from rds_backup.local.clock import VirtualClock, next_run, virtual_moto_time
from rds_backup.local.emulator import RdsEventEmulator
from rds_backup.local.faults import FaultInjector
from rds_backup.local.inventory import Inventory, take_inventory
from rds_backup.local.profiles import Profile
from rds_backup.local.runner import ApiCalls, LambdaRunner
from rds_backup.local.schedules import SchedulePump
from rds_backup.local.seed import WorldSpec, seed_world
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT, Rule, Stack, read_stack
from rds_backup.local.throttle import Throttle
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
    """One seeded local AWS. Pass ``server`` to reuse a running one (it is reset first).

    Timed mode: ``clock`` (a VirtualClock) and ``profile`` (profiles.get(name, seed)).
    ``schedules``: the functions whose schedule rules fire by themselves in timed mode
    (None: all of the main stack's; ``()``: none, fire them by hand)."""

    def __init__(
        self,
        spec: WorldSpec | None = None,
        *,
        server: LocalServer | None = None,
        templates: TemplateLoader = package_templates,
        environment: dict[str, str] | None = None,
        clock: VirtualClock | None = None,
        profile: Profile | None = None,
        schedules: Iterable[str] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        if clock is not None and profile is None:
            raise ValueError("timed mode needs a duration profile: profiles.get(name, seed)")
        self.clock = clock
        self.profile = profile
        self.auto_schedules: set[str] | None = None if schedules is None else set(schedules)
        self.spec = spec or WorldSpec()
        self.throttle = throttle  # RDS's API budget (throttle.py); None: unthrottled
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
        self.vault: Vault | None = None
        self.engine: engine_module.PgEngine | None = None
        self._account_aws: dict[str, tuple[boto3.session.Session, Aws]] = {}

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

    @property
    def accounts(self) -> tuple[str, ...]:
        """The source account, then the vault's when the world has one."""
        vault = self.spec.vault
        return (SOURCE_ACCOUNT,) if vault is None else (SOURCE_ACCOUNT, vault.account)

    def _watched_regions(self) -> tuple[str, ...]:
        extra = () if self.spec.vault is None else (self.spec.vault.region,)
        return tuple(dict.fromkeys((*self.regions, *extra)))

    def session_for(self, account: str) -> boto3.session.Session:
        """A boto3 session acting in ``account`` (its admin role's temporary credentials);
        its clients reach the local AWS through ``AWS_ENDPOINT_URL``, set while it runs."""
        return self.server.session_for(account)

    def aws_for(self, account: str) -> Aws:
        """The domain's client factory (``rds_backup.aws.Aws``) acting in ``account``."""
        session = self.session_for(account)
        if self._account_aws.get(account, (None,))[0] is not session:  # new after a reset
            self._account_aws[account] = (session, Aws(session))
        return self._account_aws[account][1]

    def failed_deliveries(self) -> list[eventbridge.FailedDelivery]:
        """Events a rule could not deliver to another account's bus (its policy refused them,
        or the bus is missing): what EventBridge counts as FailedInvocations."""
        return eventbridge.failed_deliveries()

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
        limits.install()
        sharing.install()  # snapshots shared between accounts, as RDS does
        eventbridge.install()  # replay FilterArns, TestEventPattern, bus policies
        eventbridge.forget_failed_deliveries()
        invoker.install()  # Invoke(InvocationType=Event) → the local runner's queue
        limits.reset_quotas()  # AWS's defaults for every local AWS
        self._exit.callback(limits.reset_quotas)
        inventory_module.install_send_times()
        inventory_module.add_send_listener(self._email_sent)
        self._exit.callback(inventory_module.remove_send_listener, self._email_sent)
        if self.clock is not None:
            self.timeline.clock = self.clock
            domain_clock.use(self.clock.now)
            self._exit.callback(domain_clock.use, None)
            self._exit.enter_context(virtual_moto_time(self.clock))
        self._exit.callback(_forget_cached_clients)
        _forget_cached_clients()
        if self.throttle is not None:
            self._use_throttle(self.throttle)
        if self.spec.engine:
            self._use_engine()
        _fit_instance_quota(self.spec)
        self.environment = {**seed_world(Aws(), self.spec), **self._extra_environment}
        if self.spec.vault is not None:
            keys = [self.environment[k] for k in ("KMS_KEY_ID", "SOURCE_KMS_KEY_ID")
                    if self.environment.get(k)]  # fmt: skip
            self.vault = seed_vault(self.aws_for(self.spec.vault.account), Aws(), self.spec.vault,
                                    keys)  # fmt: skip
        if self.profile is not None:
            self._size_databases(self.profile)
        self.stacks = [main, target]
        self.wirings = [install(self.server, stack) for stack in self.stacks]
        self.runners = [
            LambdaRunner(
                self.server, stack, wiring, self.environment, self.timeline, self.api_calls
            )
            for stack, wiring in zip(self.stacks, self.wirings, strict=True)
            if stack.functions
        ]
        self.emulator = RdsEventEmulator(
            self.server, self._watched_regions(), self.timeline, self.clock, self.profile,
            accounts=self.accounts,
        )  # fmt: skip
        self._exit.callback(self.emulator.close)
        self.schedules = SchedulePump(
            self.server,
            self.spec.source_region,
            self.timeline,
            self.clock,
            self._check_group(main),
        )
        for runner in self.runners:
            runner.clock = self.clock
            for function in runner.stack.functions.values():
                invoker.synchronous[function.name] = partial(runner.call, function)
        self._exit.callback(invoker.synchronous.clear)
        if self.clock is not None:
            self._plan_schedules()
        self.timeline.started = time.monotonic()  # the timeline starts when the world is ready
        self.timeline.add(
            "note", self.spec.source_region, "local AWS ready", result=self.server.url
        )

    def _use_throttle(self, throttle: Throttle) -> None:
        """RDS's token buckets on this world's clock; the harness's own calls (made while no
        handler runs) are never refused."""
        clock = self.clock
        throttle.clock = clock.elapsed if clock is not None else None
        throttle.exempt = lambda: not self.api_calls.active
        throttle.install()
        self._exit.callback(throttle.uninstall)

    def _use_engine(self) -> None:
        """A real PostgreSQL behind the DB instances (engine.py), for restores and drills."""
        self.engine = engine_module.PgEngine()
        clock = self.clock
        profile = self.profile

        def later(delay: timedelta, action: Callable[[], None]) -> None:
            assert clock is not None
            clock.call_later(delay, action, label="restore finishes")

        def restore_time(identifier: str, region: str, gib: int) -> timedelta:
            assert profile is not None
            base = profile.duration("restore", identifier, region)
            return base * max(gib, 20) / profile.base_gib  # grows with the storage restored

        engine_module.use(
            engine_module.Backing(
                self.engine,
                emit=self._instance_event,
                restore_time=restore_time if profile is not None else None,
                later=later if clock is not None else None,
            )
        )
        self._exit.callback(self.engine.stop)
        self._exit.callback(engine_module.use, None)

    def _instance_event(
        self, account: str, region: str, identifier: str, arn: str, event_id: str, text: str
    ) -> None:
        """An RDS DB instance event, as RDS puts it on the region's default bus."""
        now = domain_clock.now()
        category = {"RDS-EVENT-0043": "restoration", "RDS-EVENT-0005": "creation"}
        detail = {
            "EventCategories": [category.get(event_id, "deletion")],
            "SourceType": "DB_INSTANCE",
            "SourceArn": arn,
            "Date": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Message": text,
            "SourceIdentifier": identifier,
            "EventID": event_id,
        }
        self.server.client("events", region, account).put_events(
            Entries=[
                {
                    "Source": "aws.rds",
                    "DetailType": "RDS DB Instance Event",
                    "Resources": [arn],
                    "Time": now,
                    "Detail": json.dumps(detail),
                }
            ]
        )
        self.timeline.add("rds", region, event_id, subject=identifier, result=text)

    def _size_databases(self, profile: Profile) -> None:
        """Timed mode: each database's AllocatedStorage from its size in the profile (its
        snapshots and copies report it; durations scale with it)."""
        backend = rds_backends[ACCOUNT][self.spec.source_region]
        for database in self.spec.databases:
            instance = backend.databases.get(database)
            if instance is not None:
                instance.allocated_storage = profile.size_gib(database)
        for cluster in self.spec.clusters:
            found = backend.clusters.get(cluster)
            if found is not None:
                found.allocated_storage = profile.size_gib(cluster)

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
        for runner in made:
            runner.clock = self.clock
        self.runners = list(made)
        return made

    def deliver_each_event(self, times: int) -> None:
        """Hand every event to its function ``times`` times (at-least-once delivery)."""
        for runner in self.runners:
            runner.deliveries = times

    def emit_failures_as(self, source: str) -> None:
        """Put Lambda's on-failure records on the bus with this ``source`` ("lambda" or
        "aws.lambda": AWS documents both, runner.FAILURE_SOURCES)."""
        for runner in self.runners:
            runner.failure_source = source

    def configure(self, **values: str) -> None:
        """Change the functions' environment, as a redeploy with new parameters would."""
        self.environment.update(values)
        for runner in self.runners:
            runner.environment.update(values)

    @property
    def main(self) -> Stack:
        return self.stacks[0]

    @property
    def main_stack_name(self) -> str:
        """The main stack's name (its functions, rules and archive are named after it)."""
        return STACK_NAME

    def template(self, stack: str) -> dict[str, Any]:
        """The generated CloudFormation of ``stack`` ("main" or "target") this world loaded."""
        return self._templates(stack)

    def fire_schedule(
        self, when: datetime | None = None, function: str = START_FUNCTION
    ) -> datetime:
        """What EventBridge does when a schedule is due (moto never fires schedules): put the
        scheduled event on the queue of each function the schedule rule of ``function``
        targets. ``when`` defaults to now, to the minute; return it."""
        when = (when or domain_clock.now()).replace(second=0, microsecond=0)
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
        Return the number of handler invocations (events handled). Timed mode: advance the
        virtual clock until nothing is pending but future schedules."""
        if self.clock is not None:
            return self._run_timed(None, max_seconds)
        deadline = time.monotonic() + max_seconds
        handled = 0
        while True:
            emitted = self.emulator.tick() + self.schedules.tick()
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

    # -- timed mode ----------------------------------------------------------------------------

    def run_until(self, when: datetime, max_seconds: float = 600.0) -> int:
        """Timed mode: process everything due up to ``when`` in time order (state changes,
        event deliveries, retries, schedules), draining the queues at each instant, then
        stand at ``when``. Return the number of handler invocations."""
        if self.clock is None:
            raise RuntimeError("run_until needs timed mode: LocalAws(clock=..., profile=...)")
        return self._run_timed(when, max_seconds)

    def _run_timed(self, until: datetime | None, max_seconds: float) -> int:
        clock = self.clock
        assert clock is not None
        deadline = time.monotonic() + max_seconds
        handled = self._settle()
        while (due := clock.next_due()) is not None:
            if until is not None and due > until:
                break
            if until is None and not clock.busy():
                break  # only future schedules are left
            clock.advance_to(due)
            clock.run_due()
            handled += self._settle()
            if time.monotonic() > deadline:
                raise NotQuiet(
                    f"still busy after {max_seconds:.0f}s of wall time, at virtual "
                    f"{clock.now().isoformat()}: {len(clock.pending())} timers pending"
                )
        if until is not None:
            clock.advance_to(until)
        return handled

    def _settle(self) -> int:
        """Invoke handlers for every waiting message, until a full pass finds none (moto
        delivers events to queues synchronously, so nothing arrives later)."""
        handled = 0
        while (drained := sum(runner.drain() for runner in self.runners)) or self.schedules.tick():
            handled += drained
        return handled

    @staticmethod
    def _check_group(main: Stack) -> str:
        """The schedule group the deployed functions arrange cluster copy checks in."""
        for function in main.functions.values():
            if group := function.environment.get("COPY_CHECK_GROUP"):
                return group
        return "default"

    def _plan_schedules(self) -> None:
        """Queue the first firing of every enabled schedule rule of the main stack."""
        assert self.clock is not None
        for rule in self.main.rules:
            if rule.schedule and rule.enabled and rule.functions:
                first = next_run(rule.schedule, self.clock.now(), inclusive=True)
                self._queue_schedule(rule, first)

    def _queue_schedule(self, rule: Rule, when: datetime) -> None:
        assert self.clock is not None
        self.clock.call_at(
            when, lambda: self._fire_due(rule, when), label=f"schedule {rule.name}", background=True
        )

    def _fire_due(self, rule: Rule, when: datetime) -> None:
        assert rule.schedule is not None
        names = [self.main.functions[f].short_name for f in rule.functions]
        if self.auto_schedules is None or self.auto_schedules.intersection(names):
            self.fire_schedule(when, names[0])
        self._queue_schedule(rule, next_run(rule.schedule, when))

    def set_quota(self, region: str | None = None, **values: int) -> None:
        """Adjust an AWS quota (limits.Quotas: manual_snapshots, manual_cluster_snapshots,
        copies, exports) for ``region`` or, with None, everywhere; reset at start/stop."""
        limits.set_quota(region, **values)

    @property
    def refused_calls(self) -> Counter[str]:
        """Handler API calls refused for an AWS limit, by error code."""
        return self.timeline.refused_calls

    def _email_sent(self, message: Any) -> None:
        subject = getattr(message, "subject", "") or "raw message"
        self.timeline.add("email", self.spec.source_region, "email sent", subject=subject)

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


def _fit_instance_quota(spec: WorldSpec) -> None:
    """An account running more databases than the default DB instances quota (40 per region)
    has had it raised to fit them, with room for as many more: the source region's quota.
    The target region keeps AWS's default, where restores and drills count (limits.py)."""
    running = len(spec.databases) + len(spec.clusters)
    if running > limits.DB_INSTANCES_MAX // 2:
        limits.set_quota(spec.source_region, db_instances=2 * running)
