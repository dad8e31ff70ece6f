"""RDS's API budget as the local AWS enforces it (rds_backup/local/throttle.py): one token
bucket per account and region, 300 requests of burst and 12 a second, other tools' background
load, and RDS's answer over it (ThrottlingException, "Rate exceeded", HTTP 400); the listings
paged as RDS pages them (rds_backup/local/limits.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from rds_backup.local import limits
from rds_backup.local.throttle import Throttle

SOURCE, TARGET = "us-east-1", "us-west-2"
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> Iterator[Throttle]:
    made = Throttle(clock=clock, call_seconds=0.0)
    made.install()
    with mock_aws():
        yield made
    made.uninstall()


def _rds(region: str = SOURCE, config: Config = NO_RETRY) -> Any:
    return boto3.client("rds", region, config=config)


def _calls(client: Any, n: int) -> list[str]:
    """``n`` DescribeDBSnapshots: "ok" or the error code of each."""
    answers = []
    for _ in range(n):
        try:
            client.describe_db_snapshots()
            answers.append("ok")
        except ClientError as error:
            answers.append(error.response["Error"]["Code"])
    return answers


def test_the_burst_is_300_requests_then_rds_answers_rate_exceeded(throttle: Throttle) -> None:
    # given a fresh bucket and no time passing
    client = _rds()
    # when 300 requests go, then one more
    assert _calls(client, 300) == ["ok"] * 300
    with pytest.raises(ClientError) as refused:
        client.describe_db_snapshots()
    # then the 301st is refused as RDS refuses it: HTTP 400, ThrottlingException, Rate exceeded
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert throttle.refused[("123456789012", SOURCE)] == 1


def test_the_bucket_refills_12_a_second_and_never_past_the_burst(
    throttle: Throttle, clock: Clock
) -> None:
    client = _rds()
    _calls(client, 300)
    # when two seconds pass: 24 tokens
    clock.seconds += 2
    answers = _calls(client, 30)
    assert answers.count("ok") == 24
    # when an hour passes: a full bucket of 300, not 43,200
    clock.seconds += 3600
    assert _calls(client, 301).count("ok") == 300


def test_other_tools_background_load_leaves_the_rest_of_the_rate(
    throttle: Throttle, clock: Clock
) -> None:
    # given other tools taking 6 requests a second of the 12
    throttle.background = 6.0
    client = _rds()
    _calls(client, 300)
    # when 10 seconds pass, 60 tokens are ours
    clock.seconds += 10
    assert _calls(client, 70).count("ok") == 60


def test_each_account_and_region_has_its_own_bucket(throttle: Throttle) -> None:
    _calls(_rds(SOURCE), 300)
    assert _calls(_rds(SOURCE), 1) == ["ThrottlingException"]
    # then the other region still has its whole burst
    assert _calls(_rds(TARGET), 300) == ["ok"] * 300


def test_botocore_backs_off_on_the_time_line_and_the_retry_succeeds(throttle: Throttle) -> None:
    # given an empty bucket and a client with standard retries
    client = _rds(config=Config(retries={"mode": "standard", "max_attempts": 8}))
    _calls(_rds(), 300)
    started = time.monotonic()
    # when the client calls: throttled, it backs off, and the pause refills the bucket
    client.describe_db_snapshots()
    # then it succeeded after refusals, spending virtual time, not the wall's
    assert throttle.refused[("123456789012", SOURCE)] >= 1
    assert time.monotonic() - started < 5


def test_listings_are_paged_as_rds_pages_them() -> None:
    limits.install()
    limits.set_quota(None, manual_snapshots=1000)
    with mock_aws():
        client = boto3.client("rds", SOURCE)
        client.create_db_instance(
            DBInstanceIdentifier="app", Engine="postgres", DBInstanceClass="db.t4g.micro",
            AllocatedStorage=20, MasterUsername="app", MasterUserPassword="local-only-password",
        )  # fmt: skip
        for index in range(250):
            client.create_db_snapshot(DBInstanceIdentifier="app", DBSnapshotIdentifier=f"s{index}")
        first = client.describe_db_snapshots(SnapshotType="manual")
        pages = list(client.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"))
        with pytest.raises(ClientError):
            client.describe_db_snapshots(MaxRecords=5)
    limits.reset_quotas()
    # then 100 a page with a Marker, three pages in all, every snapshot once
    assert len(first["DBSnapshots"]) == 100
    assert first["Marker"]
    assert [len(p["DBSnapshots"]) for p in pages] == [100, 100, 50]
