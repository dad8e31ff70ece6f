"""The local AWS's memoised moto hot paths (rds_backup/local/speedups.py) answer exactly
what moto answers: every XML body of a chain written both ways is the same text."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import xmltodict  # type: ignore[import-untyped]
from moto.core import serialize
from moto.core.serialize import ResponseSerializer, XFormedAttributePicker

from handlers import notify
from rds_backup.local import speedups
from tests.integration.chain import CONTEXT, through_export
from tests.support import rds_event

MOTO_WAY = {"full_document": False, "short_empty_elements": True, "pretty": False}


@pytest.fixture
def both_ways(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str, str]]:
    """Every body moto serialises is written by the fast writer and by xmltodict."""
    speedups.install()
    written: list[tuple[Any, str, str]] = []

    def compare(body: Any, *args: Any, **kwargs: Any) -> str:
        expected = str(xmltodict.unparse(body, *args, **kwargs))
        written.append((body, expected, str(speedups.unparse(body, *args, **kwargs))))
        return expected

    monkeypatch.setattr(serialize.xmltodict, "unparse", compare)
    return written


def test_given_a_whole_chain_when_moto_answers_then_the_fast_writer_gives_the_same_xml(
    world: dict[str, str], both_ways: list[tuple[Any, str, str]]
) -> None:
    # given: snapshot, copy, export and the success email (RDS, SES answers: query XML)
    through_export()
    notify.handler(rds_event("RDS-EVENT-0161", "us-west-2"), CONTEXT)

    # then: many bodies, every one the same text
    assert len(both_ways) > 10
    assert [fast for _, _, fast in both_ways] == [expected for _, expected, _ in both_ways]


def test_given_cached_keys_and_picks_when_snapshots_are_described_then_moto_answers_the_same(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: our snapshot and its copy, with their tags, and exports
    speedups.install()
    through_export()
    rds = {region: boto3.client("rds", region) for region in ("us-east-1", "us-west-2")}

    def answers() -> list[Any]:
        return [
            (c.describe_db_snapshots()["DBSnapshots"], c.describe_export_tasks()["ExportTasks"])
            for c in rds.values()
        ]

    cached = answers()
    # when: moto's own alias lookup answers instead of the cache
    monkeypatch.setattr(
        XFormedAttributePicker, "get_possible_keys", speedups.ORIGINALS["get_possible_keys"]
    )
    monkeypatch.setattr(ResponseSerializer, "get_value", speedups.ORIGINALS["get_value"])
    monkeypatch.setattr(
        ResponseSerializer,
        "_serialize_type_structure",
        speedups.ORIGINALS["_serialize_type_structure"],
    )
    # then: the same snapshots and export tasks, field for field
    assert answers() == cached
    assert any(snapshots for snapshots, _ in cached)


def test_given_a_kept_snapshot_answer_when_its_tags_or_status_change_then_the_change_is_answered(
    world: dict[str, str],
) -> None:
    # given: our snapshot, described once (its structure kept)
    speedups.install()
    through_export()
    rds = boto3.client("rds", "us-east-1")
    before = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"][0]
    arn = before["DBSnapshotArn"]

    def again() -> dict[str, Any]:
        listed = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        return next(s for s in listed if s["DBSnapshotArn"] == arn)

    # when: a tag is added in place, and the status changes on moto's object
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "late", "Value": "tag"}])
    tagged = again()
    from moto.rds.models import rds_backends

    from rds_backup.local.seed import ACCOUNT

    rds_backends[ACCOUNT]["us-east-1"].database_snapshots[
        before["DBSnapshotIdentifier"]
    ].status = "deleting"
    deleting = again()

    # then: each change is in the next answer
    assert {"Key": "late", "Value": "tag"} in tagged["TagList"]
    assert {"Key": "late", "Value": "tag"} not in before["TagList"]
    assert (before["Status"], deleting["Status"]) == ("available", "deleting")


@pytest.mark.parametrize(
    "body",
    [
        {"R": {"@xmlns": "http://rds.amazonaws.com/doc/2014-10-31/", "A": "x & <y> 'z' \"w\""}},
        {"R": {"Empty": "", "Nothing": None, "NoList": [], "Zero": 0, "No": False, "Yes": True}},
        {"R": {"L": [{"M": "1"}, {"M": None}, "", None], "T": ("a", "b"), "Set": frozenset()}},
        {"R": {"@a": None, "@b": "q\"uo'te", "#text": "t", "C": {"#text": "", "D": 1.5}}},
        {"R": {"Nested": {"Deeper": {"Deepest": {}}}, "Tab": "a\tb\nc"}},
        {"R": {"Bytes": b"raw", "Comment": {"#comment": "c"}}},  # left to xmltodict
        {"R": {"bad name": "x"}},  # left to xmltodict, which refuses it
    ],
)
def test_given_edge_values_when_written_then_the_text_is_xmltodicts(body: dict[str, Any]) -> None:
    try:
        expected: str | Exception = xmltodict.unparse(body, **MOTO_WAY)
    except ValueError as error:
        expected = error
    if isinstance(expected, Exception):
        with pytest.raises(ValueError, match=str(expected)):
            speedups.unparse(body, **MOTO_WAY)
    else:
        assert speedups.unparse(body, **MOTO_WAY) == expected


def test_given_an_unchanged_snapshot_when_described_again_then_its_kept_xml_is_xmltodicts(
    world: dict[str, str], both_ways: list[tuple[Any, str, str]]
) -> None:
    # given: our snapshot and its copy, described once (structure and text kept)
    through_export()
    rds = boto3.client("rds", "us-east-1")
    rds.describe_db_snapshots(SnapshotType="manual")
    both_ways.clear()

    # when: described again, nothing changed
    rds.describe_db_snapshots(SnapshotType="manual")

    # then: the answer was written from kept text, and it is xmltodict's text
    assert any(texts for _, texts in speedups._SHARED.values())
    assert len(both_ways) == 1
    _, expected, fast = both_ways[0]
    assert fast == expected
    assert "<DBSnapshot>" in fast


class _Thing:
    def __init__(self, name: str, kind: str, tags: list[str]) -> None:
        self.db_snapshot_identifier = name
        self.snapshot_type = kind
        self.tags = tags  # an unhashable attribute


@pytest.mark.parametrize(
    "filters",
    [
        {"db-snapshot-id": ["a", "C"]},  # case-insensitive: values lower-cased, not attributes
        {"db-snapshot-id": ["a", "b"], "snapshot-type": ["manual"]},
        {"snapshot-type": ["automated", "manual"]},
        {"undefined": ["x"]},  # no defined filter: nothing matches (moto's rule)
        {"undefined": ["x"], "snapshot-type": ["manual"]},
        {"snapshot-type": ["manual"], "undefined": ["x"]},
        {"tags": [["t1"], "t2"]},  # unhashable filter values
        {"tags": ["t1"]},
        {"db-snapshot-id": []},
    ],
)
def test_given_filters_when_resources_are_filtered_then_the_same_match_as_moto(
    filters: dict[str, list[Any]],
) -> None:
    from moto.rds.utils import FilterDef

    # given: resources, upper- and lower-case names, one with a list attribute
    resources = {
        "a": _Thing("a", "manual", ["t1"]),
        "B": _Thing("B", "manual", ["t2"]),
        "b": _Thing("b", "automated", []),
        "c": _Thing("c", "manual", ["t1"]),
    }
    definitions = {
        "db-snapshot-id": FilterDef(["db_snapshot_identifier"], "ids", case_insensitive=True),
        "snapshot-type": FilterDef(["snapshot_type"], "types"),
        "tags": FilterDef(["tags"], "tags"),
        "undefined": FilterDef(None, ""),
    }
    speedups.install()

    # when: filtered by the prepared filter and by moto's
    fast = speedups.apply_filter(resources, filters, definitions)
    moto_way = speedups.ORIGINALS["apply_filter"](resources, filters, definitions)

    # then: the same resources, in the same order
    assert list(fast.items()) == list(moto_way.items())


@pytest.mark.parametrize(
    "body",
    [
        "<R><ResponseMetadata><RequestId>old</RequestId></ResponseMetadata></R>",
        "<R><Empty/></R>",  # no request id: only the header gets one
        "<R><RequestId>a</RequestId><RequestId>b</RequestId></R>",  # several: moto's regex
        "<R><RequestId>a</RequestId><X>1</X></RequestId></R>",  # greedy to the last close
        "<R><RequestId>a\n</RequestId></R>",  # the close is on the next line: untouched
        "<R><RequestId>a</RequestId>\n</RequestId></R>",
        "<R><RequestId>never closed</R>",
        b"<R><RequestId>bytes</RequestId></R>",
        "",
    ],
)
def test_given_an_answer_when_its_request_id_is_written_then_the_body_is_motos(body: Any) -> None:
    from moto.moto_api._internal import mock_random

    speedups.install()
    answers = []
    for enrich in (speedups.ORIGINALS["_enrich_response"], speedups._fast_enrich):
        mock_random.seed(7)
        answers.append(enrich({"status": 200}, body))

    assert answers[0] == answers[1]
    assert answers[0][0]["status"] == "200"
