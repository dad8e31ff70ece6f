"""Security properties of every template the project can generate: both stacks, with the
package-time defaults and with every optional resource created (export role, both buckets,
source exports, export cleanup, alarm email).

Extends test_iam.py / test_resilience.py (which read the default templates) to the
all-options templates and to what they do not check: S3 buckets private, encrypted and
TLS-only; queues TLS-only; topics encrypted or justified; no resource policy open to anyone;
no IAM wildcard action, and no write action on every resource.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from tests.infra.conftest import Packaged
from tests.infra.support import as_list, resources, role_statements
from tests.infra.test_lint import CFN_LINT, IGNORED
from tests.infra.test_variants import SETTINGS

# Everything switched on, and the stack creates what it can: the export role (no
# EXPORT_ROLE_ARN given) and both buckets.
ALL_OPTIONS = {k: v for k, v in SETTINGS.items() if k != "EXPORT_ROLE_ARN"} | {
    "CREATE_EXPORT_ROLE": "true",
    "CREATE_BUCKETS": "true",
    # The vault account (docs/VAULT.md): share_vault's announcement, the default bus's policy.
    "VAULT_ACCOUNT_ID": "210987654321",
    "VAULT_EVENT_BUS_ARN": (
        f"arn:aws:events:{SETTINGS['TARGET_REGION']}:210987654321:event-bus/rds-backup-vault-dev"
    ),
}
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
# Topics left without KMS on purpose (see infra/resources/queues.yml and
# infra/checkov-suppressions.yml, CKV_AWS_26): CloudWatch cannot publish under aws/sns.
UNENCRYPTED_TOPICS = {"AlarmTopic"}

Template = dict[str, Any]


def package_all_options(workdir: Path) -> dict[str, Path]:
    """Both stacks packaged with ALL_OPTIONS: ``{"main": template, "target": template}``."""
    return {
        stack: packaging.package_variant(stack, ALL_OPTIONS, workdir / stack) / packaging.TEMPLATE
        for stack in ("main", "target")
    }


@pytest.fixture(scope="module")
def all_options(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return package_all_options(tmp_path_factory.mktemp("all-options"))


@pytest.fixture(scope="module")
def every_template(
    main_stack: Packaged, target_stack: Packaged, all_options: dict[str, Path]
) -> dict[str, Template]:
    return {
        "main": main_stack.template,
        "target": target_stack.template,
        **{
            f"{stack}-all-options": json.loads(path.read_text(encoding="utf-8"))
            for stack, path in all_options.items()
        },
    }


def test_given_everything_created_when_packaged_then_cfn_lint_is_clean_on_both_stacks(
    all_options: dict[str, Path],
) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "--ignore-checks", *IGNORED, "--", *map(str, all_options.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _refs(value: Any) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, ${Id.Attr} in Sub), anywhere inside."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _refs(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                found.add(str(item))
            elif key == "Fn::GetAtt":
                found.add(str(item[0]))
            elif key == "Fn::Sub" and isinstance(item, str):
                found |= {part.split("}")[0].split(".")[0] for part in item.split("${")[1:]}
            else:
                found |= _refs(item)
    return found


def _policy_statements(
    template: Template, kind: str, target_key: str, logical_id: str
) -> list[dict[str, Any]]:
    """The statements of every resource policy of ``kind`` attached to ``logical_id``."""
    statements: list[dict[str, Any]] = []
    for body in resources(template, kind).values():
        if logical_id in _refs(body["Properties"][target_key]):
            statements.extend(as_list(body["Properties"]["PolicyDocument"]["Statement"]))
    return statements


def _denies_plain_http(statements: list[dict[str, Any]], service: str) -> bool:
    return any(
        st["Effect"] == "Deny"
        and st.get("Principal") in ("*", {"AWS": "*"})
        and f"{service}:*" in as_list(st["Action"])
        and str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower()
        == "false"
        for st in statements
    )


def test_given_every_template_when_its_buckets_are_read_then_each_is_private_encrypted_tls_only(
    every_template: dict[str, Template],
) -> None:
    seen = set()
    for name, template in every_template.items():
        for bucket_id, bucket in resources(template, "AWS::S3::Bucket").items():
            seen.add(bucket_id)
            where = f"{name}/{bucket_id}"
            properties = bucket["Properties"]
            (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            assert algorithm in {"aws:kms", "AES256"}, where
            block = properties.get("PublicAccessBlockConfiguration", {})
            assert block == {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }, where
            statements = _policy_statements(template, "AWS::S3::BucketPolicy", "Bucket", bucket_id)
            assert _denies_plain_http(statements, "s3"), where
    # osls' artifact bucket and both export buckets (created when CREATE_BUCKETS=true)
    assert seen == {"ServerlessDeploymentBucket", "SourceExportBucket", "TargetExportBucket"}


def test_given_the_export_buckets_when_read_then_deleted_exports_stay_recoverable_for_a_while(
    every_template: dict[str, Template],
) -> None:
    for name in ("main-all-options", "target-all-options"):
        for bucket_id, bucket in resources(every_template[name], "AWS::S3::Bucket").items():
            if bucket_id == "ServerlessDeploymentBucket":
                continue
            properties = bucket["Properties"]
            assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, bucket_id
            rules = {r["Id"]: r for r in properties["LifecycleConfiguration"]["Rules"]}
            noncurrent = rules["expire-deleted-exports"]
            assert noncurrent["Status"] == "Enabled"
            assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}


def test_given_every_template_when_its_queues_are_read_then_each_is_encrypted_and_tls_only(
    every_template: dict[str, Template],
) -> None:
    for name, template in every_template.items():
        for queue_id, queue in resources(template, "AWS::SQS::Queue").items():
            where = f"{name}/{queue_id}"
            assert queue["Properties"]["SqsManagedSseEnabled"] is True, where
            statements = _policy_statements(template, "AWS::SQS::QueuePolicy", "Queues", queue_id)
            assert _denies_plain_http(statements, "sqs"), where


def test_given_every_template_when_its_topics_are_read_then_each_is_encrypted_or_alarms_only(
    every_template: dict[str, Template],
) -> None:
    for name, template in every_template.items():
        for topic_id, topic in resources(template, "AWS::SNS::Topic").items():
            where = f"{name}/{topic_id}"
            if "KmsMasterKeyId" in topic["Properties"]:
                continue
            assert topic_id in UNENCRYPTED_TOPICS, f"{where}: encrypt it or justify it"
            # Justified only while it carries alarm states: CloudWatch of this account is the
            # only publisher, and people subscribe by email.
            statements = _policy_statements(template, "AWS::SNS::TopicPolicy", "Topics", topic_id)
            assert statements, where
            for statement in statements:
                assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}, where
                assert as_list(statement["Action"]) == ["sns:Publish"], where
                assert "aws:SourceAccount" in statement["Condition"]["StringEquals"], where
            for subscription in resources(template, "AWS::SNS::Subscription").values():
                assert subscription["Properties"]["Protocol"] == "email", where


def test_given_every_template_when_its_tables_are_read_then_each_is_encrypted(
    every_template: dict[str, Template],
) -> None:
    for name, template in every_template.items():
        for table_id, table in resources(template, "AWS::DynamoDB::Table").items():
            assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, (name, table_id)


def test_given_every_resource_policy_when_read_then_nothing_is_allowed_to_anyone(
    every_template: dict[str, Template],
) -> None:
    kinds = ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy")
    for name, template in every_template.items():
        for kind in kinds:
            for policy_id, policy in resources(template, kind).items():
                for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                    if statement["Effect"] == "Allow":
                        principal = statement["Principal"]
                        assert principal not in ("*", {"AWS": "*"}), (name, policy_id)
                        assert "Service" in principal, (name, policy_id)
                        assert "Condition" in statement, (name, policy_id)  # source scoped


def test_given_every_template_when_its_iam_is_read_then_no_wildcard_action_or_write_on_anything(
    every_template: dict[str, Template],
) -> None:
    for name, template in every_template.items():
        for _, where, statement in role_statements(template):
            actions = as_list(statement["Action"])
            for action in actions:
                assert action != "*", (name, where)
                assert not action.endswith(":*"), (name, where, action)
            if "*" in as_list(statement["Resource"]):
                for action in actions:
                    verb = action.split(":", 1)[1]
                    assert verb.startswith(READ_ONLY_PREFIXES), (name, where, action)
