"""The operator commands against the local AWS, as the AWS CLI's conventions have them
(rds_backup/ops/conventions.py): one JSON document on stdout with ``--json`` or ``--output
json``, replay's progress where a person sees it, a closed pipe and Ctrl-C without a
traceback, ``--profile`` and AWS_REGION honoured, and an unknown ``--db`` refused with the
known ones named."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from rds_backup.cli import main
from rds_backup.local import misconfigure
from rds_backup.local.demo import columns
from rds_backup.ops import commands, conventions
from rds_backup.ops.conventions import Exit
from rds_backup.settings import load_settings
from tests.e2e.support import run_cli, run_nightly

ROOT = Path(__file__).resolve().parents[2]
STACK = "rds-backup-dev"


def _window() -> tuple[str, str]:
    now = datetime.now(UTC)
    return (now - timedelta(hours=2)).isoformat(), (now - timedelta(minutes=11)).isoformat()


def _said(err: str) -> list[str]:
    """What stderr tells a person (the JSON log lines left out)."""
    return [line for line in err.splitlines() if line and not line.startswith("{")]


def _arguments(command: str) -> list[str]:
    if command == "replay":
        since, until = _window()
        return ["replay", "--since", since, "--until", until, "--timeout", "60"]
    return {
        "status": ["status"],
        "start": ["start", "--db", "orders"],
        "cleanup": ["cleanup", "--dry-run"],
        "doctor": ["doctor"],
        "redrive": ["redrive", "--dry-run"],
    }[command]


@pytest.mark.parametrize("spelling", [["--json"], ["--output", "json"]], ids=" ".join)
@pytest.mark.parametrize("command", ["status", "start", "replay", "cleanup", "doctor", "redrive"])
def test_given_json_asked_either_way_when_an_operator_command_runs_then_stdout_is_one_document(
    local_aws, operator, command, spelling, monkeypatch
):
    # given: a finished night on a deployed stack (doctor reads its functions and rules)
    environment = misconfigure.build(local_aws)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    run_nightly(local_aws)

    # when
    code, out, err = operator(*_arguments(command), *spelling)

    # then: the whole of stdout is one JSON object; nothing meant for a person is in it
    assert code == Exit.OK, err
    document = json.loads(out)
    assert isinstance(document, dict)
    assert document


def test_given_a_replay_in_table_mode_when_followed_then_progress_lines_are_printed(
    local_aws, operator
):
    run_nightly(local_aws)
    since, until = _window()

    code, out, err = operator("replay", "--since", since, "--until", until, "--timeout", "60")

    assert code == Exit.OK
    lines = out.splitlines()
    assert lines[0].startswith("replay rds-backup-dev-")
    # one window, told once (stdout), none other on stderr
    assert [line for line in (out + err).splitlines() if "window" in line] == [lines[0]]
    assert any(line.strip().startswith("completed  100% replayed") for line in lines), out
    assert "replay completed" in lines


def test_given_a_replay_with_json_when_followed_then_progress_is_on_stderr_and_the_window_utc(
    local_aws, operator
):
    run_nightly(local_aws)
    since = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    plus_two = since.astimezone(timezone(timedelta(hours=2)))

    code, out, err = operator("replay", "--since", plus_two.isoformat(), "--output", "json")

    assert code == Exit.OK
    summary = json.loads(out)
    assert summary["since"] == since.isoformat()
    assert any(line.strip().startswith("completed  100% replayed") for line in err.splitlines())
    assert "replay completed" in err.splitlines()
    assert f"window {since:%Y-%m-%dT%H:%M:%S}Z .. " in err


def test_given_the_demo_with_output_json_when_run_then_stdout_is_one_document(tmp_path):
    done = run_cli("demo", "--output", "json", timeout=300, cwd=tmp_path)

    assert done.returncode == Exit.OK, done.stderr
    summary = json.loads(done.stdout)
    assert {run["database"] for run in summary["runs"]} >= {"orders", "billing"}


@pytest.mark.parametrize(
    ("databases", "failed"),
    [("a,b,c", {"a"}), ("zeta,alpha,mid", {"zeta"})],
)
def test_given_the_demo_with_fail_export_when_run_then_only_the_first_database_fails_and_it_fits_80_columns(  # noqa: E501
    tmp_path, databases, failed
):
    # given/when: the demo as a person runs it, with names that are substrings of others'
    done = run_cli("demo", "--fail-export", "--databases", databases, timeout=300, cwd=tmp_path)

    # then: only the first database's export failed (names match exactly)
    assert done.returncode == Exit.OK, done.stderr
    pattern = r"export\s+us-west-2\s+rds-backup-(\w+)-\d{8}-\d{4}-us-west-2\s+(FAILED|COMPLETE)"
    states = dict(re.findall(pattern, done.stdout))
    assert {db for db, status in states.items() if status == "FAILED"} == failed
    assert len(states) == 3
    # and every line fits a terminal of 80 columns (wide characters count two)
    wide = [line for line in done.stdout.splitlines() if columns(line) > 80]
    assert wide == []


def test_given_a_reader_that_closes_early_when_status_prints_then_it_ends_quietly(local_aws):
    # given: a finished night and a reader that has gone before anything is written
    run_nightly(local_aws)
    env = {**os.environ, **local_aws.environment, "STACK_NAME": STACK}
    process = subprocess.Popen(
        [sys.executable, "-m", "rds_backup.cli", "status", "--endpoint-url", local_aws.server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stderr is not None

    # when: `rds-backup status | head -0`
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=120)

    # then: no traceback and no "Exception ignored", the status a closed pipe gives
    assert process.returncode == Exit.CLOSED_PIPE == 141, err
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_given_ctrl_c_during_a_command_when_interrupted_then_one_line_and_exit_130(
    local_aws, operator, monkeypatch
):
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "status", interrupted)

    code, out, err = operator("status")

    assert code == Exit.INTERRUPTED == 130
    assert out == ""
    assert _said(err) == ["rds-backup: interrupted"]


def test_given_a_profile_and_aws_region_when_a_stack_is_named_then_they_are_used(
    local_aws, monkeypatch, tmp_path, capsys
):
    # given: a deployed stack, its credentials in a named profile, its region in AWS_REGION
    misconfigure.build(local_aws)
    (tmp_path / "config").write_text("[profile backup-ops]\nregion = eu-central-1\n")
    (tmp_path / "credentials").write_text(
        "[backup-ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_REGION", local_aws.spec.source_region)
    run_nightly(local_aws)
    load_settings.cache_clear()
    capsys.readouterr()

    # when: no --region (AWS_REGION beats the profile's eu-central-1)
    code = main(
        [
            *("status", "--stack", STACK, "--profile", "backup-ops", "--json"),
            *("--endpoint-url", local_aws.server.url),
        ]
    )

    # then
    assert code == Exit.OK, capsys.readouterr().err
    assert {run["database"] for run in json.loads(capsys.readouterr().out)["runs"]} == {
        "orders",
        "billing",
    }


@pytest.mark.parametrize(
    "command",
    [
        ["status", "--db", "payrol"],
        [
            "replay",
            "--since",
            "2026-11-25T02:00Z",
            "--until",
            "2026-11-25T09:00Z",
            "--db",
            "payrol",
        ],
        ["start", "--db", "payrol"],
    ],
    ids=lambda c: c[0],
)
def test_given_an_unknown_database_when_asked_then_it_is_refused_naming_the_known_ones(
    local_aws, operator, command
):
    code, out, err = operator(*command)

    assert code == Exit.BAD_VALUE == 252
    assert out == ""
    (line,) = [line for line in _said(err) if "payrol" in line]
    assert line == _said(err)[-1]
    assert line.startswith(f"rds-backup {command[0]}: ")
    assert "payrol" in line
    assert "(selected: orders, billing" in line


def test_given_a_replay_still_running_when_ctrl_c_is_pressed_then_it_says_how_to_follow_it(
    local_aws, operator, monkeypatch
):
    # given: a replay EventBridge is still running (moto completes one at once, so its
    # DescribeReplay answer is given here: State RUNNING, nothing replayed yet)
    real = conventions.session

    def still_running(profile: str | None) -> boto3.Session:
        chosen = real(profile)
        answer = {"State": "RUNNING", "ResponseMetadata": {"HTTPStatusCode": 200}}
        chosen.events.register(
            "before-call.events.DescribeReplay",
            lambda **_: (AWSResponse("", 200, {}, None), answer),
        )
        return chosen

    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(conventions, "session", still_running)
    monkeypatch.setattr(commands.time, "sleep", ctrl_c)
    since, until = _window()

    # when: the operator presses Ctrl-C during the wait between two polls
    code, out, err = operator("replay", "--since", since, "--until", until)

    # then
    assert code == Exit.INTERRUPTED
    assert "  running    no event replayed yet (0s)" in out.splitlines()
    (line,) = [line for line in _said(err) if "interrupted" in line]
    replay = out.split()[1].rstrip(":")
    assert line == (
        f"rds-backup replay: interrupted; replay {replay} goes on in EventBridge: follow it with "
        f"aws events describe-replay --replay-name {replay} --region us-east-1, or stop it "
        f"with aws events cancel-replay --replay-name {replay} --region us-east-1"
    )


def test_given_a_tag_selected_database_when_named_with_db_then_it_is_known_and_a_typo_is_not(
    local_aws, operator
):
    # given: orders named in DB_IDENTIFIER, billing selected only by its tag
    rds = local_aws.server.client("rds", local_aws.spec.source_region)
    billing = rds.describe_db_instances(DBInstanceIdentifier="billing")["DBInstances"][0]
    rds.add_tags_to_resource(
        ResourceName=billing["DBInstanceArn"], Tags=[{"Key": "backup", "Value": "nightly"}]
    )
    local_aws.configure(DB_IDENTIFIER="orders", DB_SELECT_TAG="backup=nightly")

    # when
    known, _, _ = operator("start", "--db", "billing")
    typo, _, err = operator("start", "--db", "biling")

    # then: the tag-selected database is one of the stack's; the typo is refused naming both
    assert known == Exit.OK
    assert typo == Exit.BAD_VALUE
    (line,) = [line for line in _said(err) if "biling" in line]
    assert "not selected by this stack: biling (selected: " in line
    assert {"orders", "billing"} <= set(re.split(r"[ ,;()]+", line))


def test_given_debug_when_status_runs_then_aws_requests_are_logged_on_stderr_and_stdout_is_json(
    local_aws, operator
):
    import logging

    from rds_backup.observability import logger

    run_nightly(local_aws)
    botocore_log, level = logging.getLogger("botocore"), logger.log_level
    try:
        # when
        code, out, err = operator("status", "--json", "--debug")
    finally:  # (one process, one command: the CLI never undoes it; a test must)
        botocore_log.handlers.clear()
        botocore_log.setLevel(logging.NOTSET)
        logger.setLevel(level)

    # then: botocore's requests on stderr, the answer alone on stdout
    assert code == Exit.OK, err
    assert "DescribeDBSnapshots" in err
    assert "DEBUG" in err
    assert json.loads(out)
