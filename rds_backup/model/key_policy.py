"""Can another account use this KMS key for a shared snapshot? Read from the key's policy
(pure: the document in, a yes/no and why out).

AWS facts (cited where the chain relies on them):
- A snapshot encrypted with the account's default key ``aws/rds`` cannot be shared (RDS User
  Guide, "Sharing encrypted snapshots for Amazon RDS": "You can't share a snapshot that has
  been encrypted using the default AWS KMS key of the AWS account that shared the snapshot").
  Its policy is AWS's, and it allows only its own account.
- A customer managed key can be: its policy must let the other account use it and create
  grants (KMS Developer Guide, "Allowing users in other accounts to use a KMS key"; Aurora
  User Guide, "Copying a DB cluster snapshot across accounts": the copy needs
  ``kms:CreateGrant``).

Only what decides here is read: an ``Allow`` statement whose principal names the account (its
id, its ``:root`` ARN, a role of it, or ``*``) and whose actions cover ``kms:CreateGrant`` and
``kms:Decrypt``. Conditions are not evaluated (a statement with one counts: doctor and the
vault's copy are the proof); an explicit ``Deny`` naming the account wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

NEEDED = ("kms:CreateGrant", "kms:Decrypt")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _names(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for named in _listed(principal.get("AWS")):
        text = str(named)
        if text == "*" or text == account or text.split(":")[4:5] == [account]:
            return True
    return False


def _covers(actions: Any, action: str) -> bool:
    return any(fnmatchcase(action.lower(), str(a).lower()) for a in _listed(actions))


def allows_account(policy: str | Mapping[str, Any] | None, account: str) -> bool:
    """Whether the key policy lets ``account`` use the key for a shared snapshot's copy."""
    document: Mapping[str, Any] = (
        json.loads(policy) if isinstance(policy, str) and policy else policy or {}
    )
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else list(statements)
    covered = dict.fromkeys(NEEDED, False)
    for statement in statements:
        if not _names(statement.get("Principal"), account):
            continue
        for action in NEEDED:
            if _covers(statement.get("Action"), action):
                if statement.get("Effect") == "Deny":
                    return False
                if statement.get("Effect") == "Allow":
                    covered[action] = True
    return all(covered.values())


def statements_for(account: str) -> list[dict[str, Any]]:
    """The two statements to add to the key policy (docs/VAULT.md prints them)."""
    principal = {"AWS": f"arn:aws:iam::{account}:root"}
    return [
        {
            "Sid": "AllowVaultAccountUseOfTheKey",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
        {
            "Sid": "AllowVaultAccountGrantsForRds",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]
