"""The console script follows the AWS CLI's conventions (rds_backup/ops/conventions.py):
help without markup artefacts, --version, --output json|table, profile and region
precedence, inputs questioned before any AWS call, and one line with a documented exit
status for a missing profile, an expired sign-in and expired or invalid credentials.

No AWS here: AWS's answers are given by botocore's Stubber, and profiles by config files
written in a temporary directory."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rds_backup.cli import build_parser, main
from rds_backup.ops import conventions
from rds_backup.ops.conventions import Exit

PLUS_TWO = timezone(timedelta(hours=2))
STACK = ["--stack", "rds-backup-prod", "--region", "eu-west-1"]
# What a docstring or a hand-written help leaves behind when it reaches a terminal.
ARTEFACTS = {
    "backtick (RST or Markdown code)": re.compile(r"`"),
    "argparse %-escape or format left in": re.compile(r"%\(|%%|%s"),
    "a None default shown": re.compile(r"\bNone\b"),
    "Markdown emphasis": re.compile(r"\*\*|__\w"),
    "Sphinx role": re.compile(r":(class|func|meth|mod|ref):"),
    "RST literal block": re.compile(r"::\s*$", re.MULTILINE),
    "blank lines doubled": re.compile(r"\n\n\n"),
}


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple]:
    """Every command line that has its own help: the top level and each (sub)command."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name))
    return found


def _help(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as ended:
        main([*command, "--help"])
    assert ended.value.code == 0
    return capsys.readouterr().out


@pytest.fixture
def no_profile_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty AWS config and credentials file; no AWS_PROFILE or AWS_REGION of the host."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("")
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache
    return config


def test_given_every_command_when_its_help_is_rendered_then_it_has_no_markup_artefacts(
    capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "80")
    commands = _commands(build_parser()[0])
    assert {" ".join(c) for c in commands} >= {
        "",
        "demo",
        "bench",
        "local",
        "local up",
        "status",
        "start",
        "replay",
        "cleanup",
        "doctor",
        "redrive",
    }

    for command in commands:
        text = _help(command, capsys)

        found = [what for what, pattern in ARTEFACTS.items() if pattern.search(text)]
        assert found == [], (command, found, text)
        too_wide = [line for line in text.splitlines() if len(line) > 80]
        assert too_wide == [], (command, too_wide)
        assert text.startswith(f"usage: rds-backup {' '.join(command)}".rstrip())


def test_given_every_operator_command_when_its_help_is_read_then_it_offers_the_aws_options(
    capsys,
):
    for command in ("status", "start", "replay", "cleanup", "doctor", "redrive"):
        text = _help((command,), capsys)

        for option in ("--profile", "--region", "--endpoint-url", "--output", "--json"):
            assert f"  {option} " in text, (command, option)


def test_given_version_asked_when_run_then_it_prints_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as ended:
        main(["--version"])

    assert ended.value.code == 0
    assert capsys.readouterr().out == f"rds-backup {importlib.metadata.version('rds-backup')}\n"


@pytest.mark.parametrize(
    "command",
    [
        ("status",),
        ("start",),
        ("replay", "--since", "2026-11-25T02:00Z"),
        ("cleanup", "--dry-run"),
        ("doctor",),
        ("redrive",),
        ("demo",),
        ("bench",),
    ],
)
def test_given_json_or_output_json_when_parsed_then_both_ask_for_json_and_table_is_default(
    command,
):
    parser = build_parser()[0]

    assert parser.parse_args([*command, "--json"]).output == "json"
    assert parser.parse_args([*command, "--output", "json"]).output == "json"
    assert parser.parse_args([*command, "--output", "table"]).output == "table"
    # not given: resolved after parsing (environment, config file, else table)
    assert parser.parse_args(list(command)).output is None


@pytest.mark.parametrize("given", ["text", "yaml", "yaml-stream", "off", "TEXT", "table"])
def test_given_another_aws_cli_output_on_the_command_line_when_resolved_then_it_gives_the_table(
    given,
):
    # given/when: the README's promise, on the command line as in the environment
    args = build_parser()[0].parse_args(["status", *STACK, "--output", given])

    # then
    assert conventions.output(args.output, None) == "table"


def test_given_an_unknown_option_after_a_command_when_run_then_that_command_s_usage_is_printed(
    capsys,
):
    with pytest.raises(SystemExit) as ended:
        main(["status", "--bogus"])

    err = capsys.readouterr().err
    assert ended.value.code == 2
    assert err.startswith("usage: rds-backup status ")
    assert err.rstrip().endswith("rds-backup status: error: unrecognized arguments: --bogus")


def test_given_no_output_option_when_resolved_then_environment_beats_profile_beats_table(
    no_profile_in_the_environment, monkeypatch
):
    # given: no option, no AWS_DEFAULT_OUTPUT, no output in the config file
    monkeypatch.delenv("AWS_DEFAULT_OUTPUT", raising=False)
    assert conventions.output(None, None) == "table"

    # when / then: the profile's output, then AWS_DEFAULT_OUTPUT, then the option win
    no_profile_in_the_environment.write_text(
        "[default]\noutput = json\n[profile ops]\noutput = text\n"
    )
    assert conventions.output(None, None) == "json"
    assert conventions.output(None, "ops") == "table"  # text: the AWS CLI's, ours is the table
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert conventions.output(None, None) == "table"
    monkeypatch.setenv("AWS_DEFAULT_OUTPUT", "json")
    assert conventions.output(None, "ops") == "json"
    assert conventions.output("table", "ops") == "table"


def test_given_an_unknown_output_in_the_environment_when_a_command_runs_then_it_is_a_usage_error(
    no_profile_in_the_environment, monkeypatch, capsys
):
    monkeypatch.setenv("AWS_DEFAULT_OUTPUT", "jsno")

    with pytest.raises(SystemExit) as ended:
        main(["status", "--stack", "rds-backup-prod", "--region", "us-east-1"])

    assert ended.value.code == 2
    assert "AWS_DEFAULT_OUTPUT is 'jsno': not an output format" in capsys.readouterr().err


def test_given_a_missing_profile_when_the_output_is_resolved_then_the_table_is_used(
    no_profile_in_the_environment, monkeypatch
):
    # (the command itself then reports the missing profile, with its exit status)
    monkeypatch.delenv("AWS_DEFAULT_OUTPUT", raising=False)

    assert conventions.output(None, "nowhere") == "table"


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        (["status", "--days", "0"], "argument --days: must be more than 0 days, got 0"),
        (["status", "--days", "-3"], "argument --days: must be more than 0 days, got -3"),
        (
            ["replay", "--since", "2026-11-25T02:00Z", "--timeout", "-1"],
            "argument --timeout: must be more than 0 seconds, got -1",
        ),
        (["replay", "--since", "yesterday"], "argument --since: not an ISO 8601 time"),
        (["status", "--output", "jsno"], "argument --output: invalid choice: 'jsno'"),
        (["cleanup"], "one of the arguments --dry-run --apply is required"),
    ],
)
def test_given_a_value_wrong_on_its_face_when_run_then_it_is_a_usage_error_before_any_aws_call(
    command, refusal, capsys
):
    with pytest.raises(SystemExit) as ended:
        main([*command, *STACK])

    assert ended.value.code == Exit.USAGE == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: rds-backup {command[0]}")
    assert refusal in err


def test_given_a_future_until_when_replayed_then_it_is_refused_naming_both_times_in_utc(capsys):
    later = datetime.now(UTC) + timedelta(hours=2)
    until = later.astimezone(UTC).replace(microsecond=0).isoformat()

    with pytest.raises(SystemExit) as ended:
        main(["replay", "--since", "2026-11-25T02:00Z", "--until", until, *STACK])

    assert ended.value.code == Exit.USAGE
    err = capsys.readouterr().err
    assert f"--until {later:%Y-%m-%dT%H:%M:%S}Z is in the future (now: " in err


@pytest.mark.parametrize(
    ("since", "until", "refusal"),
    [
        (
            "2026-11-25T09:00Z",
            "2026-11-25T02:00Z",
            "--since 2026-11-25T09:00:00Z must be before --until 2026-11-25T02:00:00Z",
        ),
        (  # the same instant written in two offsets
            "2026-11-25T03:00+01:00",
            "2026-11-25T02:00Z",
            "--since 2026-11-25T02:00:00Z must be before --until 2026-11-25T02:00:00Z",
        ),
    ],
)
def test_given_since_not_before_until_when_replayed_then_it_is_refused(
    since, until, refusal, capsys
):
    with pytest.raises(SystemExit) as ended:
        main(["replay", "--since", since, "--until", until, *STACK])

    assert ended.value.code == Exit.USAGE
    assert refusal in capsys.readouterr().err


def test_given_times_with_an_offset_when_replayed_then_the_window_is_shown_in_utc(capsys):
    # given: last night's window written in UTC+02:00 (no stack: the command stops there)
    since = (datetime.now(UTC) - timedelta(days=1)).replace(hour=1, minute=0, second=0)
    until = since + timedelta(hours=7)
    local_since, local_until = (t.astimezone(PLUS_TWO).isoformat() for t in (since, until))

    code = main(["replay", "--since", local_since, "--until", local_until])

    err = capsys.readouterr().err
    assert code == Exit.CONFIGURATION  # which stack? (asked after the times were converted)
    assert f"--since {local_since} is {since:%Y-%m-%dT%H:%M:%S}Z" in err
    assert f"--until {local_until} is {until:%Y-%m-%dT%H:%M:%S}Z" in err
    assert "window" not in err  # told once, by the replay itself (its end settled first)


@pytest.mark.parametrize("via", ["option", "environment"])
def test_given_a_profile_that_does_not_exist_when_run_then_one_line_names_it_and_the_fix(
    via, no_profile_in_the_environment, monkeypatch, capsys
):
    if via == "environment":
        monkeypatch.setenv("AWS_PROFILE", "prod-ops")
        extra: list[str] = []
    else:
        extra = ["--profile", "prod-ops"]

    code = main(["status", *STACK, *extra])

    (line,) = capsys.readouterr().err.splitlines()
    assert code == Exit.CONFIGURATION == 253
    assert line.startswith("rds-backup status: no AWS profile named 'prod-ops'")
    assert "aws configure --profile prod-ops" in line


def test_given_an_sso_profile_never_signed_in_when_run_then_one_line_says_aws_sso_login(
    no_profile_in_the_environment, monkeypatch, capsys
):
    # given: an IAM Identity Center profile and no cached token (botocore reads the token
    # cache before any request: nothing leaves this machine)
    no_profile_in_the_environment.write_text(
        "[profile prod-ops]\n"
        "sso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Operator\n"
        "region = eu-west-1\n\n"
        "[sso-session corp]\n"
        "sso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    code = main(["doctor", "--stack", "rds-backup-prod", "--profile", "prod-ops"])

    (line,) = capsys.readouterr().err.splitlines()
    assert code == Exit.CONFIGURATION
    assert "no valid sign-in token for profile prod-ops" in line
    assert line.endswith("sign in with: aws sso login --profile prod-ops")


def _answering(code: str, status: int) -> Any:
    """``conventions.session`` whose clients get AWS's error answer from a Stubber."""

    class Answering(boto3.Session):
        def client(self, *args: Any, **kwargs: Any) -> Any:
            client = super().client(*args, **kwargs)
            stubber = Stubber(client)
            stubber.add_client_error(
                "get_function_configuration",
                service_error_code=code,
                service_message=f"AWS says {code}",
                http_status_code=status,
            )
            stubber.activate()
            return client

    return lambda profile: Answering(profile_name=profile)


@pytest.mark.parametrize(
    "code",
    [
        "ExpiredTokenException",
        "ExpiredToken",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    ],
)
def test_given_expired_or_invalid_credentials_when_run_then_one_line_says_refresh_them(
    code, no_profile_in_the_environment, monkeypatch, capsys
):
    no_profile_in_the_environment.write_text("[profile prod-ops]\nregion = eu-west-1\n")
    monkeypatch.setattr(conventions, "session", _answering(code, 403))
    monkeypatch.setenv("AWS_PROFILE", "prod-ops")

    exit_status = main(["status", *STACK])

    (line,) = capsys.readouterr().err.splitlines()
    assert exit_status == Exit.CONFIGURATION
    assert line.startswith(
        f"rds-backup status: the AWS credentials of profile prod-ops have expired or are not "
        f"valid ({code}): refresh them (aws sso login --profile prod-ops"
    )
    assert ("this computer's clock" in line) == (code == "RequestExpired")


def test_given_aws_refuses_the_request_when_run_then_the_service_error_is_one_line_254(
    monkeypatch, capsys
):
    monkeypatch.setattr(conventions, "session", _answering("AccessDeniedException", 403))

    code = main(["start", *STACK])

    assert code == Exit.SERVICE == 254
    assert capsys.readouterr().err.splitlines() == [
        "rds-backup start: AccessDeniedException: AWS says AccessDeniedException"
    ]


def test_given_region_options_when_resolved_then_option_beats_aws_region_beats_the_rest(
    no_profile_in_the_environment, monkeypatch
):
    no_profile_in_the_environment.write_text("[profile ops]\nregion = ap-southeast-2\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    ops = conventions.session("ops")

    assert conventions.region(None, ops) == "ap-southeast-2"  # the profile's
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert conventions.region(None, conventions.session("ops")) == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert conventions.region(None, conventions.session("ops")) == "eu-west-3"
    assert conventions.region("us-west-2", conventions.session("ops")) == "us-west-2"


def test_given_profile_option_and_aws_profile_when_resolved_then_the_option_wins(
    no_profile_in_the_environment, monkeypatch
):
    no_profile_in_the_environment.write_text(
        "[profile ops]\nregion = ap-southeast-2\n[profile other]\nregion = sa-east-1\n"
    )
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_PROFILE", "other")

    assert conventions.session(None).profile_name == "other"
    assert conventions.session("ops").profile_name == "ops"
    assert conventions.profile_name("ops") == "ops"
    assert conventions.profile_name(None) == "other"


def test_given_the_exit_statuses_when_the_readme_is_read_then_its_table_has_each_one():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

    rows = {int(n) for n in re.findall(r"^\| (\d+) \| ", readme, re.MULTILINE)}

    assert rows == {int(status) for status in Exit}
