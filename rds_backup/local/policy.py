"""Resource policies evaluated for the local AWS's two accounts (moto stores key policies and
event bus policies but never reads them).

Only what a cross-account call needs: does this resource's policy let that account (or that
role) do this action here? Statement matching follows the IAM User Guide ("Policy evaluation
logic", "IAM JSON policy elements: Condition operators"): an explicit ``Deny`` wins, then an
``Allow`` is needed; a statement applies when its ``Principal``, ``Action`` and ``Resource``
match and every condition holds. Supported: principals ``"*"``, ``{"AWS": ...}`` as an account
id, an account's ``:root`` ARN or a role ARN; actions and resources with ``*``/``?``
wildcards; the String*/Arn*/Bool condition operators with the ``ForAllValues:``/``ForAnyValue:``
prefixes and the ``IfExists`` suffix. ``NotPrincipal``/``NotAction``/``NotResource`` and any
other operator make an ``Allow`` statement not apply (never too permissive). Condition keys
are compared case-insensitively, as IAM does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

UNSUPPORTED = ("NotPrincipal", "NotAction", "NotResource")


@dataclass(frozen=True)
class Caller:
    """Who asks: an account, and the role (or user) ARN when known."""

    account: str
    arn: str | None = None  # arn:aws:iam::<account>:role/<name> (an assumed role's role)

    @property
    def root(self) -> str:
        return f"arn:aws:iam::{self.account}:root"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    denied: bool = False  # an explicit Deny applied
    # Condition keys that failed in statements whose principal, action and resource matched:
    # what an Allow would have needed (EventBridge answers NotAuthorizedForDetailType... then).
    failed_keys: frozenset[str] = field(default_factory=frozenset)


def evaluate(
    policy: str | Mapping[str, Any] | None,
    caller: Caller,
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> Decision:
    """Whether ``policy`` lets ``caller`` do ``action`` on ``resource``, given the request's
    condition ``context`` (keys such as ``events:detail-type``, ``kms:CallerAccount``)."""
    document = _document(policy)
    values = {key.lower(): value for key, value in (context or {}).items()}
    allowed = False
    failed: set[str] = set()
    for statement in _statements(document):
        effect = statement.get("Effect")
        if any(name in statement for name in UNSUPPORTED):
            continue
        if not (
            _principal_matches(statement.get("Principal"), caller)
            and _any_match(statement.get("Action"), action, case=False)
            and ("Resource" not in statement or _any_match(statement["Resource"], resource))
        ):
            continue
        failing = _failing_conditions(statement.get("Condition") or {}, values)
        if failing:
            if effect == "Allow":
                failed.update(failing)
            continue
        if effect == "Deny":
            return Decision(allowed=False, denied=True)
        if effect == "Allow":
            allowed = True
    return Decision(allowed=allowed, failed_keys=frozenset() if allowed else frozenset(failed))


def _document(policy: str | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if policy is None or policy == "":
        return {}
    if isinstance(policy, str):
        loaded: Mapping[str, Any] = json.loads(policy)
        return loaded
    return policy


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for named in _listed(principal.get("AWS")):
        if named == "*" or named in (caller.account, caller.root):
            return True
        if caller.arn is not None and named == caller.arn:
            return True
    return False


def _any_match(patterns: Any, value: str, case: bool = True) -> bool:
    for pattern in _listed(patterns):
        text = str(pattern)
        if case and fnmatchcase(value, text):
            return True
        if not case and fnmatchcase(value.lower(), text.lower()):
            return True
    return False


def _failing_conditions(condition: Mapping[str, Any], context: Mapping[str, str]) -> set[str]:
    """The condition keys of this block that do not hold (empty: the block holds)."""
    failing: set[str] = set()
    for operator, tests in condition.items():
        for key, expected in (tests or {}).items():
            if not _holds(operator, context.get(key.lower()), _listed(expected)):
                failing.add(key.lower())
    return failing


def _holds(operator: str, actual: str | None, expected: Iterable[Any]) -> bool:
    """One condition test. The request's values are single-valued here, so ``ForAllValues:``
    holds when the value is absent or among ``expected`` and ``ForAnyValue:`` when present
    and among them. A key missing from the request fails the test unless the operator is
    negated or ends in ``IfExists`` (IAM User Guide, "Condition operators")."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    wanted = [str(value) for value in expected]
    negated = name.startswith(("StringNot", "ArnNot"))
    if actual is None:  # IAM: a missing key fails a test, except a negated one
        return if_exists or negated or qualifier == "ForAllValues"
    base = name.replace("Not", "", 1) if negated else name
    if base in ("StringEquals", "ArnEquals"):
        matched = actual in wanted
    elif base == "StringEqualsIgnoreCase":
        matched = actual.lower() in {value.lower() for value in wanted}
    elif base in ("StringLike", "ArnLike"):
        matched = any(fnmatchcase(actual, value) for value in wanted)
    elif base == "Bool":
        matched = actual.lower() in {value.lower() for value in wanted}
    else:
        return False  # an operator the local AWS does not evaluate never grants anything
    return not matched if negated else matched
