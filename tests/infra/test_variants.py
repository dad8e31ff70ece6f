"""Other configurations package into valid, still least-privilege templates: several
databases, regular per-region keys and an alias, a role and buckets brought by the user or
created, source-region exports and export cleanup switched on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from tests.infra.support import as_list, functions, role_statements
from tests.infra.test_lint import CFN_LINT, IGNORED

SETTINGS = {
    "SOURCE_REGION": "eu-west-1",
    "TARGET_REGION": "eu-central-1",
    "DB_IDENTIFIER": "Orders, billing",  # mixed case, as a user may write it
    "DB_SELECT_TAG": "backup=nightly",
    "KMS_KEY_ID": "alias/backups",
    "SOURCE_KMS_KEY_ID": (
        "arn:aws:kms:eu-west-1:111122223333:key/0b0c1d2e-0000-4000-8000-000000000001"
    ),
    "EXPORT_ROLE_ARN": "arn:aws:iam::111122223333:role/team-rds-export",
    "STORE_TO_SOURCE_S3": "true",
    "DELETE_OLD_EXPORTS": "true",
    "CREATE_BUCKETS": "true",
    "EXPORT_EXPIRATION_DAYS": "90",
    "SNAPSHOT_PREFIX": "nightly",
    "ALARM_EMAIL": "oncall@example.com",
}


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return packaging.package_variant("main", SETTINGS, tmp_path_factory.mktemp("variant"))


def _template(directory: Path) -> dict[str, Any]:
    text = (directory / packaging.TEMPLATE).read_text(encoding="utf-8")
    template: dict[str, Any] = json.loads(text)
    return template


def test_given_a_fully_switched_on_configuration_when_packaged_then_cfn_lint_is_clean(
    variant: Path,
) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "--ignore-checks", *IGNORED, "--", str(variant / packaging.TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_given_a_brought_export_role_when_packaged_then_none_is_created_and_only_it_is_passed(
    variant: Path,
) -> None:
    template = _template(variant)
    assert template["Parameters"]["CreateExportRole"]["Default"] == "false"
    assert template["Parameters"]["StoreToSourceS3"]["Default"] == "true"
    passed = [
        st["Resource"]
        for _, where, st in role_statements(template)
        if "iam:PassRole" in as_list(st["Action"])
        # the one-time checks' scheduler role (cluster copies, drills)
        and where not in ("ArrangeCopyChecksPolicy", "DrillsPolicy")
    ]
    assert passed
    assert set(passed) == {SETTINGS["EXPORT_ROLE_ARN"]}


def test_given_several_databases_when_packaged_then_start_backup_may_snapshot_each(
    variant: Path,
) -> None:
    template = _template(variant)
    _, start = functions(template)["start_backup"]
    role = start["Properties"]["Role"]["Fn::GetAtt"][0]
    (statement,) = [
        st
        for r, _, st in role_statements(template)
        if r == role and "rds:CreateDBSnapshot" in as_list(st["Action"]) and "Condition" not in st
    ]
    resources = sorted(r["Fn::Sub"].rsplit(":", 2)[-2:][1] for r in statement["Resource"])
    assert resources == ["billing", "nightly-*-????????-????", "orders"]


def test_given_a_select_tag_when_packaged_then_start_backup_may_snapshot_only_tagged_databases(
    variant: Path,
) -> None:
    template = _template(variant)
    assert template["Parameters"]["DbSelectTag"]["Default"] == "backup=nightly"
    policy = template["Resources"]["StartBackupTaggedPolicy"]
    assert policy["Condition"] == "SelectsByTag"
    instances, clusters = policy["Properties"]["PolicyDocument"]["Statement"]
    assert instances["Action"] == ["rds:CreateDBSnapshot"]
    assert instances["Resource"]["Fn::Sub"].endswith(":rds:eu-west-1:${AWS::AccountId}:db:*")
    assert instances["Condition"] == {"StringEquals": {"rds:db-tag/backup": "nightly"}}
    assert clusters["Action"] == ["rds:CreateDBClusterSnapshot"]
    assert clusters["Resource"]["Fn::Sub"].endswith(":rds:eu-west-1:${AWS::AccountId}:cluster:*")
    assert clusters["Condition"]["StringEquals"]["rds:cluster-tag/backup"] == "nightly"


def test_given_named_databases_when_packaged_then_start_backup_may_snapshot_only_those_clusters(
    variant: Path,
) -> None:
    template = _template(variant)
    statements = template["Resources"]["StartBackupClustersPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    creating = [s for s in statements if "rds:CreateDBClusterSnapshot" in as_list(s["Action"])]

    targets = sorted(
        r["Fn::Sub"].split("}:", 2)[-1] for s in creating for r in as_list(s["Resource"])
    )

    assert targets == [
        "cluster-snapshot:nightly-*-????????-????",
        "cluster:billing",
        "cluster:orders",
    ]
    assert all(s["Condition"]["StringEquals"]["aws:RequestTag/rds-backup:stack"] for s in creating)


def test_given_an_alias_and_a_regular_key_when_packaged_then_kms_is_scoped_to_them(
    variant: Path,
) -> None:
    template = _template(variant)
    target_alias, source_key = 0, 0
    for _, where, statement in role_statements(template):
        if not any(a.startswith("kms:") for a in as_list(statement["Action"])):
            continue
        resource = statement["Resource"]
        if resource == SETTINGS["SOURCE_KMS_KEY_ID"]:
            source_key += 1
            continue
        assert resource["Fn::Sub"].endswith(":kms:eu-central-1:${AWS::AccountId}:key/*"), where
        aliases = statement["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
        assert aliases == "alias/backups"
        target_alias += 1
    assert target_alias >= 6  # copy, export, reconcile: DescribeKey + CreateGrant each
    assert source_key >= 4  # copy and reconcile source exports


def test_given_created_buckets_and_export_cleanup_when_packaged_then_they_are_in_the_template(
    variant: Path,
) -> None:
    template = _template(variant)
    assert template["Parameters"]["CreateBuckets"]["Default"] == "true"
    assert template["Parameters"]["ExportExpirationDays"]["Default"] == "90"
    policy = template["Resources"]["CleanupExportsPolicy"]["Properties"]["PolicyDocument"]
    (listing, deleting) = policy["Statement"]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["rds-backup/", "rds-backup/*"]
    assert all(r["Fn::Sub"].endswith("/rds-backup/*") for r in deleting["Resource"])


def test_given_settings_that_would_break_the_stacks_when_packaged_then_every_problem_is_named(
    tmp_path: Path,
) -> None:
    bad = {
        "SOURCE_REGION": "eu-west-1",
        "TARGET_REGION": "eu-west-1",
        "DELETE_OLD_EXPORTS": "yes",
        "CREATE_EXPORT_ROLE": "false",
    }
    with pytest.raises(packaging.PackagingError) as raised:
        packaging.package_variant("target", bad, tmp_path)
    message = str(raised.value)
    assert "TARGET_REGION: must differ from SOURCE_REGION" in message  # the handlers' words
    assert 'deleteOldExports must be exactly true or false, got "yes"' in message
    assert "no RDS export role" in message


def test_given_a_mixed_case_database_when_packaged_then_its_iam_arn_is_lower_case(
    variant: Path,
) -> None:
    # RDS stores identifiers in lower case and IAM compares ARNs case-sensitively.
    template = _template(variant)
    logical_id, _ = functions(template)["start_backup"]
    role = template["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    resources = [
        json.dumps(resource)
        for name, _, statement in role_statements(template)
        if name == role
        for resource in as_list(statement["Resource"])
    ]
    databases = [r for r in resources if ":db:" in r]
    assert any(":db:orders" in r for r in databases)
    assert not any(":db:Orders" in r for r in databases)
