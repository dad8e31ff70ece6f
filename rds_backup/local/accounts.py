"""The local AWS's two accounts: the source account (``SOURCE_ACCOUNT``, the one the chain
runs in and the harness's own credentials act in) and a vault account (``VAULT_ACCOUNT``) that
receives shared snapshots and keeps its own copies.

How moto tells accounts apart: each request's account is the one owning the access key that
signed it. STS ``AssumeRole`` on ``arn:aws:iam::<account>:role/<name>`` hands out temporary
credentials whose key belongs to ``<account>`` (moto's STS backend), so a boto3 session made
of them acts in that account; any other key (the harness's fake one) acts in the default
account, 123456789012. ``MOTO_ACCOUNT_ID`` would pin every request, whatever its key, to one
account: the local AWS never sets it. moto checks neither the role's existence nor its trust
policy: the roles seeded here are what a real account would hold, not a barrier.

    with LocalAws(WorldSpec(vault=VaultSpec())) as local:
        vault = local.aws_for(VAULT_ACCOUNT)           # an ``Aws`` acting in the vault account
        vault.rds(local.vault.region).describe_db_snapshots(SnapshotType="shared")

The policy helpers below write the documented shapes: a key policy letting another account
use a customer managed key for a shared snapshot (KMS Developer Guide, "Allowing users in
other accounts to use a KMS key"; RDS User Guide, "Sharing encrypted snapshots for Amazon
RDS") and an event bus policy letting another account put chosen events (EventBridge User
Guide, "Example policy: Send events to a custom bus in a different account").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from rds_backup.aws import Aws
from rds_backup.local.stack import ACCOUNT

SOURCE_ACCOUNT = ACCOUNT
VAULT_ACCOUNT = "210987654321"
ADMIN_ROLE = "rds-backup-local-admin"  # in each account: what the harness's sessions assume
SESSION_NAME = "rds-backup-local"
# The actions the KMS console's key policy gives another account ("Allow use of the key",
# "Allow attachment of persistent resources"); RDS needs kms:CreateGrant to copy a shared
# encrypted snapshot (Aurora User Guide, "Copying a DB cluster snapshot across accounts").
KEY_USE_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
KEY_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]


def role_arn(account: str, role: str = ADMIN_ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def account_trust(account: str) -> dict[str, Any]:
    """A trust policy letting principals of ``account`` (only) assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def assume(sts: Any, account: str, role: str = ADMIN_ROLE) -> boto3.Session:
    """A boto3 session acting in ``account``: the temporary credentials of ``role`` there,
    from ``sts`` (any STS client of the local AWS, or of in-process ``mock_aws``)."""
    credentials = sts.assume_role(RoleArn=role_arn(account, role), RoleSessionName=SESSION_NAME)[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@dataclass(frozen=True)
class VaultSpec:
    """The vault account as seeded. ``allow_detail_types``: what the vault bus's policy lets
    the source account put there (none: no policy, so nothing from the source account is
    delivered). ``source_keys_allow_vault``: the source account's customer managed keys let
    the vault account use them (without it the vault cannot copy what is shared with it)."""

    account: str = VAULT_ACCOUNT
    region: str = "us-west-2"
    bus_name: str = "rds-backup-vault"
    key_alias: str = "alias/rds-backup-vault"
    allow_detail_types: Sequence[str] = ()
    source_keys_allow_vault: bool = True


@dataclass(frozen=True)
class Vault:
    """What the seeded vault account holds: the names a test or demo uses."""

    account: str
    region: str
    key_arn: str  # customer managed, in ``region``
    bus_name: str
    bus_arn: str
    role_arn: str  # the vault's admin role (what ``session_for(account)`` assumes)
    source_role_arn: str  # the source account's admin role


def seed_vault(vault: Aws, source: Aws, spec: VaultSpec, source_keys: Sequence[str]) -> Vault:
    """Seed the vault account (key, bus, role) through ``vault``, the admin role in the
    source account through ``source``, and let the vault use ``source_keys`` (key ARNs) when
    ``spec.source_keys_allow_vault``."""
    region = spec.region
    for aws, account in ((vault, spec.account), (source, SOURCE_ACCOUNT)):
        aws.client("iam", region).create_role(
            RoleName=ADMIN_ROLE, AssumeRolePolicyDocument=json.dumps(account_trust(account))
        )
    kms = vault.client("kms", region)
    key = kms.create_key(Description="rds-backup vault copies")["KeyMetadata"]
    kms.create_alias(AliasName=spec.key_alias, TargetKeyId=key["KeyId"])
    bus = vault.events(region).create_event_bus(Name=spec.bus_name)["EventBusArn"]
    if spec.allow_detail_types:
        allow_events(vault.events(region), spec.bus_name, SOURCE_ACCOUNT, spec.allow_detail_types)
    if spec.source_keys_allow_vault:
        for arn in source_keys:
            allow_key_use(source.client("kms", arn.split(":")[3]), arn, spec.account)
    return Vault(
        account=spec.account,
        region=region,
        key_arn=key["Arn"],
        bus_name=spec.bus_name,
        bus_arn=bus,
        role_arn=role_arn(spec.account),
        source_role_arn=role_arn(SOURCE_ACCOUNT),
    )


def key_statements(account: str) -> list[dict[str, Any]]:
    """The two key policy statements that let ``account`` use a key for RDS (KMS Developer
    Guide, "Allowing users in other accounts to use a KMS key")."""
    principal = {"AWS": f"arn:aws:iam::{account}:root"}
    return [
        {
            "Sid": f"AllowUseOfTheKey{account}",
            "Effect": "Allow",
            "Principal": principal,
            "Action": KEY_USE_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": f"AllowAttachmentOfPersistentResources{account}",
            "Effect": "Allow",
            "Principal": principal,
            "Action": KEY_GRANT_ACTIONS,
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def allow_key_use(kms: Any, key_id: str, account: str) -> None:
    """Add ``key_statements(account)`` to the key's policy (replacing earlier ones for it)."""
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    sids = {statement["Sid"] for statement in key_statements(account)}
    kept = [s for s in policy.get("Statement", []) if s.get("Sid") not in sids]
    policy["Statement"] = kept + key_statements(account)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))


def bus_policy(
    bus_arn: str,
    account: str,
    detail_types: Sequence[str] = (),
    sources: Sequence[str] = (),
    sid: str | None = None,
) -> dict[str, Any]:
    """A bus policy statement letting ``account`` put events on ``bus_arn``, only with these
    detail-types and sources when given (the EventBridge User Guide's example conditions on
    ``events:detail-type`` and ``events:source``)."""
    condition: dict[str, Any] = {}
    if detail_types:
        condition.setdefault("StringEquals", {})["events:detail-type"] = list(detail_types)
    if sources:
        condition.setdefault("StringEquals", {})["events:source"] = list(sources)
    statement: dict[str, Any] = {
        "Sid": sid or f"AllowPutEventsFrom{account}",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "events:PutEvents",
        "Resource": bus_arn,
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def allow_events(
    events: Any,
    bus_name: str,
    account: str,
    detail_types: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> dict[str, Any]:
    """Put ``bus_policy`` on the bus named ``bus_name`` of ``events``' account and region
    (PutPermission with a Policy); return the policy."""
    arn = events.describe_event_bus(Name=bus_name)["Arn"]
    policy = bus_policy(arn, account, detail_types, sources)
    events.put_permission(EventBusName=bus_name, Policy=json.dumps(policy))
    return policy
