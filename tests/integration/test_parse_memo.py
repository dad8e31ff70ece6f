"""botocore's parse kept by XML text (rds_backup/local/parse_memo.py) gives exactly
botocore's own parse: the first time, when kept, and after a record changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import parsers
from moto import mock_aws

from rds_backup.local import parse_memo

REGION = "us-east-1"


@pytest.fixture
def listing() -> Iterator[tuple[Any, Any]]:
    """An RDS client on moto with an instance, three tagged snapshots and an export task,
    and what botocore parses an answer with."""
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_instance(
            DBInstanceIdentifier="orders",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password-1",
        )
        for index in range(3):
            rds.create_db_snapshot(
                DBInstanceIdentifier="orders",
                DBSnapshotIdentifier=f"orders-{index}",
                Tags=[{"Key": "rds-backup:run", "Value": f"run-{index}"}],
            )
        yield rds, rds.meta.service_model


def _body(rds: Any, call: Callable[[], Any]) -> bytes:
    """The XML moto answers ``call`` with."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    rds.meta.events.register("after-call.rds", keep)
    try:
        call()
    finally:
        rds.meta.events.unregister("after-call.rds", keep)
    return bodies[-1]


def _parse(model: Any, operation: str, body: bytes) -> Any:
    shape = model.operation_model(operation).output_shape
    parser = parsers.create_parser("query")
    return parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)


def _botocores(model: Any, operation: str, body: bytes) -> Any:
    """botocore's own parse, the memo set aside."""
    patched = {name: vars(parsers.BaseXMLResponseParser)[name] for name in _REPLACED}
    for name, original in _REPLACED.items():
        if original in parse_memo.ORIGINALS:
            setattr(parsers.BaseXMLResponseParser, name, parse_memo.ORIGINALS[original])
    try:
        return _parse(model, operation, body)
    finally:
        for name, method in patched.items():
            setattr(parsers.BaseXMLResponseParser, name, method)


_REPLACED = {"_parse_xml_string_to_dom": "dom", "_handle_structure": "structure"}


def _listed(rds: Any) -> bytes:
    return _body(rds, lambda: rds.describe_db_snapshots(SnapshotType="manual"))


def test_given_a_listing_when_parsed_twice_then_both_are_botocores_own(
    listing: tuple[Any, Any],
) -> None:
    rds, model = listing
    body = _listed(rds)
    expected = _botocores(model, "DescribeDBSnapshots", body)
    parse_memo.install()

    # when: parsed once (kept) and again (answered from what was kept)
    first = _parse(model, "DescribeDBSnapshots", body)
    second = _parse(model, "DescribeDBSnapshots", body)

    # then: both are botocore's parse, and the second came from the kept parses
    assert first == expected
    assert second == expected
    assert len(expected["DBSnapshots"]) == 3
    assert sum(1 for key in parse_memo._kept if key[3] in body) == 3


def test_given_a_kept_parse_when_a_caller_changes_its_answer_then_the_next_answer_is_unchanged(
    listing: tuple[Any, Any],
) -> None:
    rds, model = listing
    parse_memo.install()
    body = _listed(rds)
    expected = _botocores(model, "DescribeDBSnapshots", body)

    # when: a caller changes what it was given, in depth
    changed = _parse(model, "DescribeDBSnapshots", body)
    changed["DBSnapshots"][0]["Status"] = "changed"
    changed["DBSnapshots"][0]["TagList"].append({"Key": "x", "Value": "y"})

    # then: the next parse of the same text is botocore's
    assert _parse(model, "DescribeDBSnapshots", body) == expected


def test_given_a_record_that_changed_when_listed_then_its_new_state_is_parsed(
    listing: tuple[Any, Any],
) -> None:
    rds, model = listing
    parse_memo.install()
    _parse(model, "DescribeDBSnapshots", _listed(rds))

    # when: one snapshot gets another tag, and the region is listed again
    arn = rds.describe_db_snapshots(DBSnapshotIdentifier="orders-1")["DBSnapshots"][0][
        "DBSnapshotArn"
    ]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "late", "Value": "tag"}])
    body = _listed(rds)

    # then: the answer is botocore's, the new tag in it
    parsed = _parse(model, "DescribeDBSnapshots", body)
    assert parsed == _botocores(model, "DescribeDBSnapshots", body)
    tagged = next(s for s in parsed["DBSnapshots"] if s["DBSnapshotIdentifier"] == "orders-1")
    assert {"Key": "late", "Value": "tag"} in tagged["TagList"]


def test_given_one_snapshot_answered_alone_when_parsed_then_it_is_botocores(
    listing: tuple[Any, Any],
) -> None:
    # given: a structure answered at the top (CreateDBSnapshot's DBSnapshot), kept first
    rds, model = listing
    parse_memo.install()
    body = _body(
        rds,
        lambda: rds.create_db_snapshot(
            DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-9"
        ),
    )

    # when / then: parsed twice, botocore's each time
    expected = _botocores(model, "CreateDBSnapshot", body)
    assert _parse(model, "CreateDBSnapshot", body) == expected
    assert _parse(model, "CreateDBSnapshot", body) == expected
    assert expected["DBSnapshot"]["DBSnapshotIdentifier"] == "orders-9"
