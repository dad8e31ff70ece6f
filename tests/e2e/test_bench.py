"""Smoke test of ``rds-backup bench --quick --json``: every figure is there with its target
and verdict. Timings are never asserted (the machine is shared and noisy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import run_cli

REPO = Path(__file__).resolve().parents[2]
HANDLERS = ("start_backup", "copy_snapshot", "export_snapshot", "notify", "reconcile", "cleanup")


@pytest.fixture(scope="module")
def bench() -> dict[str, Any]:
    # A process of its own: the bench runs its own moto server and an in-process moto.
    # 300 s: about 100 s alone here, more when other sessions share the 2 cores
    done = run_cli("bench", "--quick", "--json", timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_every_target_has_value_target_verdict_and_what_the_user_pays(
    bench: dict[str, Any],
) -> None:
    names = [entry["name"] for entry in bench["targets"]]
    for prefix in (
        "usd_per_database_run",
        "peak_rss_mb",
        "polling_calls",
        "cleanup_ms_per_snapshot",
    ):
        assert any(name.startswith(prefix) for name in names), prefix
    for entry in bench["targets"]:
        assert {"value", "target", "pass", "unit", "why"} <= entry.keys()
        assert isinstance(entry["pass"], bool)
        assert entry["why"]
        if not entry["pass"]:
            assert entry["why_missed"]
    assert bench["all_targets_pass"] == all(entry["pass"] for entry in bench["targets"])


def test_given_targets_no_user_pays_for_then_each_is_replaced_with_its_reason(
    bench: dict[str, Any],
) -> None:
    replaced = {entry["name"]: entry for entry in bench["replaced_targets"]}
    assert set(replaced) == {"import_ratio_to_boto3", "api_calls_per_database_both_exports"}
    assert not {t["name"] for t in bench["targets"]} & set(replaced)
    for entry in replaced.values():
        assert entry["reason"]
        assert entry["replaced_by"]
    cold = replaced["import_ratio_to_boto3"]
    for handler in HANDLERS:
        assert cold["measured_cold_start_ms"][handler] > 0
    snap = cold["options_evaluated"]["snapstart"]
    assert snap["cache_usd_per_month"] > 0
    assert snap["init_saved_usd_per_database_month"] > 0
    assert snap["verdict"]


def test_every_figure_is_reported(bench: dict[str, Any]) -> None:
    assert bench["quick"] is True
    assert bench["imports"]["boto3_median_ms"] > 0
    for handler in HANDLERS:
        assert bench["imports"]["handlers"][f"handlers.{handler}"]["ratio_to_boto3"] > 0
        memory = bench["memory"]["handlers"][handler]
        assert memory["ok"], memory
        assert memory["peak_rss_mb"] > 0
    assert bench["memory"]["boto3_baseline_rss_mb"] > 0
    for setting in ("both_exports", "target_export_only"):
        chain = bench["chain"][setting]
        assert chain["handler_errors"] == 0
        assert chain["api_calls_by_operation"]
        assert chain["polling_calls"] == 0
        assert chain["handler_cpu_ms_per_run"]
    cleanup = bench["cleanup_scale"]
    assert cleanup["list_tags_for_resource_calls"] == 0
    assert cleanup["foreign_deleted"] == 0
    assert cleanup["deleted"] > 0
    assert "our_ms_per_snapshot" in cleanup
    start = bench["start_scale"]
    # one create and one restore manifest (S3, rds_backup/state/manifests.py) per database; a
    # fixed cost per run, whatever the fleet: the quota headroom
    # (DescribeAccountAttributes) and the run's snapshots by their derived ids
    # (DescribeDBSnapshots), both regions, and which names are clusters (one listing); a fleet
    # with no clusters reads no cluster snapshots
    assert start["api_calls_by_operation"] == {
        "RDS:CreateDBSnapshot": start["databases"],
        "S3:PutObject": start["databases"],
        "RDS:DescribeDBClusters": 1,  # which databases tonight (rds_backup/state/selection.py)
        "RDS:DescribeDBInstances": 1,
        "RDS:DescribeAccountAttributes": 2,
        "RDS:DescribeDBSnapshots": 2,
        # each database's first export attempts of the 7 nights before, by derived id, 50
        # ids a call (rds_backup/state/history.py): the export queue's order
        "RDS:DescribeExportTasks": -(-start["databases"] * 7 // 50),
    }
    cost = bench["cost"]
    assert cost["usd_per_database_run"] > 0
    assert cost["old_single_lambda"]["exceeds_lambda_limit"] is True
    assert cost["assumptions"]
