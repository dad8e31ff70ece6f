"""Drive restore drills by hand on in-process moto: the drill network in the target region,
a frozen clock, the drill's one-time checks as Scheduler holds them, the events the drill
puts on the bus, and the probe.

The probe (probe_drill) runs in the target region's drill network and is invoked
synchronously (Lambda ``Invoke``, RequestResponse). moto runs Lambda functions only in
Docker, so :class:`Probe` stands in for Lambda, in the open: a botocore ``before-call`` hook
on the lambda client answers the Invoke by calling the real handler, handlers/probe_drill.py
(its event model, its secret read from Secrets Manager, its checks), as Lambda would, and
returns what it returned, or Lambda's ``FunctionError`` shape when it raised. The database
driver is the only fake: ``probe_drill.DRIVERS`` (pg8000's / PyMySQL's connect) is replaced
by :class:`FakeDatabase`, which answers the configured SQL and records who connected with
which password.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from moto.scheduler.models import scheduler_backends

from events import load_sample
from handlers import probe_drill
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.local.context import LocalContext
from rds_backup.settings import load_settings
from rds_backup.steps import probe_drill as probe_step
from tests.support import ACCOUNT, CallRecorder

SOURCE = "us-east-1"
TARGET = "us-west-2"
PROBE_FUNCTION = "rds-backup-probe_drill"
SUBNET_GROUP = "rds-backup-drills"
CONTEXT = LocalContext()
CHECKS = [
    {"name": "orders rows", "sql": "SELECT count(*) FROM orders", "min": 1000},
    {
        "name": "newest order",
        "sql": "SELECT max(created_at) FROM orders",
        "max_age_seconds": 86400,
    },
]


@dataclass
class FrozenClock:
    """The project's clock (rds_backup/clock.py), moved by hand."""

    moment: datetime
    start: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    moment = FrozenClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    clock.use(moment)
    yield moment
    clock.use(None)


@dataclass(frozen=True)
class Network:
    vpc: str
    subnet_group: str
    security_groups: tuple[str, ...]


def drill_network(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, *, checks: Any = CHECKS, **env: str
) -> Network:
    """The drill network in the target region (a VPC, two subnets, the DB subnet group, a
    security group) and the drill settings that name it; Settings reloaded."""
    ec2 = aws.client("ec2", TARGET)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{n}.0/24", AvailabilityZone=f"{TARGET}{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in enumerate("ab")
    ]
    aws.rds(TARGET).create_db_subnet_group(
        DBSubnetGroupName=SUBNET_GROUP,
        DBSubnetGroupDescription="rds-backup restore drills",
        SubnetIds=subnets,
    )
    group = ec2.create_security_group(
        GroupName="rds-backup-drills", Description="restore drills", VpcId=vpc
    )["GroupId"]
    values = {
        "DRILL_SUBNET_GROUP": SUBNET_GROUP,
        "DRILL_SECURITY_GROUP_IDS": group,
        "DRILL_PROBE_FUNCTION": PROBE_FUNCTION,
        "DRILL_CHECKS": json.dumps(checks),
    } | env
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    load_settings.cache_clear()
    return Network(vpc, SUBNET_GROUP, (group,))


# --- the drill's one-time checks (EventBridge Scheduler, source region) -------------------


def drill_checks() -> list[dict[str, Any]]:
    """The drill checks arranged and not yet fired, as Scheduler holds them."""
    backend = scheduler_backends[ACCOUNT][SOURCE]
    found = []
    for group in backend.schedule_groups.values():
        for schedule in group.schedules.values():
            params = schedule.target.get("EventBridgeParameters", {})
            if params.get("DetailType") == "Drill Check Due":
                found.append(
                    {
                        "name": schedule.name,
                        "expression": schedule.schedule_expression,
                        "target": schedule.target,
                        "detail": json.loads(schedule.target["Input"]),
                    }
                )
    return found


def fire(check: Mapping[str, Any], when: datetime) -> dict[str, Any]:
    """What Scheduler puts on the bus when the check is due (it deletes itself after)."""
    backend = scheduler_backends[ACCOUNT][SOURCE]
    for group in backend.schedule_groups.values():
        group.schedules.pop(check["name"], None)
    event = load_sample("drill-check-due")  # Scheduler's target: our own event on the bus
    assert check["target"]["EventBridgeParameters"]["DetailType"] == event["detail-type"]
    event.update(
        id=f"check-{check['name']}",
        time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        detail=json.loads(check["target"]["Input"]),
    )
    return event


# --- RDS's events of a drill (target region, forwarded) -----------------------------------

SAMPLES = {
    "RDS-EVENT-0043": "rds-instance-0043-restored",
    "RDS-EVENT-0005": "rds-instance-0005-created",
    "RDS-EVENT-0003": "rds-instance-0003-deleted",
    "RDS-EVENT-0170": "rds-cluster-0170-created",
}


def drill_event(event_id: str, identifier: str, when: datetime | None = None) -> dict[str, Any]:
    """The sample event for ``event_id`` (AWS's text), re-aimed at the drill ``identifier``."""
    event = load_sample(SAMPLES[event_id])
    kind = "cluster" if event["detail"]["SourceType"] == "CLUSTER" else "db"
    arn = f"arn:aws:rds:{TARGET}:{ACCOUNT}:{kind}:{identifier}"
    event["resources"] = [arn]
    event["detail"]["SourceArn"] = arn
    event["detail"]["SourceIdentifier"] = identifier
    if when is not None:
        event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


# --- what the drill puts on the bus -------------------------------------------------------


class Bus:
    """The events put on the source region's default bus (PutEvents, as sent)."""

    def __init__(self, aws: Aws) -> None:
        self.calls = CallRecorder().attach(aws, "events", SOURCE)

    def entries(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        found = []
        for _, params in self.calls.of("PutEvents"):
            for entry in params["Entries"]:
                if detail_type is None or entry["DetailType"] == detail_type:
                    found.append(entry)
        return found

    def finished(self) -> list[dict[str, Any]]:
        """Each "Drill Finished" as EventBridge delivers it to notify."""
        return [
            {
                "version": "0",
                "id": f"finished-{n}",
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ACCOUNT,
                "time": "2026-11-25T10:00:00Z",
                "region": SOURCE,
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry["Detail"]),
            }
            for n, entry in enumerate(self.entries("Drill Finished"))
        ]


# --- the probe ---------------------------------------------------------------------------


@dataclass
class FakeDatabase:
    """The restored database behind the driver seam: SQL → the first value it answers."""

    answers: dict[str, Any]
    connections: list[dict[str, Any]] = field(default_factory=list)
    refuse: str | None = None  # a connection error's text

    def connect(self, host: str, port: int, user: str, password: str, dbname: str) -> Any:
        self.connections.append(
            {"host": host, "port": port, "user": user, "password": password, "dbname": dbname}
        )
        if self.refuse:
            raise ConnectionRefusedError(self.refuse)
        return _Connection(self)


class _Connection:
    def __init__(self, database: FakeDatabase) -> None:
        self.database = database

    def cursor(self) -> _Cursor:
        return _Cursor(self.database)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Cursor:
    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self.row: tuple[Any, ...] | None = None

    def execute(self, sql: str) -> None:
        if sql not in self.database.answers:
            raise RuntimeError(f'relation does not exist: "{sql}"')
        self.row = (self.database.answers[sql],)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.row

    def close(self) -> None:
        pass


class Probe:
    """Lambda's synchronous Invoke of probe_drill, answered by the real handler in-process."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch, database: FakeDatabase):
        self.database = database
        self.requests: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        for engine in ("postgres", "mysql"):
            monkeypatch.setitem(probe_step.DRIVERS, engine, database.connect)
        client = aws.client("lambda", TARGET)
        client.meta.events.register("before-parameter-build.lambda.Invoke", self._keep)
        client.meta.events.register("before-call.lambda.Invoke", self._invoke)

    @staticmethod
    def _keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["probe_params"] = dict(params)

    def _invoke(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["probe_params"]
        assert params["FunctionName"] == PROBE_FUNCTION
        assert params["InvocationType"] == "RequestResponse"
        request = json.loads(params["Payload"])
        self.requests.append(request)
        parsed: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            body: Any = probe_drill.handler(request, CONTEXT)
        except Exception as error:  # noqa: BLE001 - Lambda's answer for a function error
            body = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            parsed["FunctionError"] = "Unhandled"
        self.answers.append(body)
        data = json.dumps(body).encode()
        parsed["Payload"] = StreamingBody(io.BytesIO(data), len(data))
        return AWSResponse("https://lambda.invalid", 200, {}, None), parsed
