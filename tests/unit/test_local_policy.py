"""The local AWS's resource policy evaluation (rds_backup/local/policy.py): what a bus policy
or a key policy lets another account do, as IAM evaluates it."""

from __future__ import annotations

from typing import Any

from rds_backup.local import policy
from rds_backup.local.accounts import bus_policy, key_statements

SOURCE, VAULT, OTHER = "123456789012", "210987654321", "111122223333"
BUS = f"arn:aws:events:us-west-2:{VAULT}:event-bus/rds-backup-vault"
KEY = f"arn:aws:kms:us-west-2:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _put(
    document: dict[str, Any] | None, account: str, detail_type: str, source: str = "rds-backup"
) -> policy.Decision:
    return policy.evaluate(
        document,
        policy.Caller(account),
        "events:PutEvents",
        BUS,
        {"events:detail-type": detail_type, "events:source": source},
    )


def test_given_a_bus_policy_for_the_source_and_one_detail_type_then_only_that_is_allowed():
    # given
    document = bus_policy(BUS, SOURCE, detail_types=["Vault Snapshot Shared"])

    # when / then
    assert _put(document, SOURCE, "Vault Snapshot Shared").allowed
    refused = _put(document, SOURCE, "Backup Requested")
    assert not refused.allowed
    assert refused.failed_keys == {"events:detail-type"}
    stranger = _put(document, OTHER, "Vault Snapshot Shared")
    assert not stranger.allowed
    assert stranger.failed_keys == frozenset()


def test_given_no_policy_when_another_account_puts_then_it_is_not_allowed():
    # when
    decision = _put(None, SOURCE, "anything")

    # then
    assert not decision.allowed


def test_given_an_explicit_deny_when_an_allow_also_matches_then_the_deny_wins():
    # given
    document = bus_policy(BUS, SOURCE)
    document["Statement"].append(
        {
            "Sid": "NoRequests",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "events:*",
            "Resource": BUS,
            "Condition": {"StringEquals": {"events:detail-type": "Backup Requested"}},
        }
    )

    # when
    denied = _put(document, SOURCE, "Backup Requested")

    # then
    assert not denied.allowed
    assert denied.denied
    assert _put(document, SOURCE, "Vault Snapshot Shared").allowed


def test_given_the_console_key_statements_for_the_vault_when_it_creates_a_grant_then_allowed():
    # given
    document = {"Version": "2012-10-17", "Statement": key_statements(VAULT)}
    context = {"kms:GrantIsForAWSResource": "true", "kms:CallerAccount": VAULT}

    # when
    for_rds = policy.evaluate(document, policy.Caller(VAULT), "kms:CreateGrant", KEY, context)
    for_someone = policy.evaluate(
        document, policy.Caller(VAULT), "kms:CreateGrant", KEY, {"kms:CallerAccount": VAULT}
    )
    stranger = policy.evaluate(document, policy.Caller(OTHER), "kms:CreateGrant", KEY, context)

    # then
    assert for_rds.allowed
    assert not for_someone.allowed  # a grant not for an AWS resource is not allowed
    assert not stranger.allowed


def test_given_negated_and_if_exists_conditions_when_the_key_is_missing_then_they_hold():
    # given
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": SOURCE},
        "Action": ["events:PutEvents"],
        "Resource": "*",
        "Condition": {
            "StringNotEquals": {"aws:PrincipalOrgID": "o-elsewhere"},
            "StringEqualsIfExists": {"events:source": "rds-backup"},
        },
    }

    # when
    decision = policy.evaluate(
        {"Statement": [statement]}, policy.Caller(SOURCE), "events:PutEvents", BUS
    )

    # then
    assert decision.allowed


def test_given_an_unsupported_element_when_evaluated_then_the_allow_does_not_apply():
    # given: NotPrincipal is not evaluated here, so it never grants anything
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": OTHER}, "Action": "*"}

    # when
    decision = policy.evaluate(
        {"Statement": [statement]}, policy.Caller(SOURCE), "events:PutEvents", BUS
    )

    # then
    assert not decision.allowed
