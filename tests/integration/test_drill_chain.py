"""Restore drills end to end, in-process on moto (rds_backup/drills/, docs/RECOVERY.md):
start_drill restores the newest available copy into a small, private, tagged drill instance
in the drill network; check_drill moves it on from RDS's events or its one-time checks
(credentials, the probe's SQL checks, deletion); reconcile catches lost events and reaps
drills past DRILL_MAX_HOURS; the drill slots and the DB instances quota make drills wait;
notify tells each drill once. The probe is the real probe_drill behind a stand-in for
Lambda's synchronous Invoke (tests/integration/drills.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from moto.secretsmanager.models import secretsmanager_backends

from events import load_sample
from handlers import check_drill, copy_snapshot, notify, reconcile, start_backup, start_drill
from rds_backup import clock
from rds_backup.local import limits as local_limits
from rds_backup.local.seed import WorldSpec, create_database
from rds_backup.model import drills as drill_model
from rds_backup.model import tags
from rds_backup.settings import load_settings
from tests.integration.drills import (
    CONTEXT,
    PROBE_FUNCTION,
    SUBNET_GROUP,
    TARGET,
    Bus,
    FakeDatabase,
    FrozenClock,
    Probe,
    drill_checks,
    drill_event,
    drill_network,
    fire,
)
from tests.support import ACCOUNT, CallRecorder, backend, rds_event, sent_emails

# the newest row a minute before moto made the snapshot (moto stamps it with the real time)
NEWEST_ORDER = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
ANSWERS = {
    "SELECT count(*) FROM orders": 1200,
    "SELECT max(created_at) FROM orders": NEWEST_ORDER,
}


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",))


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase(dict(ANSWERS))


@pytest.fixture
def drill_env() -> dict[str, str]:
    """Extra drill settings of a test module or test (override to change them)."""
    return {"DRILL_EVERY_DAYS": "1"}


@pytest.fixture
def now() -> FrozenClock:
    """The drill's clock: 00:30 UTC the day after the copies moto made (moto stamps them
    with the real time), so a test's hours never cross into the next drill day."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    moment = FrozenClock(datetime.combine(tomorrow, time(0, 30), tzinfo=UTC))
    yield moment
    clock.use(None)


@pytest.fixture
def drills(world, aws, monkeypatch, database, drill_env, now) -> dict[str, Any]:
    """A night's copies of every database, the drill network, the probe, the bus, and the
    clock at drill time."""
    nights(aws, ["2026-11-25T03:00:00Z"])
    network = drill_network(aws, monkeypatch, **drill_env)
    clock.use(now)
    rds = CallRecorder().attach(aws, "rds", TARGET)
    return {
        "network": network,
        "probe": Probe(aws, monkeypatch, database),
        "bus": Bus(aws),
        "rds": rds,
        "settings": load_settings(),
    }


def nights(aws, times: list[str]) -> list[str]:
    """Run start_backup and copy_snapshot for each night: the copies in the target region."""
    made = []
    for at in times:
        started = start_backup.handler(load_sample("scheduled") | {"time": at}, CONTEXT)
        for snapshot in started["created"]:
            copy_snapshot.handler(rds_event("RDS-EVENT-0042", "us-east-1", snapshot), CONTEXT)
            made.append(snapshot)
    return made


def drill_day() -> date:
    """The drill day: the day the drill clock started on (a drill keeps it to its end)."""
    assert isinstance(clock._source, FrozenClock)
    return clock._source.start.date()


def drill_id(database: str = "orders") -> str:
    return drill_model.drill_id("rds-backup", database, drill_day())


def instances(aws) -> dict[str, dict[str, Any]]:
    found = aws.rds(TARGET).describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: i for i in found}


def result_of(aws, database: str = "orders") -> dict[str, Any]:
    settings = load_settings()
    key = f"{settings.export_s3_prefix}/drills/{database}/{drill_day():%Y%m%d}.json"
    body = aws.s3(TARGET).get_object(Bucket="acme-rds-backup-usw2", Key=key)["Body"].read()
    return json.loads(body)


def run_checks(now: FrozenClock, limit: int = 20) -> list[dict[str, Any]]:
    """Fire every due drill check in order (each may arrange the next) until none is left."""
    outcomes = []
    for _ in range(limit):
        pending = drill_checks()
        if not pending:
            return outcomes
        now.advance(minutes=10)
        outcomes.append(check_drill.handler(fire(pending[0], now.moment), CONTEXT))
    raise AssertionError(f"drill checks did not end: {drill_checks()}")


def tell(bus: Bus) -> list[dict[str, Any]]:
    """notify takes every "Drill Finished" put so far."""
    return [notify.handler(event, CONTEXT) for event in bus.finished()]


def drill_emails() -> list[Any]:
    return [m for m in sent_emails() if "restore drill" in m.subject]


# --- start_drill ------------------------------------------------------------------------


def test_given_copies_of_three_nights_when_the_drill_starts_then_the_newest_available_is_restored_small_private_and_tagged(  # noqa: E501
    world, aws, monkeypatch, now
):
    made = nights(aws, ["2026-11-23T03:00:00Z", "2026-11-24T03:00:00Z", "2026-11-25T03:00:00Z"])
    # the newest copy is still copying: the drill takes the newest *available* one
    backend(TARGET).database_snapshots[made[2]].status = "copying"
    network = drill_network(aws, monkeypatch, DRILL_EVERY_DAYS="1")
    clock.use(now)
    calls = CallRecorder().attach(aws, "rds", TARGET)

    started = start_drill.handler(load_sample("scheduled"), CONTEXT)

    assert started["drills"]["started"] == [f"orders/{drill_day()}"]
    [(region, params)] = calls.of("RestoreDBInstanceFromDBSnapshot")
    assert region == TARGET
    assert (
        params["DBInstanceIdentifier"]
        == drill_id()
        == f"rds-backup-drill-orders-{drill_day():%Y%m%d}"
    )
    assert params["DBSnapshotIdentifier"] == f"arn:aws:rds:{TARGET}:{ACCOUNT}:snapshot:{made[1]}"
    assert params["DBSubnetGroupName"] == SUBNET_GROUP == network.subnet_group
    assert params["VpcSecurityGroupIds"] == list(network.security_groups)
    assert params["DBInstanceClass"] == "db.t4g.micro"  # DRILL_INSTANCE_CLASS's default
    assert params["PubliclyAccessible"] is False
    assert params["MultiAZ"] is False
    assert params["DeletionProtection"] is False
    assert params["Port"] == 5432  # from the restore manifest written at snapshot time
    assert tags.as_dict(params["Tags"]) == {
        tags.STACK: "rds-backup",
        tags.ROLE: "drill",
        tags.DATABASE: "orders",
        drill_model.DRILL_DAY: f"{drill_day():%Y%m%d}",
        drill_model.SNAPSHOT: made[1],
    }
    # No password travels in the restore: RDS's ManageMasterUserPassword on
    # RestoreDBInstanceFromDBSnapshot "applies to RDS for Oracle only" (RDS API Reference),
    # so the drill turns it on with ModifyDBInstance once the instance is available.
    assert "MasterUserPassword" not in params
    assert not calls.of("ModifyDBInstance")

    check_drill.handler(drill_event("RDS-EVENT-0043", drill_id(), now()), CONTEXT)

    [(_, modify)] = calls.of("ModifyDBInstance")
    assert modify == {
        "DBInstanceIdentifier": drill_id(),
        "ManageMasterUserPassword": True,
        "ApplyImmediately": True,
    }
    restored = instances(aws)[drill_id()]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == SUBNET_GROUP
    assert restored["MultiAZ"] is False


# --- duplicates, replays, out of order --------------------------------------------------


def test_given_duplicated_replayed_and_out_of_order_events_when_handled_then_one_drill_and_one_email(  # noqa: E501
    drills, aws, now
):
    bus, calls = drills["bus"], drills["rds"]
    schedule = load_sample("scheduled")
    start_drill.handler(schedule, CONTEXT)
    start_drill.handler(schedule, CONTEXT)  # a duplicated schedule
    identifier = drill_id()
    deleted = drill_event("RDS-EVENT-0003", identifier, now())
    restored = drill_event("RDS-EVENT-0043", identifier, now())
    created = drill_event("RDS-EVENT-0005", identifier, now())
    seen: list[dict[str, Any]] = []
    # out of order: "deleted" before anything; "restored" twice; "created" after "restored"
    for event in (deleted, restored, restored, created):
        now.advance(minutes=1)
        seen.append(event)
        check_drill.handler(event, CONTEXT)
    fired = []
    for _ in range(20):
        pending = drill_checks()
        if not pending:
            break
        now.advance(minutes=5)
        event = fire(pending[0], now())
        fired.append(event)
        check_drill.handler(event, CONTEXT)
        check_drill.handler(event, CONTEXT)  # Scheduler and EventBridge deliver at least once
    assert identifier not in instances(aws)
    # the whole window replayed (rds-backup replay), and a late "deleted"
    for event in [*seen, *fired, deleted]:
        check_drill.handler(event, CONTEXT)
    start_drill.handler(schedule, CONTEXT)
    reconcile.handler(schedule, CONTEXT)

    assert len(calls.of("RestoreDBInstanceFromDBSnapshot")) == 1
    assert len(calls.of("ModifyDBInstance")) == 1
    assert len(calls.of("DeleteDBInstance")) == 1
    assert len(drills["probe"].requests) == 1
    finished = bus.finished()
    assert len(finished) == 1
    tell(bus)
    tell(bus)  # "Drill Finished" delivered twice
    [email] = drill_emails()
    assert "orders restore drill passed" in email.subject
    assert result_of(aws)["outcome"] == "passed"
    assert result_of(aws)["deleted"] is True


# --- lost events ------------------------------------------------------------------------


def test_given_every_rds_event_lost_when_the_checks_fire_then_the_drill_passes_and_is_deleted(
    drills, aws, now
):
    start_drill.handler(load_sample("scheduled"), CONTEXT)
    [first] = drill_checks()
    assert first["detail"]["Phase"] == "restore"

    run_checks(now)

    assert drill_id() not in instances(aws)
    result = result_of(aws)
    assert result["outcome"] == "passed", result
    assert result["restored"] is not None
    assert {c["name"]: c["value"] for c in result["checks"]}["orders rows"] == 1200
    assert len(drills["bus"].finished()) == 1


def test_given_every_event_and_check_lost_when_reconcile_runs_then_it_moves_the_drill_to_its_end(
    drills, aws, now
):
    start_drill.handler(load_sample("scheduled"), CONTEXT)
    for check in drill_checks():
        fire(check, now())  # lost: Scheduler's target failed past its retries

    passes = []
    for _ in range(6):
        now.advance(hours=1)
        passes.append(reconcile.handler(load_sample("scheduled"), CONTEXT))
        if drill_id() not in instances(aws) and result_of(aws)["deleted"]:
            break

    actions = [a for p in passes for a in p["actions"]]
    assert any(a.get("action") == "drill finished" for a in actions), actions
    assert result_of(aws)["outcome"] == "passed"
    assert len(drills["bus"].finished()) == 1
    tell(drills["bus"])
    assert len(drill_emails()) == 1


# --- the reaper -------------------------------------------------------------------------


def test_given_a_drill_past_its_maximum_age_when_reconciled_then_it_is_deleted_and_reported_and_a_foreign_instance_is_untouched(  # noqa: E501
    drills, aws, now
):
    start_drill.handler(load_sample("scheduled"), CONTEXT)
    identifier = drill_id()
    backend(TARGET).databases[identifier].status = "creating"  # a restore that never ends
    look_alike = f"rds-backup-drill-billing-{drill_day():%Y%m%d}"  # named like ours, not tagged
    other_stack = f"rds-backup-drill-ledger-{drill_day():%Y%m%d}"  # tagged by another stack
    create_database(aws, TARGET, look_alike)
    create_database(aws, TARGET, other_stack)
    ours_elsewhere = drill_model.drill_tags(load_settings(), "ledger", drill_day(), "x")
    aws.rds(TARGET).add_tags_to_resource(
        ResourceName=instances(aws)[other_stack]["DBInstanceArn"],
        Tags=tags.as_list(ours_elsewhere | {tags.STACK: "rds-backup-other"}),
    )

    now.advance(hours=5)
    early = reconcile.handler(load_sample("scheduled"), CONTEXT)
    assert identifier in instances(aws)
    assert not [a for a in early["actions"] if a.get("action") == "drill reaped"]
    now.advance(hours=2)  # past DRILL_MAX_HOURS (6)
    late = reconcile.handler(load_sample("scheduled"), CONTEXT)

    assert identifier not in instances(aws)
    assert {look_alike, other_stack} <= set(instances(aws))
    reaped = [a for a in late["actions"] if a.get("action") == "drill reaped"]
    assert [a["snapshot"] for a in reaped] == [identifier], late
    deletes = [p["DBInstanceIdentifier"] for _, p in drills["rds"].of("DeleteDBInstance")]
    assert deletes == [identifier]
    for _ in range(3):  # the end is told once it is seen gone
        now.advance(hours=1)
        reconcile.handler(load_sample("scheduled"), CONTEXT)
    run_checks(now)
    result = result_of(aws)
    assert (result["outcome"], result["step"], result["code"]) == (
        "failed",
        "reaped",
        "DrillOverdue",
    )
    tell(drills["bus"])
    [email] = drill_emails()
    assert "FAILED at reaped" in email.subject
    assert "DRILL_MAX_HOURS" in email.body


# --- the drill slots and the DB instances quota -----------------------------------------


def started_from_the_queue_then_passed(reconciled: dict[str, Any], aws, now) -> None:
    """Reconcile started orders' waiting drill from the queue, and its checks pass."""
    actions = reconciled["actions"]
    started = [a for a in actions if a.get("action") == "drill started from the queue"]
    assert [a["snapshot"] for a in started] == [f"orders/{drill_day()}"]
    run_checks(now)
    assert result_of(aws)["outcome"] == "passed"


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing"))])
@pytest.mark.parametrize("drill_env", [{"DRILL_EVERY_DAYS": "1", "DRILL_CONCURRENCY": "1"}])
def test_given_one_drill_slot_when_two_drills_are_due_then_the_second_waits_and_starts_when_the_first_ends(  # noqa: E501
    drills, aws, now
):
    first = start_drill.handler(load_sample("scheduled"), CONTEXT)

    assert len(first["drills"]["started"]) == 1
    assert first["drills"]["waiting"] == 1
    assert len([i for i in instances(aws) if i.startswith("rds-backup-drill-")]) == 1

    run_checks(now)

    finished = [
        json.loads(e["Detail"])["database"] for e in drills["bus"].entries("Drill Finished")
    ]
    assert sorted(finished) == ["billing", "orders"]
    assert result_of(aws, "orders")["outcome"] == "passed"
    assert result_of(aws, "billing")["outcome"] == "passed"
    assert not [i for i in instances(aws) if i.startswith("rds-backup-drill-")]


def test_given_the_db_instances_quota_full_when_the_drill_is_due_then_it_waits_and_starts_when_there_is_room(  # noqa: E501
    drills, aws, now, monkeypatch
):
    used = len(aws.rds(TARGET).describe_db_instances()["DBInstances"])
    local_limits.set_quota(TARGET, db_instances=used)  # production fills the quota

    waited = start_drill.handler(load_sample("scheduled"), CONTEXT)

    assert waited["drills"] == {"free": 0, "started": [], "waiting": 1}
    assert not drills["rds"].of("RestoreDBInstanceFromDBSnapshot")
    assert drills["bus"].finished() == []  # waiting, not failed
    now.advance(hours=1)
    again = reconcile.handler(load_sample("scheduled"), CONTEXT)
    assert not [a for a in again["actions"] if a.get("action") == "drill started from the queue"]

    local_limits.set_quota(TARGET, db_instances=used + 1)  # room again
    now.advance(hours=1)
    later = reconcile.handler(load_sample("scheduled"), CONTEXT)

    started_from_the_queue_then_passed(later, aws, now)


def test_given_the_first_night_not_yet_copied_when_the_drill_is_due_then_it_waits_for_the_copy(
    world, aws, monkeypatch, database, drill_env, now
):
    # given: the first night's snapshot of orders made, its copy not started yet (waiting
    # for a copy slot): nothing in the target region to restore
    tonight = (now.moment - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = start_backup.handler(load_sample("scheduled") | {"time": tonight}, CONTEXT)
    drill_network(aws, monkeypatch, **drill_env)
    clock.use(now)
    Probe(aws, monkeypatch, database)
    bus = Bus(aws)

    # when: the drill schedule fires, then the copy is made and reconcile passes
    waited = start_drill.handler(load_sample("scheduled"), CONTEXT)
    for snapshot in started["created"]:
        copy_snapshot.handler(rds_event("RDS-EVENT-0042", "us-east-1", snapshot), CONTEXT)
    now.advance(hours=1)
    later = reconcile.handler(load_sample("scheduled"), CONTEXT)

    # then: the drill waited (no failed drill, no notice) and started once the copy was there
    assert waited["drills"]["waiting"] == 1
    assert waited["drills"]["started"] == []
    assert bus.finished() == []
    started_from_the_queue_then_passed(later, aws, now)


def test_given_no_backup_of_the_database_at_all_when_the_drill_is_due_then_it_fails_once_saying_so(
    world, aws, monkeypatch, database, drill_env, now
):
    drill_network(aws, monkeypatch, **drill_env)
    clock.use(now)
    Probe(aws, monkeypatch, database)
    bus = Bus(aws)

    start_drill.handler(load_sample("scheduled"), CONTEXT)
    tell(bus)

    assert result_of(aws)["outcome"] == "failed"
    assert result_of(aws)["code"] == "NoRestorableCopy"
    assert len(drill_emails()) == 1


# --- the drill's credentials ------------------------------------------------------------


def test_given_a_drill_when_it_runs_then_its_password_appears_in_no_log_event_email_result_or_answer(  # noqa: E501
    drills, aws, now, capsys, database
):
    start_drill.handler(load_sample("scheduled"), CONTEXT)
    returned = [check_drill.handler(drill_event("RDS-EVENT-0043", drill_id(), now()), CONTEXT)]
    secret_arn = instances(aws)[drill_id()]["MasterUserSecret"]["SecretArn"]
    assert ":secret:rds!db-" in secret_arn  # RDS's own secret for the drill instance
    secret = aws.client("secretsmanager", TARGET).get_secret_value(SecretId=secret_arn)
    password = json.loads(secret["SecretString"])["password"]
    returned += run_checks(now)
    tell(drills["bus"])

    # the probe connected with the drill's own password, read from RDS's secret ...
    [connection] = database.connections
    assert connection["password"] == password
    assert connection["host"].startswith(drill_id())
    # ... and it went nowhere else
    s3 = aws.s3(TARGET)
    objects = s3.list_objects_v2(
        Bucket="acme-rds-backup-usw2", Prefix=f"{load_settings().export_s3_prefix}/drills/"
    )
    stored = [
        s3.get_object(Bucket="acme-rds-backup-usw2", Key=o["Key"])["Body"].read().decode()
        for o in objects["Contents"]
    ]
    [email] = drill_emails()
    schedules = [json.dumps(c) for c in drill_checks()]
    places = {
        "logs": capsys.readouterr().out,
        "events": json.dumps(drills["bus"].entries()),
        "probe requests": json.dumps(drills["probe"].requests),
        "probe answers": json.dumps(drills["probe"].answers),
        "handler answers": json.dumps(returned, default=str),
        "drill results": "".join(stored),
        "email": email.subject + email.body,
        "checks": "".join(schedules),
    }
    assert places["logs"]  # the logs were captured
    for where, text in places.items():
        assert password not in text, where
    # the secret is RDS's: it goes with the instance (moto deletes it at once)
    secrets = secretsmanager_backends[ACCOUNT][TARGET].secrets
    assert secret_arn not in secrets or secrets[secret_arn].deleted_date


# --- failed drills: one email with the database, the step and the fix -------------------


def test_given_a_sql_check_below_its_minimum_when_the_drill_checks_then_one_email_names_it_and_the_fix(  # noqa: E501
    drills, aws, now, database
):
    database.answers["SELECT count(*) FROM orders"] = 3

    start_drill.handler(load_sample("scheduled"), CONTEXT)
    run_checks(now)
    tell(drills["bus"])
    tell(drills["bus"])

    assert drill_id() not in instances(aws)
    result = result_of(aws)
    assert (result["outcome"], result["step"], result["code"]) == (
        "failed",
        "checks",
        "DrillCheckFailed",
    )
    assert result["reason"] == "orders rows: 3, expected >= 1000"
    [email] = drill_emails()
    assert "orders restore drill FAILED at checks" in email.subject
    assert "orders rows: 3, expected &gt;= 1000" in email.body or "orders rows: 3" in email.body
    assert "correct DRILL_CHECKS" in email.body
    assert result["deleted"] is True


@pytest.mark.parametrize("drill_env", [{"DRILL_EVERY_DAYS": "1", "DRILL_SUBNET_GROUP": "gone"}])
def test_given_a_missing_drill_subnet_group_when_the_drill_starts_then_one_email_names_the_database_the_step_and_the_fix(  # noqa: E501
    drills, aws, now
):
    start_drill.handler(load_sample("scheduled"), CONTEXT)
    now.advance(hours=1)
    reconcile.handler(load_sample("scheduled"), CONTEXT)  # the next pass does not retry it
    start_drill.handler(load_sample("scheduled"), CONTEXT)  # nor a replayed schedule
    tell(drills["bus"])

    assert not [i for i in instances(aws) if i.startswith("rds-backup-drill-")]
    result = result_of(aws)
    assert (result["outcome"], result["step"]) == ("failed", "restore")
    [email] = drill_emails()
    assert "orders restore drill FAILED at restore" in email.subject
    assert "gone" in email.body
    assert "DRILL_SUBNET_GROUP" in email.body
    assert len(drills["bus"].finished()) == 1


def test_given_the_probe_cannot_connect_when_the_drill_checks_then_it_fails_at_the_probe_and_is_deleted(  # noqa: E501
    drills, aws, now, database
):
    database.refuse = "timeout expired"

    start_drill.handler(load_sample("scheduled"), CONTEXT)
    run_checks(now)
    tell(drills["bus"])

    assert drill_id() not in instances(aws)
    result = result_of(aws)
    assert (result["outcome"], result["step"]) == ("failed", "probe")
    assert "timeout expired" in result["reason"]
    [email] = drill_emails()
    assert "FAILED at probe" in email.subject
    assert "DRILL_SECURITY_GROUP_IDS" in email.body
    assert (
        drills["probe"]
        .requests[0]["secret_arn"]
        .startswith(f"arn:aws:secretsmanager:{TARGET}:{ACCOUNT}:secret:rds!db-")
    )
    assert PROBE_FUNCTION
