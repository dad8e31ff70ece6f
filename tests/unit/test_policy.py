"""Reading IAM and KMS policies for doctor (rds_backup/ops/policy.py)."""

from __future__ import annotations

import json
import urllib.parse

from rds_backup.ops import policy

ROLE = "arn:aws:iam::123456789012:role/CopySnapshotRole"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXPORT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject*", "s3:GetObject*"],
            "Resource": "arn:aws:s3:::acme-backups/rds-backup/*",
        }
    ],
}


def test_given_wildcard_actions_when_asked_then_they_cover_the_concrete_action_in_any_case():
    statements = policy.statements(EXPORT_POLICY)

    assert policy.allows(statements, "s3:putobject", "arn:aws:s3:::acme-backups/rds-backup/x")
    assert not policy.allows(
        statements, "s3:DeleteObject", "arn:aws:s3:::acme-backups/rds-backup/x"
    )


def test_given_a_prefix_resource_when_asked_outside_it_then_it_is_not_allowed():
    statements = policy.statements(EXPORT_POLICY)

    assert not policy.allows(statements, "s3:PutObject", "arn:aws:s3:::acme-backups/other/x")
    assert not policy.allows(statements, "s3:PutObject", "arn:aws:s3:::ACME-BACKUPS/rds-backup/x")


def test_given_an_explicit_deny_when_an_allow_also_matches_then_the_deny_wins():
    statements = [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:CreateGrant", "Resource": KEY},
    ]

    assert policy.allows(statements, "kms:DescribeKey", KEY)
    assert not policy.allows(statements, "kms:CreateGrant", KEY)


def test_given_not_action_when_asked_then_everything_else_is_covered():
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]

    assert policy.allows(statements, "kms:CreateGrant", KEY)
    assert not policy.allows(statements, "iam:PassRole", ROLE)


def test_given_a_url_encoded_document_when_read_then_its_statements_come_back():
    encoded = urllib.parse.quote(json.dumps(EXPORT_POLICY))

    assert policy.statements(encoded) == EXPORT_POLICY["Statement"]
    assert policy.statements({"Statement": {"Effect": "Allow"}}) == [{"Effect": "Allow"}]


def test_given_a_key_policy_when_filtered_by_principal_then_only_matching_statements_remain():
    key_policy = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
        },
        {"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": "kms:CreateGrant"},
        {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*"},
    ]

    assert policy.for_principal(key_policy, [ROLE]) == [key_policy[1]]
    assert policy.for_principal(key_policy, policy.account_principals("123456789012")) == [
        key_policy[0]
    ]
    assert policy.services(key_policy[2]) == ["logs.amazonaws.com"]
