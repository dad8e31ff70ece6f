"""Restore drills end to end on the local AWS with a real PostgreSQL (rds_backup/local/
engine.py): `rds-backup demo --drill [--fail-drill] --json`, in a process of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import run_cli

REPO = Path(__file__).resolve().parents[2]


def demo(*extra: str) -> dict[str, Any]:
    done = run_cli("demo", "--drill", *extra, "--json", timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


@pytest.fixture(scope="module")
def passed() -> dict[str, Any]:
    return demo()


def test_given_a_night_when_every_database_is_drilled_then_each_passes_with_the_snapshot_time_value(
    passed,
):
    assert [d["database"] for d in passed["drills"]] == ["orders", "billing"]
    for drill in passed["drills"]:
        assert drill["outcome"] == "passed"
        assert drill["restore_seconds"] > 0
        assert drill["rpo_seconds"] is not None
        assert drill["deleted"] is True
        [count] = [c for c in drill["checks"] if c["name"] == "orders at snapshot"]
        assert count["passed"] is True
        # the restored rows are the source's at snapshot time, not the ones written later
        assert count["value"] == count["source_value_at_snapshot"]
        assert passed["source_orders_now"][drill["database"]] > count["value"]
        assert all({"name", "passed", "value"} <= set(c) for c in drill["checks"])
    assert passed["drill_instances_left"] == []
    assert passed["failure_notices"] == []


def test_given_a_check_that_cannot_pass_when_drilled_then_one_failed_drill_one_notice_and_nothing_left():  # noqa: E501
    failed = demo("--fail-drill")

    outcomes = {d["database"]: d for d in failed["drills"]}
    assert [d for d in outcomes.values() if d["outcome"] == "failed"] == [outcomes["orders"]]
    orders = outcomes["orders"]
    assert orders["step"] == "checks"
    assert "orders at least a million" in orders["reason"]
    assert orders["remedy"]
    assert orders["deleted"] is True
    assert len(failed["failure_notices"]) == 1
    assert failed["drill_instances_left"] == []
