"""The vault's two sides in the generated CloudFormation (docs/VAULT.md): the vault stack's
bus lets only the source account put only our detail-type; only the vault's cleanup role can
delete there, and only its own tagged copies; the source stack can share and unshare its own
copies, lets the vault report back, and holds nothing that deletes or re-tags a vault copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from tests.infra.conftest import Packaged
from tests.infra.support import as_list, resolve, resources, role_statements
from tests.infra.test_security import ALL_OPTIONS
from tests.infra.test_tag_writes import _iam_match

SOURCE_ACCOUNT = "123456789012"  # infra/config.yml's package-time sourceAccountId
VAULT_ACCOUNT = ALL_OPTIONS["VAULT_ACCOUNT_ID"]
# What could remove or disguise a vault copy: deleting, re-tagging, unsharing.
DESTRUCTIVE = ("rds:Delete", "rds:AddTagsToResource", "rds:RemoveTagsFromResource", "rds:Modify")


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, statement) of every role and attached policy."""
    return [(role, statement) for role, _, statement in role_statements(template)]


def _principals(statement: dict[str, Any]) -> list[str]:
    return [str(p) for p in as_list(resolve(statement["Principal"]["AWS"]))]


@pytest.fixture(scope="module")
def main_with_vault(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("main-with-vault")
    path: Path = packaging.package_variant("main", ALL_OPTIONS, work) / packaging.TEMPLATE
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


def test_given_the_vault_stack_when_generated_then_its_bus_admits_only_the_source_and_our_type(
    vault_stack: Packaged,
) -> None:
    # given
    policies = resources(vault_stack.template, "AWS::Events::EventBusPolicy")

    # then: one policy, on the vault's own bus, for the source account's root only
    [(_, policy)] = policies.items()
    properties = policy["Properties"]
    assert properties["EventBusName"] == {"Ref": "VaultBus"}
    statement = properties["Statement"]
    assert statement["Effect"] == "Allow"
    assert _principals(statement) == [f"arn:aws:iam::{SOURCE_ACCOUNT}:root"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {
            "events:detail-type": ["Snapshot Shared With Vault"],
            "events:source": ["rds-backup"],
        }
    }
    # and the rule on that bus takes only the source account's event
    [rule] = [
        r["Properties"]
        for r in resources(vault_stack.template, "AWS::Events::Rule").values()
        if "EventBusName" in r["Properties"]
    ]
    assert rule["EventPattern"]["account"] == [SOURCE_ACCOUNT]
    assert rule["EventPattern"]["detail-type"] == ["Snapshot Shared With Vault"]


def test_given_the_vault_stack_when_generated_then_only_its_cleanup_deletes_its_own_copies(
    vault_stack: Packaged,
) -> None:
    deleting = [
        (role, statement)
        for role, statement in _statements(vault_stack.template)
        if any(str(a).startswith("rds:Delete") for a in as_list(statement["Action"]))
    ]

    [(role, statement)] = deleting
    assert role == "VaultCleanupRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/rds-backup:vault": "rds-backup-vault-dev"}
    }
    for resource in as_list(resolve(statement["Resource"])):
        assert f":{SOURCE_ACCOUNT}:" in resource  # AWS::AccountId: the vault's own account


def test_given_the_source_stacks_when_generated_then_no_role_can_touch_another_accounts_copy(
    main_with_vault: dict[str, Any], target_stack: Packaged
) -> None:
    for template in (main_with_vault, target_stack.template):
        for role, statement in _statements(template):
            actions = [str(a) for a in as_list(statement["Action"])]
            if statement.get("Effect") != "Allow" or not any(
                a.startswith(DESTRUCTIVE) for a in actions
            ):
                continue
            for resource in as_list(resolve(statement["Resource"])):
                # ${AWS::AccountId}: the source account's own resources, never "*"
                assert resource.split(":")[4:5] == [SOURCE_ACCOUNT], (role, actions, resource)
                assert VAULT_ACCOUNT not in resource, (role, actions, resource)


def test_given_a_vault_when_the_source_stack_is_generated_then_share_vault_may_share_and_note(
    main_with_vault: dict[str, Any],
) -> None:
    share = [s for role, s in _statements(main_with_vault) if role == "ShareVaultRole"]
    writes = sorted(
        a
        for s in share
        for a in as_list(s["Action"])
        if not str(a).split(":")[1].startswith(("Describe", "Get", "List"))
    )

    assert writes == [
        "events:PutEvents",
        "events:PutEvents",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "rds:AddTagsToResource",
        "rds:ModifyDBClusterSnapshotAttribute",
        "rds:ModifyDBSnapshotAttribute",
    ]
    [announce] = [s for s in share if s.get("Sid") == "AnnounceToTheVault"]
    assert announce["Resource"] == ALL_OPTIONS["VAULT_EVENT_BUS_ARN"]
    # the default bus lets the vault account report, only "Vault Copy Finished"
    [policy] = resources(main_with_vault, "AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert _principals(statement) == [f"arn:aws:iam::{VAULT_ACCOUNT}:root"]
    assert statement["Condition"]["StringEquals"]["events:detail-type"] == ["Vault Copy Finished"]


def test_given_the_vault_stack_when_generated_then_its_snapshot_writes_reach_no_look_alike(
    vault_stack: Packaged,
) -> None:
    # the vault's copy, tag and delete statements name derived ids only: an operator's
    # "<our id>-keep" in the vault account is outside every one of them
    ours = "rds-backup-orders-20261201-0300"
    writes = [
        statement
        for _, statement in _statements(vault_stack.template)
        if any(
            str(a).startswith(("rds:Copy", "rds:Delete", "rds:AddTags"))
            for a in as_list(statement["Action"])
        )
    ]
    assert len(writes) == 2  # VaultCopyRole's copy, VaultCleanupRole's delete
    for statement in writes:
        patterns = [str(resolve(r)) for r in as_list(statement["Resource"])]
        names = [p.rsplit(":", 1)[-1] for p in patterns]
        assert all(_iam_match(n, ours) for n in names), names
        assert not any(_iam_match(n, f"{ours}-keep") for n in names), names
