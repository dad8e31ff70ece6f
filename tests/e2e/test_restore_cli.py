"""`rds-backup restore` against the local AWS: after a night, the plan with its RPO, then the
restore to its endpoint, and the same `--as` again refused in one line. Once with the LocalAws
harness and a restore network in the target region, once against `rds-backup local up` in a
process of its own, as an operator runs it."""

from __future__ import annotations

import json
import time

import pytest

from rds_backup.aws import Aws
from rds_backup.cli import main
from rds_backup.local.harness import STACK_NAME
from rds_backup.local.seed import RESTORE_GROUP, WorldSpec
from rds_backup.local.server import FAKE_CREDENTIALS
from rds_backup.ops.conventions import Exit
from rds_backup.settings import load_settings
from tests.e2e.support import local_up, run_nightly, runs_until

SOURCE, TARGET = "us-east-1", "us-west-2"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(restore_network=True)


def test_given_a_night_when_orders_is_restored_then_plan_restore_and_the_same_name_refused(
    local_aws, operator
):
    # given a finished night: orders' copy is in the target region
    run = run_nightly(local_aws)

    # when the operator dry-runs, restores, and restores again under the same name
    planned = operator("restore", "--db", "orders", "--dry-run")
    restored = operator("restore", "--db", "orders", "--as", "orders-dr", "--json")
    again = operator("restore", "--db", "orders", "--as", "orders-dr")

    # then the plan names the copy, its age and the restore network, and changed nothing
    code, out, _ = planned
    assert code == Exit.OK, out
    assert f"copy          rds-backup-orders-{run} (available)" in out
    assert "age (RPO)" in out
    assert f"DB subnet group            {RESTORE_GROUP} (RESTORE_SUBNET_GROUP)" in out
    assert "missing in us-west-2: nothing" in out
    # the restore ends with the endpoint and the elapsed time
    code, out, err = restored
    assert code == Exit.OK, err
    summary = json.loads(out)
    described = Aws().rds(TARGET).describe_db_instances(DBInstanceIdentifier="orders-dr")
    [instance] = described["DBInstances"]
    assert summary["endpoint"] == instance["Endpoint"]["Address"]
    assert summary["elapsed_seconds"] >= 0
    assert summary["rpo_seconds"] >= 0
    assert "available after " in err
    assert instance["DBSubnetGroup"]["DBSubnetGroupName"] == RESTORE_GROUP
    # the same --as again: one line, status 252
    code, out, err = again
    assert code == Exit.BAD_VALUE
    assert out == ""
    assert err.splitlines() == [
        "rds-backup restore: DB instance orders-dr already exists in us-west-2: choose another "
        "name with --as (nothing was changed)"
    ]


def test_given_local_up_when_orders_is_backed_up_then_restore_plans_restores_and_refuses(
    capsys, monkeypatch
):
    with local_up() as up:
        for name, value in FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        stack = ["--stack", STACK_NAME, "--region", SOURCE, "--endpoint-url", up.url]

        # given: the operator backs orders up and waits for its copy
        assert main(["start", *stack, "--db", "orders", "--reason", "before restore"]) == 0
        capsys.readouterr()
        assert runs_until(stack, capsys, "orders", "copy", "available") == ["available"]

        # when: the plan, the restore, and the same name again
        def restore(*args: str) -> tuple[int, str, str]:
            capsys.readouterr()
            code = main(["restore", *stack, "--db", "orders", *args])
            load_settings.cache_clear()
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        planned = restore("--dry-run")
        restored = restore("--as", "orders-restored")
        again = restore("--as", "orders-restored")

    # then: the plan has the RPO; the restore prints the endpoint and the elapsed time; the
    # same --as is refused in one line
    code, out, _ = planned
    assert code == Exit.OK, out
    assert "age (RPO)" in out
    assert "dry run: nothing was changed" in out
    code, out, err = restored
    assert code == Exit.OK, err
    assert "available after " in out
    assert "endpoint orders-restored." in out
    code, out, err = again
    assert code == Exit.BAD_VALUE
    assert len(err.splitlines()) == 1
    assert "orders-restored already exists in us-west-2" in err


def test_given_local_up_with_drills_when_the_drill_schedule_fires_then_each_database_passes(
    capsys, monkeypatch
):
    with local_up("--drills") as up:
        for name, value in FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        stack = ["--stack", STACK_NAME, "--region", SOURCE, "--endpoint-url", up.url]
        # given: a backup of every database, its copies available in the target region
        assert main(["start", *stack, "--reason", "before the drill"]) == 0
        capsys.readouterr()
        for database in ("orders", "billing"):
            assert runs_until(stack, capsys, database, "copy", "available") == ["available"]

        # when: the drill schedule fires now
        fired = main(["local", "drill", "--endpoint-url", up.url, "--region", SOURCE])
        capsys.readouterr()
        drills: dict[str, dict[str, object] | None] = {}
        for _ in range(60):
            assert main(["status", *stack, "--json"]) == 0
            drills = json.loads(capsys.readouterr().out)["drills"]
            # ended and its instance seen gone (the result records the deletion after the
            # outcome: check_drill deletes, then sees the instance gone)
            if all(d and d["outcome"] != "running" and d["deleted"] for d in drills.values()):
                break
            time.sleep(2)
        emails = [up.line_with("restore drill passed") for _ in range(2)]

    # then: each database was restored from its copy on the real PostgreSQL, its rows
    # checked over the wire, its drill instance deleted; one email per drill on disk
    assert fired == 0
    assert set(drills) == {"orders", "billing"}
    for drill in drills.values():
        assert drill is not None
        assert drill["outcome"] == "passed", drill
        assert drill["deleted"] is True
        [count] = [c for c in drill["checks"] if c["name"] == "orders present"]
        assert count["passed"] is True
        assert count["value"] >= 1
    assert sorted("orders" in e for e in emails) == [False, True]
    assert all(" -> " in e for e in emails)  # the file it was written to
