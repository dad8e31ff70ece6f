"""doctor's db-key-access: each way a copying role may use a database's customer-managed key
(key policy, grant, IAM delegation), on in-process moto."""

from __future__ import annotations

import json

import pytest

from rds_backup.aws import Aws
from rds_backup.local.seed import trust_policy
from rds_backup.ops import doctor
from rds_backup.settings import Settings, parse_settings

ACCOUNT = "123456789012"
LOCKED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


@pytest.fixture
def copying_role(aws: Aws) -> str:
    iam = aws.client("iam", "us-east-1")
    return str(
        iam.create_role(
            RoleName="CopySnapshotRole",
            AssumeRolePolicyDocument=json.dumps(trust_policy("lambda.amazonaws.com")),
        )["Role"]["Arn"]
    )


@pytest.fixture
def target(settings: Settings, aws: Aws, copying_role: str) -> doctor.Target:
    found = doctor.Target(settings, aws)
    found._roles.update(dict.fromkeys(doctor.COPYING_FUNCTIONS, copying_role))
    return found


@pytest.fixture
def database_key(settings: Settings) -> str:
    assert settings.source_kms_key_id is not None
    return settings.source_kms_key_id  # the seeded databases are encrypted with it


def key_access(target: doctor.Target) -> doctor.Finding:
    return doctor.check_database_keys(target)


def test_given_a_key_policy_delegating_to_iam_and_no_role_policy_then_it_fails(target):
    finding = key_access(target)

    assert finding.status == "fail"
    assert "copy_snapshot and reconcile roles may not use the key of billing, orders" in (
        finding.found
    )
    assert "to DB_KMS_KEY_IDS and redeploy (its key policy delegates to the account)" in (
        finding.fix
    )


def allow_roles(aws: Aws, key: str) -> None:
    """What the stack's database-keys policy gives the copying role for DB_KMS_KEY_IDS."""
    aws.client("iam", "us-east-1").put_role_policy(
        RoleName="CopySnapshotRole",
        PolicyName="database-keys",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kms:CreateGrant", "kms:DescribeKey"],
                        "Resource": key,
                        "Condition": {
                            "StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}
                        },
                    }
                ],
            }
        ),
    )


def test_given_a_key_policy_delegating_to_iam_and_a_role_policy_allowing_it_then_ok(
    target, aws, database_key
):
    allow_roles(aws, database_key)

    finding = key_access(target)

    assert finding.status == "ok"
    assert "delegates to IAM" in finding.found


def test_given_a_locked_key_policy_and_a_grant_for_the_role_then_ok(
    target, aws, database_key, copying_role
):
    kms = aws.client("kms", "us-east-1")
    kms.put_key_policy(KeyId=database_key, PolicyName="default", Policy=json.dumps(LOCKED))
    kms.create_grant(
        KeyId=database_key,
        GranteePrincipal=copying_role,
        Operations=["CreateGrant", "DescribeKey", "Decrypt"],
    )

    finding = key_access(target)

    assert finding.status == "ok"
    assert "grants" in finding.found


def test_given_a_locked_key_policy_and_no_grant_then_it_fails_naming_the_key_policy(
    target, aws, database_key
):
    kms = aws.client("kms", "us-east-1")
    kms.put_key_policy(KeyId=database_key, PolicyName="default", Policy=json.dumps(LOCKED))

    finding = key_access(target)

    assert finding.status == "fail"
    assert f"add to the key policy of {database_key}" in finding.fix
    assert "DB_KMS_KEY_IDS cannot help" in finding.fix


def test_given_db_kms_key_ids_naming_an_unused_key_when_the_roles_may_use_theirs_then_it_warns(
    world, aws, copying_role, database_key
):
    other = aws.client("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    allow_roles(aws, database_key)
    settings = parse_settings({**world, "DB_KMS_KEY_IDS": f"{database_key},{other}"})
    target = doctor.Target(settings, aws)
    target._roles.update(dict.fromkeys(doctor.COPYING_FUNCTIONS, copying_role))

    finding = key_access(target)

    assert finding.status == "warn"
    assert f"DB_KMS_KEY_IDS names {other}, which no configured database uses" in finding.found


def test_given_an_undeployed_stack_when_roles_are_unknown_then_it_warns(settings, aws):
    finding = key_access(doctor.Target(settings, aws))

    assert finding.status == "warn"
    assert "rds-backup-copy_snapshot" in finding.found
