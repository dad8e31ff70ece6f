"""Least privilege, read from the generated CloudFormation: each function has its own role,
its role allows only the actions its code calls, and nothing destructive is unscoped."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.infra.conftest import Packaged
from tests.infra.support import as_list, function_role, functions, resolve, role_statements

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
ON_FAILURE_BUS = {"events:PutEvents"}
KMS_FOR_RDS = {"kms:CreateGrant", "kms:DescribeKey"}
EXPORT = {"rds:StartExportTask", "rds:DescribeExportTasks", "iam:PassRole"}
MAIL = {"ses:SendEmail"}  # mail.py never sends raw
IDEMPOTENCY = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
# Manual snapshot quota Used/Max (tells the quota from the copy limit; start's headroom).
QUOTA = {"rds:DescribeAccountAttributes"}
# A COMPLETE export's per-table status files (rds_backup/state/export_tables.py), read to tell
# "exported with warnings": list and get under the export prefix, decrypt through S3.
EXPORT_STATUS = {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
# NOTIFY_MODE=digest: start_backup names the run's databases in its ledger.
DIGEST_RUN = {"dynamodb:UpdateItem"}

# DB clusters (infra/resources/clusters.yml): the cluster counterparts, and arranging a
# one-time check of a cluster copy (rds_backup/steps/check_copy.py).
READ_CLUSTERS = {"rds:DescribeDBClusterSnapshots"}
# The selection now: the fleet's coverage and the databases that left it (model/coverage.py).
SELECTION = {"rds:DescribeDBInstances", "rds:DescribeDBClusters"}
ARRANGE_CHECK = {"scheduler:CreateSchedule", "iam:PassRole"}
# Restore drills (infra/resources/drills.yml): restore, credentials, probe, delete, results.
DRILLS = (
    {"rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBSnapshots"}
    | {"rds:DescribeDBClusterSnapshots", "rds:DescribeAccountAttributes"}
    | {"rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot"}
    | {"rds:CreateDBInstance", "rds:AddTagsToResource", "rds:ModifyDBInstance"}
    | {"rds:ModifyDBCluster", "rds:DeleteDBInstance", "rds:DeleteDBCluster"}
    | {"secretsmanager:CreateSecret", "secretsmanager:RotateSecret", "secretsmanager:TagResource"}
    | {"lambda:InvokeFunction", "s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    | ARRANGE_CHECK
)
# The AWS actions each handler's code calls (README / ARCHITECTURE), and nothing else.
ALLOWED = {
    "start_backup": LOGS
    | ON_FAILURE_BUS
    | QUOTA
    | DIGEST_RUN
    | READ_CLUSTERS
    | {"rds:CreateDBSnapshot", "rds:AddTagsToResource", "rds:DescribeDBSnapshots"}
    | {"rds:DescribeDBInstances", "rds:DescribeDBClusters"}  # which databases tonight
    | {"rds:DescribeExportTasks"}  # earlier nights' export durations: the export order
    | {"rds:CreateDBClusterSnapshot"}
    | {"s3:PutObject"},  # the restore manifests (rds_backup/state/manifests.py)
    "copy_snapshot": LOGS
    | ON_FAILURE_BUS
    | KMS_FOR_RDS
    | EXPORT
    | QUOTA
    | READ_CLUSTERS
    | ARRANGE_CHECK
    | {"rds:DescribeDBSnapshots", "rds:CopyDBSnapshot", "rds:AddTagsToResource"}
    | {"rds:CopyDBClusterSnapshot"},
    # AddTagsToResource: only the retry-export mark on our snapshots (a re-drive that waits)
    "export_snapshot": LOGS
    | ON_FAILURE_BUS
    | KMS_FOR_RDS
    | EXPORT
    | READ_CLUSTERS
    | {"rds:DescribeDBSnapshots", "rds:AddTagsToResource"},
    "notify": LOGS
    | MAIL
    | IDEMPOTENCY
    | EXPORT_STATUS
    | READ_CLUSTERS
    | {"sqs:SendMessage", "rds:DescribeDBSnapshots", "rds:DescribeExportTasks"}
    | {"rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"},
    "cleanup": LOGS
    | ON_FAILURE_BUS
    | READ_CLUSTERS
    | {"rds:DescribeDBSnapshots", "rds:DescribeExportTasks", "rds:DeleteDBSnapshot"}
    | {"rds:DeleteDBClusterSnapshot", "s3:ListBucket", "s3:DeleteObject"}
    | SELECTION,
    "reconcile": LOGS
    | ON_FAILURE_BUS
    | KMS_FOR_RDS
    | EXPORT
    | MAIL
    | IDEMPOTENCY
    | EXPORT_STATUS
    | QUOTA
    | READ_CLUSTERS
    | ARRANGE_CHECK
    | {"rds:DescribeDBSnapshots", "rds:CopyDBSnapshot", "rds:AddTagsToResource"}
    | {"rds:DeleteDBSnapshot", "rds:CopyDBClusterSnapshot", "rds:DeleteDBClusterSnapshot"}
    | SELECTION
    | DRILLS,
    "check_copy": LOGS | ON_FAILURE_BUS | READ_CLUSTERS | ARRANGE_CHECK,
    "start_drill": LOGS | ON_FAILURE_BUS | KMS_FOR_RDS | DRILLS,
    "check_drill": LOGS | ON_FAILURE_BUS | KMS_FOR_RDS | DRILLS,
    # The vault account (docs/VAULT.md): share / unshare our copies, read their key, and
    # (VaultEnabled) announce on the vault's bus.
    "share_vault": LOGS
    | ON_FAILURE_BUS
    | READ_CLUSTERS
    | {"rds:DescribeDBSnapshots", "rds:ModifyDBSnapshotAttribute"}
    | {"rds:ModifyDBClusterSnapshotAttribute", "kms:DescribeKey", "kms:GetKeyPolicy"}
    | {"rds:AddTagsToResource"},  # only rds-backup:vault-copy, where the vault's copy is
}
READ_ONLY_PREFIXES = ("Describe", "List", "Get")


def _actions_by_role(template: dict[str, Any]) -> dict[str, set[str]]:
    actions: dict[str, set[str]] = defaultdict(set)
    for role, _, statement in role_statements(template):
        assert statement["Effect"] == "Allow"
        actions[role].update(as_list(statement["Action"]))
    return actions


def _all_statements(*stacks: Packaged) -> list[tuple[str, dict[str, Any]]]:
    return [(where, st) for stack in stacks for _, where, st in role_statements(stack.template)]


def test_given_the_functions_when_packaged_then_each_has_a_role_of_its_own(
    main_stack: Packaged,
) -> None:
    roles = [function_role(body) for _, body in functions(main_stack.template).values()]
    assert len(set(roles)) == len(roles)


@pytest.mark.parametrize("handler", sorted(ALLOWED))
def test_given_a_functions_role_when_its_actions_are_listed_then_they_are_only_what_it_calls(
    main_stack: Packaged, handler: str
) -> None:
    _, function = functions(main_stack.template)[handler]
    granted = _actions_by_role(main_stack.template)[function_role(function)]
    assert granted <= ALLOWED[handler], granted - ALLOWED[handler]


def test_given_the_function_roles_when_read_then_no_action_wildcards(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    for where, statement in _all_statements(main_stack, target_stack):
        if where.startswith("RdsExportRole/"):
            continue  # RDS's own documented export-role actions (s3:PutObject*, ...), below
        for action in as_list(statement["Action"]):
            assert "*" not in action, (where, action)


def test_given_the_export_role_when_read_then_its_wildcards_stay_within_objects_and_keys(
    main_stack: Packaged,
) -> None:
    for where, statement in _all_statements(main_stack):
        if not where.startswith("RdsExportRole/"):
            continue
        for action in as_list(statement["Action"]):
            assert "*" not in action or action in {
                "s3:PutObject*",
                "s3:GetObject*",
                "s3:DeleteObject*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
            }, action
        for resource in as_list(statement["Resource"]):
            assert resource != "*", where


def test_given_statements_on_any_resource_when_read_then_they_only_read(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    for where, statement in _all_statements(main_stack, target_stack):
        if "*" in as_list(statement["Resource"]):
            for action in as_list(statement["Action"]):
                assert action.split(":")[1].startswith(READ_ONLY_PREFIXES), (where, action)


def test_given_destructive_actions_when_read_then_none_is_on_any_resource(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    for where, statement in _all_statements(main_stack, target_stack):
        destructive = [a for a in as_list(statement["Action"]) if "Delete" in a]
        if destructive:
            assert "*" not in as_list(statement["Resource"]), (where, destructive)


def test_given_snapshot_deletion_when_read_then_it_is_limited_to_our_tagged_prefixed_snapshots(
    main_stack: Packaged,
) -> None:
    seen = 0
    for where, statement in _all_statements(main_stack):
        if "rds:DeleteDBSnapshot" not in as_list(statement["Action"]):
            continue
        seen += 1
        condition = statement["Condition"]["StringEquals"]
        assert condition == {"aws:ResourceTag/rds-backup:stack": "rds-backup-dev"}, where
        for resource in as_list(statement["Resource"]):
            assert resource["Fn::Sub"].endswith(":snapshot:rds-backup-*"), where
    assert seen == 3  # notify, cleanup, reconcile


def test_given_pass_role_when_read_then_only_the_export_role_only_to_rds_export(
    main_stack: Packaged,
) -> None:
    seen = 0
    for where, statement in _all_statements(main_stack):
        if "iam:PassRole" not in as_list(statement["Action"]):
            continue
        if where in ("ArrangeCopyChecksPolicy", "DrillsPolicy"):
            # the cluster copy checks' role, only to EventBridge Scheduler
            assert statement["Resource"] == {"Fn::GetAtt": ["CopyCheckSchedulerRole", "Arn"]}
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
            }, where
            continue
        seen += 1
        assert statement["Resource"] != "*", where
        assert statement["Resource"]["Fn::Sub"].endswith(":role/rds-backup-dev-rds-export")
        # AWS documents no iam:PassedToService value for StartExportTask: both candidates
        assert statement["Condition"] == {
            "StringEquals": {
                "iam:PassedToService": ["export.rds.amazonaws.com", "rds.amazonaws.com"]
            }
        }, where
    assert seen == 3  # copy_snapshot (source export), export_snapshot, reconcile


def test_given_kms_statements_when_read_then_only_the_configured_keys_and_grants_for_aws(
    main_stack: Packaged,
) -> None:
    for where, statement in _all_statements(main_stack):
        actions = as_list(statement["Action"])
        if not any(a.startswith("kms:") for a in actions):
            continue
        for resource in as_list(statement["Resource"]):
            assert resource["Fn::Sub"].endswith(":key/mrk-00000000000000000000000000000000")
        # The export role itself (RDS assumes it) uses the key directly; callers only grant.
        if "kms:CreateGrant" in actions and not where.startswith("RdsExportRole/"):
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_given_the_export_role_when_read_then_only_rds_export_may_assume_it(
    main_stack: Packaged,
) -> None:
    role = main_stack.template["Resources"]["RdsExportRole"]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "export.rds.amazonaws.com"}
    assert role["Condition"] == "UseCreatedExportRole"


# Every function that fills a region's export slots may tag a re-driven export that found no
# free slot (rds-backup:retry-export, rds_backup/limits/fill.py _remember_redrives): the
# export slots of the target region are filled by export_snapshot and reconcile; with
# STORE_TO_SOURCE_S3 those of the source region by copy_snapshot too.
EXPORT_FILLERS = {
    "export_snapshot": ("us-west-2", "us-east-1"),
    "reconcile": ("us-west-2", "us-east-1"),
    "copy_snapshot": ("us-east-1",),
}


@pytest.mark.parametrize(("function", "regions"), sorted(EXPORT_FILLERS.items()))
def test_given_a_function_filling_export_slots_when_read_then_it_may_mark_a_redriven_export(
    main_stack: Packaged, function: str, regions: tuple[str, ...]
) -> None:
    role = function_role(functions(main_stack.template)[function][1])
    marks = [
        statement
        for role_id, _, statement in role_statements(main_stack.template)
        if role_id == role
        and "rds:AddTagsToResource" in as_list(statement["Action"])
        and statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
        == ["rds-backup:retry-export"]
    ]
    for region in regions:
        covered = [m for m in marks if f":rds:{region}:" in str(m["Resource"])]
        assert covered, f"{function} cannot tag rds-backup:retry-export in {region}"
        for statement in covered:  # only on snapshots this stack made
            condition = statement["Condition"]["StringEquals"]
            assert condition["aws:ResourceTag/rds-backup:stack"] == "rds-backup-dev"


OWNERSHIP = "rds-backup:stack"  # rds_backup/model/tags.py STACK
COPY_EXPORT = {"rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot", "rds:StartExportTask"}


def _region(resource: Any) -> str:
    return str(resolve(resource)).split(":")[3]


def test_given_copy_and_export_statements_when_read_then_they_need_our_ownership_tag(
    main_stack: Packaged,
) -> None:
    seen = defaultdict(int)
    for where, statement in _all_statements(main_stack):
        actions = set(as_list(statement["Action"])) & COPY_EXPORT
        if not actions:
            continue
        (action,) = actions  # one action per statement: each has its own condition
        condition = statement["Condition"]["StringEquals"]
        for resource in as_list(statement["Resource"]):
            creates = action != "rds:StartExportTask" and _region(resource) == "us-west-2"
            # the copy does not exist yet: its tag is asked of the request
            key = f"aws:{'RequestTag' if creates else 'ResourceTag'}/{OWNERSHIP}"
            assert condition == {key: "rds-backup-dev"}, (where, statement.get("Sid"))
            seen[action, creates] += 1
    assert seen == {
        # copy_snapshot and reconcile (a shared policy is read once per role)
        ("rds:CopyDBSnapshot", False): 2,
        ("rds:CopyDBSnapshot", True): 2,
        ("rds:CopyDBClusterSnapshot", False): 2,
        ("rds:CopyDBClusterSnapshot", True): 2,
        # export_snapshot and reconcile (target, source), copy_snapshot (source), the
        # cluster exports (target: 2 roles, source: 3)
        ("rds:StartExportTask", False): 10,
    }


# What each role may put (on the default bus but for share_vault's) besides Lambda's
# on-failure record.
OWN_EVENTS = {
    "StartBackupRole": {"Snapshot Quota Reached"},
    "CopySnapshotRole": {"Snapshot Quota Reached"},
    "ReconcileRole": {"Snapshot Quota Reached", "Drill Finished"},
    "CheckCopyRole": {"Cluster Copy Finished"},
    "StartDrillRole": {"Drill Finished"},
    "CheckDrillRole": {"Drill Finished"},
    "CopyCheckSchedulerRole": {"Cluster Copy Check Due", "Drill Check Due"},
    "ExportSnapshotRole": set(),
    "CleanupRole": set(),
    # on the vault's bus, not the default one (its announce-to-the-vault policy; the
    # resource is read by tests/infra/test_vault_stack.py)
    "ShareVaultRole": {"Snapshot Shared With Vault"},
}


def test_given_put_events_statements_when_read_then_each_role_puts_only_its_own_detail_types(
    main_stack: Packaged,
) -> None:
    puts: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for role, _, statement in role_statements(main_stack.template):
        if "events:PutEvents" not in as_list(statement["Action"]):
            continue
        ((operator, tests),) = statement["Condition"].items()
        # IfExists only for Lambda's own delivery of the on-failure record
        assert operator == "StringEquals" or set(tests["events:source"]) == {"lambda", "aws.lambda"}
        puts[role] |= {
            (source, detail_type)
            for source in as_list(tests["events:source"])
            for detail_type in as_list(tests["events:detail-type"])
        }
    failure = {(s, "Lambda Function Invocation Result - Failure") for s in ("lambda", "aws.lambda")}
    for role, own in OWN_EVENTS.items():
        expected = {("rds-backup", d) for d in own}
        if role != "CopyCheckSchedulerRole":
            expected |= failure
        assert puts[role] == expected, role
    assert set(puts) == set(OWN_EVENTS)  # notify puts nothing (its on-failure path is SQS)
    assert not any(("rds-backup", "Backup Requested") in p for p in puts.values())
