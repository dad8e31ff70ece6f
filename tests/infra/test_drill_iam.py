"""The restore drills' IAM, read from the generated CloudFormation (infra/resources/drills.yml,
infra/target-region/serverless.yml): the drill roles may modify or delete only DB instances
and clusters tagged as this stack's drills, may create only what is tagged so on creation,
and the probe reads only the secrets RDS manages for drill instances and clusters."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Packaged
from tests.infra.support import as_list, function_role, functions, resolve, role_statements

DRILL_FUNCTIONS = ("start_drill", "check_drill", "reconcile")
CHANGES = {"rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance"} | {
    "rds:DeleteDBCluster"
}
CREATES = {"rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot"} | {
    "rds:CreateDBInstance"
}
OUR_DRILL = {"rds-backup:role": "drill", "rds-backup:stack": "rds-backup-dev"}
DRILL_RESOURCES = {
    "arn:aws:rds:us-west-2:123456789012:db:rds-backup-drill-*",
    "arn:aws:rds:us-west-2:123456789012:cluster:rds-backup-drill-*",
}


def _statements_of(stack: Packaged, handler: str) -> list[tuple[str, dict[str, Any]]]:
    _, function = functions(stack.template)[handler]
    role = function_role(function)
    return [(where, st) for rid, where, st in role_statements(stack.template) if rid == role]


def _tag_conditions(statement: dict[str, Any], key: str) -> dict[str, str]:
    equals = statement.get("Condition", {}).get("StringEquals", {})
    prefix = f"{key}/"
    return {k.removeprefix(prefix): v for k, v in equals.items() if k.startswith(prefix)}


def test_given_the_drill_roles_when_they_may_modify_or_delete_a_database_then_only_one_tagged_as_our_drill(  # noqa: E501
    main_stack: Packaged,
) -> None:
    for handler in DRILL_FUNCTIONS:
        granted = set()
        for where, statement in _statements_of(main_stack, handler):
            changes = CHANGES & set(as_list(statement["Action"]))
            if not changes:
                continue
            granted |= changes
            assert _tag_conditions(statement, "aws:ResourceTag") == OUR_DRILL, (handler, where)
            resources = {resolve(r) for r in as_list(statement["Resource"])}
            assert resources == DRILL_RESOURCES, (handler, where)
        assert granted == CHANGES, handler


def test_given_the_drill_roles_when_they_may_create_a_database_then_only_tagged_as_our_drill_on_creation(  # noqa: E501
    main_stack: Packaged,
) -> None:
    for handler in DRILL_FUNCTIONS:
        for where, statement in _statements_of(main_stack, handler):
            actions = set(as_list(statement["Action"]))
            if not CREATES & actions:
                continue
            requested = _tag_conditions(statement, "aws:RequestTag")
            assert requested.get("rds-backup:role") == "drill", (handler, where)
            for resource in (resolve(r) for r in as_list(statement["Resource"])):
                if ":db:" in resource or ":cluster:" in resource:
                    assert resource in DRILL_RESOURCES, (handler, where, resource)
                    assert requested == OUR_DRILL, (handler, where)


def test_given_the_probe_when_it_may_read_secrets_then_only_rds_managed_secrets_of_drills(
    target_stack: Packaged,
) -> None:
    _, probe = functions(target_stack.template)["probe_drill"]
    role = function_role(probe)
    reads = [
        (where, st)
        for rid, where, st in role_statements(target_stack.template)
        if rid == role and any(a.startswith("secretsmanager:") for a in as_list(st["Action"]))
    ]

    assert len(reads) == 2  # drill instances' secrets and drill clusters' secrets
    owners = set()
    for where, statement in reads:
        assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"], where
        # RDS names the secrets it manages rds!db-... / rds!cluster-... (RDS User Guide,
        # "Password management with Amazon RDS and AWS Secrets Manager")
        assert resolve(statement["Resource"]) == (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!*"
        ), where
        # ... and tags each with the resource it belongs to: only drills' secrets
        (condition,) = statement["Condition"]["StringLike"].items()
        owners.add(condition[0])
        assert resolve(condition[1]).split(":")[-1] == "rds-backup-drill-*", where
    assert owners == {
        "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn",
        "secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn",
    }


def test_given_the_chain_roles_when_read_then_none_reads_a_secret(main_stack: Packaged) -> None:
    for where, statement in ((w, s) for _, w, s in role_statements(main_stack.template)):
        assert "secretsmanager:GetSecretValue" not in as_list(statement["Action"]), where
