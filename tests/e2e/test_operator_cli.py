"""The operator CLI against the local AWS (as against a real stack with --endpoint-url)."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from rds_backup.aws import Aws
from rds_backup.cli import main
from rds_backup.ops.conventions import Exit
from tests.e2e.support import emails_about, run_cli, run_nightly


def test_given_a_finished_night_when_status_is_asked_then_each_run_shows_every_step(
    local_aws, operator
):
    run = run_nightly(local_aws)

    code, out, _ = operator("status", "--json")

    assert code == 0
    runs = json.loads(out)["runs"]
    assert {(r["database"], r["run"], r["outcome"]) for r in runs} == {
        ("orders", run, "succeeded"),
        ("billing", run, "succeeded"),
    }
    assert all(r["copy"] == "available" and r["exports"]["us-west-2"] == "COMPLETE" for r in runs)


def test_given_a_finished_night_when_status_is_printed_then_it_is_a_table(local_aws, operator):
    run_nightly(local_aws)

    code, out, _ = operator("status")

    assert code == 0
    header = ["DATABASE", "RUN", "(UTC)", "SIZE", "COPY", "EXPORT", "OUTCOME"]
    assert out.splitlines()[0].split() == header
    assert len(out.split("\n\n")[0].splitlines()) == 3
    assert max(len(line) for line in out.splitlines()) <= 80


def test_given_a_named_and_a_tagged_database_when_status_is_asked_then_it_says_why_each_is_in(
    local_aws, operator, monkeypatch
):
    rds = Aws().rds("us-east-1")
    arn = rds.describe_db_instances(DBInstanceIdentifier="billing")["DBInstances"][0]
    rds.add_tags_to_resource(
        ResourceName=arn["DBInstanceArn"], Tags=[{"Key": "backup", "Value": "nightly"}]
    )
    local_aws.configure(DB_IDENTIFIER="orders,ghost", DB_SELECT_TAG="backup=nightly")

    code, out, _ = operator("status")
    _, as_json, _ = operator("status", "--json")

    assert code == 0
    assert "  billing (instance): tag backup=nightly" in out
    assert "  orders (instance): named in DB_IDENTIFIER" in out
    assert "  ghost: NOT BACKED UP, DatabaseNotFound" in out
    why = {d["identifier"]: d["why"] for d in json.loads(as_json)["databases"]}
    assert why == {"billing": "tag backup=nightly", "orders": "named in DB_IDENTIFIER"}


def test_given_an_operator_request_when_started_then_the_chain_runs_for_that_database_only(
    local_aws, operator
):
    code, out, _ = operator("start", "--db", "orders", "--reason", "before migration")
    local_aws.run_until_quiet()

    assert code == 0
    assert "Backup Requested for orders" in out
    found = local_aws.inventory()
    assert [m.outcome for m in emails_about(found, "orders")] == ["success"]
    assert emails_about(found, "billing") == []


def test_given_a_start_for_one_database_when_status_is_asked_then_the_others_are_not_missing(
    local_aws, operator
):
    # given: an operator's request for orders only
    operator("start", "--db", "orders")
    local_aws.run_until_quiet()

    # when
    code, out, _ = operator("status")
    _, as_json, _ = operator("status", "--json")

    # then: billing was not requested in that run, so status says nothing of it there
    assert code == 0
    assert "no snapshot" not in out
    assert "billing" not in out.split("\n\n")[0]
    runs = json.loads(as_json)["runs"]
    assert [(r["database"], r["outcome"]) for r in runs] == [("orders", "succeeded")]


def test_given_a_night_without_one_database_snapshot_when_status_is_asked_then_it_is_missing(
    local_aws, operator
):
    # given: the nightly run (every database) could not snapshot billing
    local_aws.configure(DB_IDENTIFIER="orders")
    run_nightly(local_aws)
    local_aws.configure(DB_IDENTIFIER="orders,billing")

    code, out, _ = operator("status", "--json")

    # then: billing's row says it has no snapshot of that run
    missing = [r for r in json.loads(out)["runs"] if r["database"] == "billing"]
    assert code == 0
    assert [r["outcome"] for r in missing] == ["no snapshot"]


def test_given_an_unconfigured_database_when_started_then_it_is_refused_before_any_event(
    local_aws, operator
):
    code, _, err = operator("start", "--db", "payroll")

    assert code == Exit.BAD_VALUE == 252
    assert "not selected by this stack: payroll (selected: orders, billing;" in err


def test_given_a_failed_export_when_replayed_after_the_fix_then_the_run_succeeds(
    local_aws, operator
):
    local_aws.emulator.fail_exports(match="orders", cause="S3 bucket access denied")
    run_nightly(local_aws)
    local_aws.emulator.heal()  # the cause is fixed
    now = datetime.now(UTC)

    code, out, _ = operator(
        "replay",
        "--since",
        (now - timedelta(hours=1)).isoformat(),
        "--until",
        now.isoformat(),
        "--json",
    )
    local_aws.run_until_quiet()

    assert code == 0
    assert json.loads(out)["state"] == "COMPLETED"
    outcomes = [m.outcome for m in emails_about(local_aws.inventory(), "orders")]
    assert outcomes == ["failure", "success"]


def test_given_a_finished_night_when_cleanup_is_dry_run_then_the_plan_is_shown_and_kept(
    local_aws, operator
):
    run_nightly(local_aws)
    before = local_aws.inventory().snapshots

    code, out, _ = operator("cleanup", "--dry-run", "--json")

    assert code == 0
    plan = json.loads(out)["plan"]
    assert plan["delete"] == 0
    assert {row["reason"] for row in plan["snapshots"]} == {"within retention"}
    assert local_aws.inventory().snapshots == before


def test_given_an_unreachable_endpoint_when_asked_then_one_line_says_what_to_check(
    capsys, monkeypatch
):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    code = main(
        [
            *("status", "--stack", "rds-backup-dev", "--region", "us-east-1"),
            *("--endpoint-url", "http://127.0.0.1:9"),
        ]
    )

    err = capsys.readouterr().err
    assert code == Exit.UNREACHABLE == 255
    (line,) = err.splitlines()
    assert line.startswith("rds-backup status: cannot reach AWS in us-east-1 (http://127.0.0.1:9/")
    assert line.endswith("): check --region and --endpoint-url")
    # --endpoint-url held for that command only: nothing later in this process inherits it
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_given_nothing_listening_when_doctor_runs_then_one_line_and_exit_255_in_seconds(
    local_aws, monkeypatch
):
    # given: the stack's variables exported, an endpoint where nothing listens
    env = {**os.environ, **local_aws.environment, "STACK_NAME": "rds-backup-dev"}
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()

    # when
    done = run_cli("doctor", "--endpoint-url", "http://127.0.0.1:9", timeout=60, env=env)

    # then: as status says it: one line, exit 255, no check's "give the caller read access"
    took = time.monotonic() - started
    assert done.returncode == Exit.UNREACHABLE == 255
    (line,) = done.stderr.splitlines()
    assert line.startswith("rds-backup doctor: cannot reach AWS in ")
    assert line.endswith("(http://127.0.0.1:9/): check --region and --endpoint-url")
    assert done.stdout == ""
    assert took < 15, f"{took:.1f} s"


def test_given_a_stack_without_an_archive_when_replayed_then_the_error_names_it(
    local_aws, operator, monkeypatch
):
    monkeypatch.setenv("STACK_NAME", "rds-backup-prod")

    code, _, err = operator("replay", "--since", "2026-11-25T00:00:00Z")

    assert code == 1
    assert "no archive rds-backup-prod-chain" in err
    assert "deployed" in err


@pytest.mark.parametrize(
    "command",
    [
        ("status",),
        ("status", "--wide"),
        ("start", "--db", "orders"),
        ("cleanup", "--dry-run"),
        ("cleanup", "--apply"),
    ],
)
def test_given_json_asked_when_a_command_runs_then_stdout_is_one_json_document_logs_on_stderr(
    local_aws, command
):
    run_nightly(local_aws)
    env = {**os.environ, **local_aws.environment, "STACK_NAME": "rds-backup-dev"}

    done = run_cli(*command, "--json", timeout=120, env={**env, "LOG_LEVEL": "INFO"})
    quiet = run_cli(*command, "--json", timeout=120, env=env)

    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)
    assert '"level":"INFO"' in done.stderr  # asked for, the logs are there, on stderr
    # not asked for, a person's terminal gets no INFO records (LOG_LEVEL unset)
    assert quiet.returncode == 0
    assert '"level":"INFO"' not in quiet.stderr
