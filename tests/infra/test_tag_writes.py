"""Tag writes cannot stamp our stack tag on a snapshot that is not ours (issue 12, item 1).

Every statement that creates or tags snapshots allows only ids of the shape we derive,
``<prefix>-<db>-<YYYYMMDD-HHMM>`` (rds_backup/model/naming.py): IAM's ``?`` matches exactly one
character ("IAM JSON policy elements: Resource", wildcards), so an operator's look-alike
(``<our id>-keep``, tags copied) is outside every tag write. Tag-on-create of a copy also
requires our stack's value in the request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rds_backup.model.naming import snapshot_id
from tests.infra.conftest import Packaged
from tests.infra.support import ACCOUNT, as_list, resolve, role_statements

OURS = snapshot_id("rds-backup", "orders", "20261201-0300")
LOOK_ALIKES = (f"{OURS}-keep", f"{OURS}x", f"rds-backup-orders-{'1' * 8}", "rds-backup-orders")


def _iam_match(pattern: str, value: str) -> bool:
    """IAM resource wildcards: ``*`` any run of characters, ``?`` exactly one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _snapshot_patterns(statement: dict[str, Any]) -> list[str]:
    return [
        str(resolve(resource))
        for resource in as_list(statement["Resource"])
        if str(resolve(resource)).split(":")[5] in ("snapshot", "cluster-snapshot")
    ]


def _arn_like(pattern: str, identifier: str) -> str:
    """An ARN of the pattern's region and resource type (DB or DB cluster snapshot)."""
    parts = pattern.split(":")
    return f"arn:aws:rds:{parts[3]}:{ACCOUNT}:{parts[5]}:{identifier}"


def _tag_writes(stack: Packaged) -> list[tuple[str, dict[str, Any]]]:
    return [
        (where, statement)
        for _, where, statement in role_statements(stack.template)
        if "rds:AddTagsToResource" in as_list(statement["Action"])
    ]


def test_given_the_stack_when_its_tag_writes_are_read_then_each_allows_a_derived_id(
    main_stack: Packaged,
) -> None:
    writes = _tag_writes(main_stack)
    assert len(writes) >= 4  # start, copy (copies + canceled mark), export mark, reconcile
    for where, statement in writes:
        for pattern in _snapshot_patterns(statement):
            assert _iam_match(pattern, _arn_like(pattern, OURS)), f"{where}: {pattern}"


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_given_a_look_alike_snapshot_when_matched_then_no_tag_write_reaches_it(
    main_stack: Packaged, look_alike: str
) -> None:
    for where, statement in _tag_writes(main_stack):
        for pattern in _snapshot_patterns(statement):
            arn = _arn_like(pattern, look_alike)
            assert not _iam_match(pattern, arn), f"{where} lets {look_alike} be tagged"


def test_given_copy_tag_on_create_when_read_then_it_requires_our_stack_value(
    main_stack: Packaged,
) -> None:
    copies = [
        statement
        for where, statement in _tag_writes(main_stack)
        if statement.get("Sid") == "TagOurCopies"
    ]
    assert len(copies) == 2  # copy_snapshot and reconcile start copies (DB snapshots)
    for statement in copies:
        condition = statement["Condition"]["StringEquals"]
        assert condition == {"aws:RequestTag/rds-backup:stack": "rds-backup-dev"}
