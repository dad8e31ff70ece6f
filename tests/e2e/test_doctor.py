"""`rds-backup doctor` against the local AWS with the stack deployed in it (as `rds-backup
local up` builds it): every check ok on the healthy world, and each named fault of
`--misconfigure` fails exactly its check, with a fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from rds_backup.aws import Aws
from rds_backup.cli import main
from rds_backup.local import misconfigure
from rds_backup.local.harness import LocalAws
from rds_backup.ops import doctor
from rds_backup.settings import load_settings
from tests.e2e.support import local_up

ROOT = Path(__file__).resolve().parents[2]
STACK = "rds-backup-dev"
READ_ONLY = ("Describe", "Get", "List", "Head")


@pytest.fixture
def run_doctor(local_aws: LocalAws, capsys: pytest.CaptureFixture[str]):
    """`rds-backup doctor --stack ... --endpoint-url ... --json` in-process: (code, report)."""

    def run(*extra: str) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        code = main(
            [
                "doctor",
                *extra,
                "--endpoint-url",
                local_aws.server.url,
                "--json",
            ]
        )
        load_settings.cache_clear()
        return code, json.loads(capsys.readouterr().out)

    return run


def by_status(report: dict[str, Any], status: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"] if c["status"] == status}


def test_given_the_healthy_world_when_doctor_runs_then_every_check_is_ok(local_aws, run_doctor):
    misconfigure.build(local_aws)

    code, report = run_doctor("--stack", STACK, "--region", local_aws.spec.source_region)

    assert code == 0
    assert report["ok"] is True
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        name: "ok" for name, _, _ in doctor.CHECKS
    }


@pytest.mark.parametrize("fault", misconfigure.FAULTS, ids=lambda f: f.name)
def test_given_a_seeded_fault_when_doctor_runs_then_exactly_its_check_fails_with_a_fix(
    local_aws, run_doctor, fault
):
    misconfigure.build(local_aws, [fault.name])

    code, report = run_doctor("--stack", STACK, "--region", local_aws.spec.source_region)

    assert code == 1
    failed = by_status(report, "fail")
    assert list(failed) == [fault.check], failed
    assert failed[fault.check]["fix"]
    assert {c["status"] for c in report["checks"]} <= {"ok", "warn", "fail"}


def test_given_the_exported_environment_when_doctor_runs_without_a_stack_then_it_reads_it(
    local_aws, run_doctor, monkeypatch
):
    environment = misconfigure.build(local_aws, ["target-key-disabled"])
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    code, report = run_doctor()

    assert code == 1
    assert list(by_status(report, "fail")) == ["target-key"]
    assert len(report["checks"]) == len(doctor.CHECKS)


def test_given_a_human_when_doctor_prints_then_one_line_per_check_names_status_and_fix(
    local_aws, capsys
):
    misconfigure.build(local_aws, ["bucket-region"])

    code = main(
        [
            "doctor",
            "--stack",
            STACK,
            "--region",
            "us-east-1",
            "--endpoint-url",
            local_aws.server.url,
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert len(lines) == len(doctor.CHECKS) + 1
    (bad,) = [line for line in lines if line.startswith("fail")]
    assert bad.split()[1] == "buckets"
    assert "acme-rds-backup-usw2 is in us-east-1, not us-west-2" in bad
    assert "| fix: " in bad


def test_given_any_world_when_doctor_runs_then_it_makes_only_read_only_calls(local_aws):
    misconfigure.build(local_aws, ["forwarding-rule", "export-role-s3"])
    calls: list[str] = []
    session = boto3.Session()
    session.events.register(
        "before-call", lambda model, **_: calls.append(model.name), unique_id="doctor-calls"
    )

    results = doctor.run_doctor(Aws(session), STACK, local_aws.spec.source_region)

    assert len(results) == len(doctor.CHECKS)
    assert "DescribeDBInstances" in calls
    assert "GetKeyPolicy" in calls
    assert [c for c in calls if not c.startswith(READ_ONLY)] == []


def test_doctor_knows_every_rule_the_packaged_stacks_create(templates):
    def names(template: dict[str, Any]) -> set[str]:
        return {
            body["Properties"]["Name"]
            for body in template["Resources"].values()
            if body["Type"] == "AWS::Events::Rule"
        }

    assert names(templates["main"]) == {f"{STACK}-{r}" for r in doctor.CHAIN_RULES}
    assert names(templates["target"]) == {
        f"{STACK}-{doctor.FORWARD_RULE}",
        f"{STACK}-{doctor.FORWARD_DRILLS_RULE}",
    }


def test_given_an_unknown_fault_when_local_up_starts_then_it_names_the_known_ones(capsys):
    code = main(["local", "up", "--misconfigure", "kms-key-policy,typo"])

    assert code == 2
    err = capsys.readouterr().err
    assert "unknown fault(s) typo" in err
    assert "kms-key-policy" in err


def test_local_up_help_lists_every_fault(capsys):
    with pytest.raises(SystemExit):
        main(["local", "up", "--help"])

    out = capsys.readouterr().out
    assert all(f"  {fault.name} " in out for fault in misconfigure.FAULTS)


def test_given_local_up_when_interrupted_then_it_served_doctor_and_stops_without_traceback(
    templates, capsys
):
    with local_up("--misconfigure", "rule-disabled") as up:
        url = up.url
        code = main(["doctor", "--stack", STACK, "--region", "us-east-1", "--endpoint-url", url])
        report = capsys.readouterr().out
    seen, process, err = up.printed, up.process, up.err
    printed = "".join(seen)
    assert f"rds-backup local AWS is up at {url}" in printed
    assert "export SOURCE_REGION=us-east-1" in printed
    assert "export STACK_NAME=rds-backup-dev" in printed
    assert code == 1
    assert [line.split()[1] for line in report.splitlines() if line.startswith("fail")] == ["rules"]
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
