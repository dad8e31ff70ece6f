"""IAM and templates a real deployment needs (issue 13): the databases' own keys, PassRole to
RDS export, SES with an optional configuration set, an existing event bus never created, and
one EXPORT_S3_PREFIX for code and IAM. Read from the default package and from one variant
that switches every option on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from rds_backup.ops.target import CHAIN_RULES
from rds_backup.settings import parse_settings
from tests.infra.conftest import Packaged
from tests.infra.support import as_list, functions, resolve, resources, role_statements
from tests.infra.test_lint import CFN_LINT, IGNORED

DB_KEY = "arn:aws:kms:us-east-1:123456789012:key/0b0c1d2e-0000-4000-8000-00000000db01"
SETTINGS = {
    "DB_IDENTIFIER": "Orders,billing",
    "DB_KMS_KEY_IDS": f"{DB_KEY}, mrk-{'2' * 32}",
    "SES_CONFIGURATION_SET": "rds-backup-events",
    "EVENT_BUS_NAME": "ops-requests",
    "EXPORT_S3_PREFIX": "/backups//nightly/",
}
COPYING_ROLES = {"CopySnapshotRole", "ReconcileRole"}


@pytest.fixture(scope="module")
def variant_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = packaging.package_variant("main", SETTINGS, tmp_path_factory.mktemp("edges"))
    return Path(directory) / packaging.TEMPLATE


@pytest.fixture(scope="module")
def variant(variant_path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(variant_path.read_text(encoding="utf-8"))
    return template


def test_given_every_option_on_when_packaged_then_cfn_lint_is_clean(variant_path: Path) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "--ignore-checks", *IGNORED, "--", str(variant_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _statements(template: dict[str, Any], sid: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (role, statement)
        for role, _, statement in role_statements(template)
        if statement.get("Sid") == sid
    ]


def _policy_statements(template: dict[str, Any], policy_name: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for body in resources(template, "AWS::IAM::Policy").values():
        properties = body["Properties"]
        if properties["PolicyName"] == policy_name:
            for role in properties["Roles"]:
                found[role["Ref"]] = as_list(properties["PolicyDocument"]["Statement"])
    return found


def test_given_no_database_keys_when_packaged_then_their_policy_is_switched_off(
    main_stack: Packaged,
) -> None:
    template = main_stack.template
    assert template["Parameters"]["HasDbKmsKeys"]["Default"] == "false"
    policies = {
        logical_id: body
        for logical_id, body in resources(template, "AWS::IAM::Policy").items()
        if body["Properties"]["PolicyName"] == "database-keys"
    }
    assert {p["Properties"]["Roles"][0]["Ref"] for p in policies.values()} == COPYING_ROLES
    assert {p["Condition"] for p in policies.values()} == {"HasDbKmsKeys"}


def test_given_database_keys_when_packaged_then_the_copying_roles_may_use_them_through_rds(
    variant: dict[str, Any],
) -> None:
    assert variant["Parameters"]["HasDbKmsKeys"]["Default"] == "true"
    by_role = _policy_statements(variant, "database-keys")
    assert set(by_role) == COPYING_ROLES
    for statements in by_role.values():
        resolved = [resolve(s) for s in statements]
        keys = {s["Resource"] for s in resolved}
        assert keys == {DB_KEY, f"arn:aws:kms:us-east-1:123456789012:key/mrk-{'2' * 32}"}
        for statement in resolved:
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert via == ["rds.us-east-1.amazonaws.com", "rds.us-west-2.amazonaws.com"]
        grants = [s for s in resolved if s["Action"] == ["kms:CreateGrant"]]
        assert len(grants) == 2
        assert all(s["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"} for s in grants)
        assert {a for s in resolved for a in s["Action"]} == {"kms:CreateGrant", "kms:DescribeKey"}


def test_given_no_configuration_set_when_packaged_then_ses_send_is_on_the_identity_only(
    main_stack: Packaged,
) -> None:
    sends = _statements(main_stack.template, "SendAsTheSender")
    assert {role for role, _ in sends} == {"NotifyRole", "ReconcileRole"}
    for _, statement in sends:
        assert statement["Action"] == ["ses:SendEmail"]  # never SendRawEmail: no code calls it
        assert [resolve(r) for r in as_list(statement["Resource"])] == [
            "arn:aws:ses:us-east-1:123456789012:identity/*"
        ]


def test_given_a_configuration_set_when_packaged_then_send_is_also_allowed_on_it(
    variant: dict[str, Any],
) -> None:
    for _, statement in _statements(variant, "SendAsTheSender"):
        assert [resolve(r) for r in as_list(statement["Resource"])] == [
            "arn:aws:ses:us-east-1:123456789012:identity/*",
            "arn:aws:ses:us-east-1:123456789012:configuration-set/rds-backup-events",
        ]
        assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == "admin@example.com"


def test_given_start_backup_when_packaged_then_it_may_tag_only_its_new_snapshots(
    main_stack: Packaged,
) -> None:
    tagging = [
        resolve(statement)
        for role, _, statement in role_statements(main_stack.template)
        if role == "StartBackupRole" and "rds:AddTagsToResource" in as_list(statement["Action"])
    ]
    assert tagging
    for statement in tagging:
        for resource in as_list(statement["Resource"]):
            assert ":snapshot:rds-backup-" in resource or ":cluster-snapshot:rds-backup-" in (
                resource
            ), resource
            assert ":db:" not in resource


@pytest.mark.parametrize("stack", ["default", "variant"])
def test_given_any_event_bus_name_when_packaged_then_the_stack_never_creates_a_bus(
    main_stack: Packaged, variant: dict[str, Any], stack: str
) -> None:
    template = main_stack.template if stack == "default" else variant
    assert resources(template, "AWS::Events::EventBus") == {}
    for body in resources(template, "AWS::Events::Rule").values():
        depends = as_list(body.get("DependsOn", []))
        assert not any("EventBus" in d for d in depends), depends


def test_given_a_named_event_bus_when_packaged_then_the_request_rule_attaches_to_it(
    variant: dict[str, Any],
) -> None:
    _, start = functions(variant)["start_backup"]
    assert start["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == "ops-requests"
    buses = {
        body["Properties"].get("EventBusName")
        for body in resources(variant, "AWS::Events::Rule").values()
        if body["Properties"]["Name"].endswith("-backup-requested")
    }
    assert buses == {"ops-requests"}


def test_given_an_export_prefix_with_stray_slashes_when_packaged_then_code_and_iam_agree(
    variant: dict[str, Any],
) -> None:
    # given: EXPORT_S3_PREFIX=/backups//nightly/ ; when: the functions parse their environment
    _, notify = functions(variant)["notify"]
    environment = {
        key: str(resolve(value))
        for key, value in notify["Properties"]["Environment"]["Variables"].items()
    }
    prefix = parse_settings(environment).export_s3_prefix

    # then: the prefix the code writes and deletes under is the one IAM and lifecycle name
    assert prefix == "backups/nightly"
    text = json.dumps(variant)
    assert f"/{prefix}/*" in text
    assert "//" not in text.replace("://", "")
    role = resources(variant, "AWS::IAM::Role")["RdsExportRole"]
    objects = [
        resolve(r)
        for policy in role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        if "s3:PutObject*" in statement["Action"]
        for r in as_list(statement["Resource"])
    ]
    assert objects == [
        f"arn:aws:s3:::rds-backup-source-example/{prefix}/*",
        f"arn:aws:s3:::rds-backup-target-example/{prefix}/*",
    ]


def test_given_the_packaged_rules_when_listed_then_replay_and_redrive_know_every_chain_rule(
    main_stack: Packaged,
) -> None:
    # replay's FilterArns and redrive's matching name the stack's chain rules (ops/target.py)
    names = {
        body["Properties"]["Name"].removeprefix("rds-backup-dev-")
        for body in resources(main_stack.template, "AWS::Events::Rule").values()
        if "EventPattern" in body["Properties"]
    }
    assert names == set(CHAIN_RULES)
