"""`rds-backup restore` in-process on moto: the plan with its RPO, a dry run that writes
nothing, an instance restored to its endpoint, an Aurora cluster with each recorded instance,
and the refusals (an identifier that exists, a missing subnet group, a foreign snapshot)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.rds.models import RDSBackend

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.cli import main
from rds_backup.local.seed import (
    RESTORE_GROUP,
    WorldSpec,
    create_database,
    create_restore_network,
)
from rds_backup.ops import conventions
from rds_backup.ops import restore as ops_restore
from rds_backup.ops.conventions import Exit
from rds_backup.settings import load_settings
from rds_backup.state import manifests
from tests.integration.chain import snapshot_and_copy
from tests.integration.test_clusters import run_until_copy
from tests.support import SAMPLE_SNAPSHOT, backend

TARGET = "us-west-2"
READ_ONLY = ("Describe", "List", "Get", "Head")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every AWS operation the command makes, as (service, operation)."""
    made: list[tuple[str, str]] = []
    real = conventions.session

    def session(profile: str | None) -> boto3.Session:
        chosen = real(profile)

        def record(model: Any, **_: Any) -> None:
            made.append((model.service_model.service_name, model.name))

        chosen.events.register("provide-client-params.*.*", record)
        return chosen

    monkeypatch.setattr(conventions, "session", session)
    return made


@pytest.fixture
def network(world: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The target region's restore network, named in RESTORE_*."""
    env = create_restore_network(Aws(), TARGET)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    load_settings.cache_clear()
    return env


class FakeTime:
    """A monotonic clock that a sleep moves on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] = lambda: None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    real = ops_restore.Waiter

    def waiter(timeout: float = 4 * 3600.0) -> ops_restore.Waiter:
        return real(poll=30.0, timeout=timeout, sleep=fake.sleep, monotonic=fake.monotonic)

    monkeypatch.setattr(ops_restore, "Waiter", waiter)
    return fake


@pytest.fixture
def later() -> Iterator[None]:
    """The operator runs the restore two hours after the copy's snapshot."""
    clock.use(lambda: datetime.now(UTC) + timedelta(hours=2))
    yield
    clock.use(None)


def restore(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    load_settings.cache_clear()
    code = main(["restore", *args])
    load_settings.cache_clear()
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def writes(calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(s, op) for s, op in calls if not op.startswith(READ_ONLY)]


def nothing_changed(calls: list[tuple[str, str]], aws: Aws) -> bool:
    """Only read-only calls were made, and no DB instance exists in the target region."""
    return writes(calls) == [] and instances(aws) == {}


def instances(aws: Aws) -> dict[str, dict[str, Any]]:
    found = aws.rds(TARGET).describe_db_instances()["DBInstances"]
    return {str(i["DBInstanceIdentifier"]): dict(i) for i in found}


def test_given_an_available_copy_when_dry_run_then_the_plan_shows_the_copy_its_rpo_and_groups(
    aws, network, later, calls, capsys
):
    # given orders' copy in the target region, taken two hours ago
    snapshot_and_copy()

    # when the restore is dry-run
    code, out, _ = restore(capsys, "--db", "orders", "--dry-run")

    # then the plan names the copy, its age and the target region's groups, and nothing changed
    assert code == Exit.OK
    assert f"copy          {SAMPLE_SNAPSHOT} (available)" in out
    assert "age (RPO)     2 h 0 min: what was written after" in out
    assert "lost if us-east-1 is lost now" in out
    assert f"DB subnet group            {RESTORE_GROUP} (RESTORE_SUBNET_GROUP)" in out
    assert network["RESTORE_SECURITY_GROUP_IDS"] in out
    assert "recorded      postgres" in out
    assert "db.t4g.micro" in out
    assert "missing in us-west-2: nothing" in out
    assert "dry run: nothing was changed" in out
    assert nothing_changed(calls, aws)


def test_given_a_dry_run_as_json_then_it_holds_the_rpo_and_the_request_it_would_make(
    aws, network, later, capsys
):
    snapshot_and_copy()

    code, out, err = restore(capsys, "--db", "orders", "--dry-run", "--json")

    assert code == Exit.OK
    summary = json.loads(out)
    assert 7190 <= summary["rpo_seconds"] <= 7210
    assert summary["snapshot"]["id"] == SAMPLE_SNAPSHOT
    assert summary["identifier"].startswith("orders-restored-")
    assert summary["recorded"]["engine"] == "postgres"
    assert summary["restored"] is False
    assert summary["dry_run"] is True
    assert "age (RPO)" in err  # the plan for a person goes to stderr with --json


def test_given_the_restore_network_when_restored_then_it_prints_the_endpoint_and_elapsed_time(
    aws, network, fake_time, capsys
):
    snapshot_and_copy()

    code, out, _ = restore(capsys, "--db", "orders", "--as", "orders-dr")

    # then the instance exists in the target network, tagged with its copy, and the end says
    # where it is, how long it took and what to change next
    assert code == Exit.OK, out
    restored = instances(aws)["orders-dr"]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == RESTORE_GROUP
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [
        network["RESTORE_SECURITY_GROUP_IDS"]
    ]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == RESTORE_GROUP
    tag_list = aws.rds(TARGET).list_tags_for_resource(ResourceName=restored["DBInstanceArn"])
    assert {"Key": "rds-backup:restored-from", "Value": SAMPLE_SNAPSHOT} in tag_list["TagList"]
    address = restored["Endpoint"]["Address"]
    assert f"available after 0 min 0 s: endpoint {address}:5432" in out
    assert "next:\n  1. DNS: point the name" in out
    assert "--manage-master-user-password" in out


def test_given_a_restore_as_json_then_the_summary_has_the_endpoint_and_elapsed_seconds(
    aws, network, fake_time, capsys
):
    snapshot_and_copy()

    code, out, _ = restore(capsys, "--db", "orders", "--as", "orders-dr", "--json")

    summary = json.loads(out)
    assert code == Exit.OK
    assert summary["restored"] is True
    assert summary["endpoint"] == instances(aws)["orders-dr"]["Endpoint"]["Address"]
    assert summary["port"] == 5432
    assert summary["elapsed_seconds"] == 0
    assert len(summary["next"]) >= 4


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",), clusters=("analytics",))


def test_given_an_aurora_cluster_with_two_instances_when_restored_then_each_is_recreated(
    aws, network, fake_time, context, capsys
):
    # given the source cluster had a writer and a reader when it was backed up
    source = aws.rds("us-east-1")
    for name, size in (("analytics-1", "db.r6g.large"), ("analytics-2", "db.r6g.xlarge")):
        source.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="analytics",
            Engine="aurora-postgresql",
            DBInstanceClass=size,
        )
    run_until_copy(context)

    # when it is restored
    code, out, _ = restore(capsys, "--db", "analytics", "--as", "analytics-dr")

    # then the cluster has both recorded instances, with their classes, and the end names the
    # writer and reader endpoints after following the cluster from "creating"
    assert code == Exit.OK, out
    rds = aws.rds(TARGET)
    members = rds.describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": ["analytics-dr"]}]
    )["DBInstances"]
    assert {(m["DBInstanceIdentifier"], m["DBInstanceClass"]) for m in members} == {
        ("analytics-dr-1", "db.r6g.large"),
        ("analytics-dr-2", "db.r6g.xlarge"),
    }
    cluster = rds.describe_db_clusters(DBClusterIdentifier="analytics-dr")["DBClusters"][0]
    assert f"endpoint {cluster['Endpoint']}:" in out
    assert f"(readers: {cluster['ReaderEndpoint']})" in out
    assert "analytics-dr available, analytics-dr-1 available, analytics-dr-2 available" in out


@pytest.fixture
def slow_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    """RDS answers "creating" for a restored instance until told otherwise (moto makes it
    available at once)."""
    original = RDSBackend.restore_db_instance_from_db_snapshot

    def creating(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        restored = original(self, *args, **kwargs)
        restored.status = "creating"
        return restored

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", creating)


def test_given_a_restore_that_takes_a_while_when_followed_then_each_change_is_a_line(
    aws, network, fake_time, capsys, slow_restore
):
    # given RDS answers "creating" for the first two polls, then "backing-up", then available
    snapshot_and_copy()
    statuses = iter(["creating", "backing-up", "available"])
    fake_time.on_sleep = lambda: setattr(
        backend(TARGET).databases["orders-dr"], "status", next(statuses)
    )

    # when restored
    code, out, _ = restore(capsys, "--db", "orders", "--as", "orders-dr")

    # then it polled every 30 s, printed each status once, and timed the whole
    assert code == Exit.OK, out
    assert fake_time.sleeps == [30.0, 30.0, 30.0]
    progress = [line.split() for line in out.splitlines() if "  orders-dr " in line]
    assert progress == [
        ["0", "min", "0", "s", "orders-dr", "creating"],
        ["1", "min", "0", "s", "orders-dr", "backing-up"],
        ["1", "min", "30", "s", "orders-dr", "available"],
    ]
    assert "available after 1 min 30 s: endpoint orders-dr." in out


def test_given_a_restore_past_the_timeout_when_followed_then_it_says_how_to_follow_it(
    aws, network, fake_time, capsys, slow_restore
):
    snapshot_and_copy()

    code, _, err = restore(capsys, "--db", "orders", "--as", "orders-dr", "--timeout", "2")

    assert code == Exit.FAILED
    assert err.splitlines() == [
        "rds-backup restore: orders-dr still orders-dr creating after 2 min 0 s; the restore "
        "goes on in RDS: follow it with aws rds describe-db-instances --db-instance-identifier "
        "orders-dr --region us-west-2"
    ]


def test_given_an_identifier_that_exists_when_restored_again_then_one_line_and_no_write(
    aws, network, fake_time, calls, capsys
):
    snapshot_and_copy()
    assert restore(capsys, "--db", "orders", "--as", "orders-dr")[0] == Exit.OK
    calls.clear()

    code, out, err = restore(capsys, "--db", "orders", "--as", "orders-dr")

    assert code == Exit.BAD_VALUE
    assert out == ""
    assert err.splitlines() == [
        "rds-backup restore: DB instance orders-dr already exists in us-west-2: choose another "
        "name with --as (nothing was changed)"
    ]
    assert writes(calls) == []


def test_given_a_subnet_group_missing_in_the_target_region_then_it_is_named_with_its_fix(
    aws, network, calls, capsys, monkeypatch
):
    snapshot_and_copy()
    monkeypatch.setenv("RESTORE_SUBNET_GROUP", "prod-db-subnets")

    code, out, err = restore(capsys, "--db", "orders", "--as", "orders-dr")

    assert code == Exit.FAILED
    assert nothing_changed(calls, aws)
    assert (
        "MISSING: the DB subnet group 'prod-db-subnets' (RESTORE_SUBNET_GROUP) does not exist "
        "in us-west-2" in out
    )
    assert "fix: create it in us-west-2 (aws rds create-db-subnet-group" in out
    assert "lacks 1 thing(s) the restore needs" in err


def test_given_a_snapshot_that_is_not_ours_when_named_then_it_is_refused(
    aws, network, calls, capsys
):
    # given a manual snapshot in the target region that another tool made
    snapshot_and_copy()
    create_database(aws, TARGET, "orders")
    aws.rds(TARGET).create_db_snapshot(
        DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-manual"
    )
    calls.clear()

    code, _, err = restore(capsys, "--db", "orders", "--snapshot", "orders-manual")

    assert code == Exit.BAD_VALUE
    assert "orders-manual in us-west-2 is not a copy made by stack rds-backup" in err
    assert len(err.splitlines()) == 1
    assert writes(calls) == []


def test_given_no_manifest_when_planned_then_it_says_what_is_unknown_and_still_restores(
    aws, network, fake_time, capsys, settings
):
    snapshot_and_copy()
    aws.s3(TARGET).delete_object(
        Bucket=settings.target_bucket, Key=manifests.manifest_key(settings, SAMPLE_SNAPSHOT)
    )

    code, out, _ = restore(capsys, "--db", "orders", "--as", "orders-dr")

    assert code == Exit.OK, out
    assert "manifest      none at s3://" in out
    assert "unknown: the source's instance class, port" in out
    assert "orders-dr" in instances(aws)


def test_given_no_copy_of_the_database_when_restored_then_it_is_refused_naming_the_others(
    aws, network, calls, capsys
):
    snapshot_and_copy()

    code, _, err = restore(capsys, "--db", "billing")

    assert code == Exit.BAD_VALUE
    assert "no available copy of billing in us-west-2 (copies exist of: orders)" in err
    assert writes(calls) == []


@pytest.mark.parametrize(
    "bad", ["1orders", "orders--dr", "orders-", "orders_dr", "o" * 64], ids=str
)
def test_given_an_identifier_against_rds_rules_when_given_then_usage_error_before_aws(
    bad, calls, capsys
):
    with pytest.raises(SystemExit) as ended:
        main(["restore", "--db", "orders", "--as", bad])

    assert ended.value.code == Exit.USAGE
    assert f"--as {bad}:" in capsys.readouterr().err
    assert calls == []


def test_given_the_copys_key_disabled_when_planned_then_the_key_is_missing_with_its_fix(
    aws, network, calls, capsys
):
    snapshot_and_copy()
    key = aws.rds(TARGET).describe_db_snapshots(DBSnapshotIdentifier=SAMPLE_SNAPSHOT)[
        "DBSnapshots"
    ][0]["KmsKeyId"]
    aws.client("kms", TARGET).disable_key(KeyId=key.rsplit("/", 1)[-1])
    calls.clear()

    code, out, _ = restore(capsys, "--db", "orders", "--dry-run")

    assert code == Exit.FAILED
    assert f"MISSING: the copy's KMS key {key} is Disabled in us-west-2" in out
    assert f"fix: aws kms enable-key --key-id {key}" in out
    assert writes(calls) == []
