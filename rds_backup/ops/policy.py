"""Reading IAM and KMS policy documents: does a statement list allow an action on a resource,
for a principal? Used by ``rds-backup doctor`` (read-only; nothing here calls AWS).

Deliberately small and conservative, and said so in every answer doctor gives:

- ``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*`` and ``?`` wildcards
  (actions compared case-insensitively, ARNs case-sensitively, as IAM does);
- an explicit ``Deny`` that matches wins over any ``Allow``;
- ``Condition`` blocks are **not** evaluated: an ``Allow`` with a condition counts as an
  allow (doctor cannot know the request context), a ``Deny`` with a condition is ignored;
- permission boundaries, SCPs and session policies are not seen.

AWS's own evaluation is the IAM policy simulator (``iam:SimulatePrincipalPolicy``), which moto
does not implement; this reading gives the same answer for the policies the stack and the
RDS/KMS guides write.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

Statement = dict[str, Any]


def statements(document: Any) -> list[Statement]:
    """The statements of a policy document given as a dict or as (URL-encoded) JSON text."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else urllib.parse.unquote(document)
        document = json.loads(text)
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


@lru_cache(maxsize=512)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts) + r"\Z", re.IGNORECASE if ignore_case else 0)


def _any_match(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def _covers(statement: Statement, action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if _any_match(_listed(statement["NotAction"]), action, True):
            return False
    elif not _any_match(_listed(statement.get("Action")), action, True):
        return False
    if "NotResource" in statement:
        return not _any_match(_listed(statement["NotResource"]), resource, False)
    return _any_match(_listed(statement.get("Resource", "*")), resource, False)


def principals(statement: Statement) -> list[str]:
    """The ``AWS`` principals of a resource-policy statement (``*`` for everyone)."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return _listed(principal.get("AWS"))
    return []


def services(statement: Statement) -> list[str]:
    principal = statement.get("Principal")
    return _listed(principal.get("Service")) if isinstance(principal, dict) else []


def allows(policy: Sequence[Statement], action: str, resource: str) -> bool:
    """Identity policy: some Allow covers ``action`` on ``resource`` and no unconditional
    Deny does."""
    allowed = False
    for statement in policy:
        if not _covers(statement, action, resource):
            continue
        if statement.get("Effect") == "Deny" and not statement.get("Condition"):
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def for_principal(policy: Sequence[Statement], who: Iterable[str]) -> list[Statement]:
    """The statements of a resource policy (a key policy) that apply to any of ``who``
    (role ARNs, ``arn:aws:iam::<account>:root`` or the bare account id), or to everyone."""
    names = set(who)
    return [s for s in policy if any(p == "*" or p in names for p in principals(s))]


def account_principals(account: str, partition: str = "aws") -> list[str]:
    """How a key policy names the whole account (which delegates to IAM policies)."""
    return [f"arn:{partition}:iam::{account}:root", account]
