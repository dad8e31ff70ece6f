"""Run every measurement, judge the targets, print JSON or a readable summary."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rds_backup.local.bench import chain, cleanup_scale, cost, imports, memory, start_scale
from rds_backup.local.server import LocalServer

IMPORT_RATIO_TARGET = 1.5  # replaced (REPLACED below): the reason is in the JSON
PEAK_RSS_TARGET_MB = 128
CALLS_PER_DATABASE_TARGET = 12  # replaced (REPLACED below)
CLEANUP_MS_PER_SNAPSHOT_TARGET = 1.0
COST_PER_DATABASE_RUN_TARGET = 0.0005  # USD, Lambda + EventBridge, every invocation cold

# Why each kept target is one a user pays for (issue 26: keep a target only where they do).
WHY_KEPT = {
    "usd_per_database_run": (
        "the bill: Lambda GB-seconds (the init phase is billed, so every cold start is in "
        "it) and requests, EventBridge cross-region events; $0.0005 is $0.18 a database-year, "
        "under 1/18 of the single-Lambda design"
    ),
    "peak_rss_mb": (
        "Lambda bills the configured memory (MemorySize, 256 MB in the template) for every "
        "millisecond: a peak within half of it keeps the setting, and the bill, where it is"
    ),
    "polling_calls": (
        "a handler that polls is billed for its wait and spends the account's shared RDS "
        "API budget while nothing changes"
    ),
    "cleanup_ms_per_snapshot": (
        "cleanup's billed duration grows with the snapshots it keeps; at 1 ms each, 10,000 "
        "snapshots cost 10 s a day and stay far inside Lambda's 900 s limit"
    ),
}


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False

    @property
    def import_runs(self) -> int:
        return 1 if self.quick else 11

    @property
    def chain_databases(self) -> tuple[str, ...]:
        return ("orders",) if self.quick else ("orders", "billing")

    @property
    def cleanup_scale(self) -> tuple[int, int]:
        return (1_000, 100) if self.quick else (10_000, 1_000)

    @property
    def start_databases(self) -> int:
        return 20 if self.quick else 200


def target(
    name: str, value: float, limit: float, unit: str, passed: bool, why: str = ""
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "value": value,
        "target": limit,
        "unit": unit,
        "pass": passed,
    }
    if not passed:
        entry["why_missed"] = why
    return entry


def replaced(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets no user pays for, each with what replaces it and why (issue 26)."""
    cold = summary["memory"]["handlers"]
    ratios = {m: f["ratio_to_boto3"] for m, f in summary["imports"]["handlers"].items()}
    snap = summary["cost"]["snapstart"]
    both = summary["chain"]["both_exports"]
    return [
        {
            "name": "import_ratio_to_boto3",
            "target": f"<= {IMPORT_RATIO_TARGET}x boto3 import, each handler",
            "value": ratios,
            "replaced_by": "cold start measured (import + first invocation, each handler) "
            "and its cost, in usd_per_database_run",
            "measured_cold_start_ms": {n: f["cold_start_ms"] for n, f in cold.items()},
            "measured_import_ms": {n: f["import_ms"] for n, f in cold.items()},
            "options_evaluated": {
                "snapstart": {
                    **snap,
                    "verdict": "not adopted: the cache is billed all month for each "
                    "function's published version, and restores per invocation, while the "
                    "import time it removes is a few hundred ms billed a few times a night "
                    "per database; it pays off only from break_even_databases databases "
                    "(None: never), and needs published versions and aliases on every "
                    "event target",
                },
                "lazy_imports": "moves the same work into the first invocation, billed alike "
                "(the init phase is billed): the ratio would pass and the bill not change",
                "no_pydantic_on_the_lambda_path": "saves ~150 ms of a cold start; a second "
                "implementation of the settings and event contracts to keep in step",
            },
            "reason": "nobody waits on a nightly chain, so a cold start costs only what it "
            "bills; a ratio to boto3's import is no figure a user pays. The cold start's "
            "price is in the cost target, where it is paid",
        },
        {
            "name": "api_calls_per_database_both_exports",
            "target": f"<= {CALLS_PER_DATABASE_TARGET} calls per database per chain",
            "value": both["api_calls_per_database"],
            "replaced_by": "bench --fleet: RDS calls per database on the lived-in 100-database "
            "row (<= 20) and 0 handler failures under throttling at 200 with other tools' load",
            "reason": "RDS API calls are not billed; a user pays for them in the account's "
            "shared RDS request budget (one token bucket per account and region), which "
            "bites on a real fleet on a lived-in account, not on a 2-database chain on an "
            "empty one. The billed calls (DynamoDB, SES, EventBridge) are in the cost target",
        },
    ]


def judge(summary: dict[str, Any]) -> list[dict[str, Any]]:
    targets = []
    money = summary["cost"]["usd_per_database_run"]
    targets.append(
        target(
            "usd_per_database_run",
            money,
            COST_PER_DATABASE_RUN_TARGET,
            "USD (Lambda + EventBridge, every invocation cold)",
            money <= COST_PER_DATABASE_RUN_TARGET,
            "billed time per invocation (cold CPU + API waits) grew: see cost.functions",
        )
    )
    rss = summary["memory"]["handlers"]
    worst = max(rss, key=lambda name: rss[name]["peak_rss_mb"])
    peak = rss[worst]["peak_rss_mb"]
    targets.append(
        target(
            f"peak_rss_mb (max: {worst})",
            peak,
            PEAK_RSS_TARGET_MB,
            "MB",
            peak <= PEAK_RSS_TARGET_MB and all(h["ok"] for h in rss.values()),
            "a handler's process peaked above the target, or an invocation failed",
        )
    )
    both = summary["chain"]["both_exports"]
    polling = both["polling_calls"] + summary["chain"]["target_export_only"]["polling_calls"]
    targets.append(
        target(
            "polling_calls",
            polling,
            0,
            "calls",
            polling == 0,
            "a Describe call repeated for the same resource inside one invocation",
        )
    )
    per_snapshot = summary["cleanup_scale"]["our_ms_per_snapshot"]
    targets.append(
        target(
            "cleanup_ms_per_snapshot",
            per_snapshot,
            CLEANUP_MS_PER_SNAPSHOT_TARGET,
            "ms (ours, moto excluded)",
            per_snapshot <= CLEANUP_MS_PER_SNAPSHOT_TARGET
            and summary["cleanup_scale"]["list_tags_for_resource_calls"] == 0,
            "planning or deleting spends more than 1 ms of our own code per snapshot",
        )
    )
    for entry in targets:
        entry["why"] = WHY_KEPT[entry["name"].split(" ")[0]]
    return targets


def run_bench(options: BenchOptions = BenchOptions()) -> dict[str, Any]:
    started = time.monotonic()
    summary: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "quick": options.quick,
    }
    phases: dict[str, float] = {}

    def phase(name: str, started: float) -> None:
        phases[name] = round(time.monotonic() - started, 1)

    mark = time.monotonic()
    summary["imports"] = imports.measure(options.import_runs)
    phase("imports", mark)
    mark = time.monotonic()
    server = LocalServer()
    try:
        summary["memory"] = memory.measure(
            server, baseline_runs=1 if options.quick else 3, both_exports=not options.quick
        )
        phase("memory", mark)
        mark = time.monotonic()
        summary["chain"] = chain.measure(server, options.chain_databases)
        phase("chain", mark)
    finally:
        server.stop()
    mark = time.monotonic()
    ours, foreign = options.cleanup_scale
    summary["cleanup_scale"] = cleanup_scale.measure(ours, foreign)
    phase("cleanup_scale", mark)
    mark = time.monotonic()
    summary["start_scale"] = start_scale.measure(options.start_databases)
    phase("start_scale", mark)
    from rds_backup.local.packaging import load_template

    summary["cost"] = cost.estimate(
        cost.memory_by_function(load_template("main")),
        summary["memory"]["handlers"],
        summary["chain"]["both_exports"],
    )
    summary["cost"]["snapstart"] = cost.snapstart(
        cost.memory_by_function(load_template("main")),
        summary["memory"]["handlers"],
        summary["chain"]["both_exports"],
    )
    summary["targets"] = judge(summary)
    summary["replaced_targets"] = replaced(summary)
    summary["all_targets_pass"] = all(t["pass"] for t in summary["targets"])
    summary["phase_seconds"] = phases
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    return summary


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, default=str)


def render(summary: dict[str, Any]) -> str:
    imp, mem, both = summary["imports"], summary["memory"], summary["chain"]["both_exports"]
    only, clean = summary["chain"]["target_export_only"], summary["cleanup_scale"]
    start, money = summary["start_scale"], summary["cost"]
    lines = [
        f"rds-backup bench — {summary['date']} ({summary['machine']})"
        + (" [quick]" if summary["quick"] else ""),
        "",
        f"Cold import (median of {imp['runs']} fresh interpreters); "
        f"import boto3 = {imp['boto3_median_ms']} ms",
    ]
    for module, figures in imp["handlers"].items():
        lines.append(
            f"  {module:<26} {figures['median_ms']:>7} ms  {figures['ratio_to_boto3']}x boto3"
        )
    lines += [
        "",
        f"Peak RSS, one cold invocation each; bare boto3 {mem['boto3_baseline_rss_mb']} MB",
    ]
    for name, figures in mem["handlers"].items():
        lines.append(
            f"  {name:<26} {figures['peak_rss_mb']:>7} MB  cold start "
            f"{figures['cold_start_ms']} ms ({figures['event']})"
        )
    lines += [
        "",
        f"API calls per database per chain: {both['api_calls_per_database']} with both "
        f"exports, {only['api_calls_per_database']} target export only; polling calls "
        f"{both['polling_calls'] + only['polling_calls']}",
    ]
    for operation, count in both["api_calls_by_operation_per_database"].items():
        lines.append(f"  {operation:<32} {count}")
    lines += [
        "",
        f"cleanup, {clean['snapshots_ours']} ours + {clean['snapshots_foreign']} foreign: "
        f"{clean['deleted']} deleted, foreign deleted {clean['foreign_deleted']}, calls "
        f"{clean['api_calls_by_operation']} (AWS pages: "
        f"{clean['describe_db_snapshots_pages_on_aws']}), our time "
        f"{clean['our_ms_per_snapshot']} ms/snapshot",
        f"start_backup, {start['databases']} databases: {start['api_calls_total']} calls, "
        f"our time {start['our_time_ms']} ms ({start['our_ms_per_database']} ms/database)",
        "",
        f"Cost per database-run ≈ ${money['usd_per_database_run']:.8f} "
        f"({money['lambda_gb_seconds']} GB-s, {money['lambda_requests']} requests, "
        f"{money['eventbridge_cross_region_events']} cross-region events per "
        f"{money['databases']}-database run); old single Lambda ≈ "
        f"${money['old_single_lambda']['usd_per_database_run']:.8f} "
        f"({money['old_vs_new_per_database']}x) — {money['old_single_lambda']['assumption']}",
        "",
        "Targets",
    ]
    for entry in summary["targets"]:
        mark = "PASS" if entry["pass"] else "MISS"
        lines.append(f"  {mark}  {entry['name']}: {entry['value']} (target {entry['target']})")
        lines.append(f"        why: {entry['why']}")
    lines.append("Targets replaced (no user pays for the figure)")
    for entry in summary.get("replaced_targets", []):
        lines.append(f"  --    {entry['name']} ({entry['target']}): replaced by "
                     f"{entry['replaced_by']}")  # fmt: skip
        lines.append(f"        why: {entry['reason']}")
    snap = money.get("snapstart")
    if snap:
        lines.append(
            f"  SnapStart evaluated: cache ${snap['cache_usd_per_month']}/month for the "
            f"functions, restores ${snap['restore_usd_per_database_month']} and init saved "
            f"${snap['init_saved_usd_per_database_month']} per database-month; "
            + (
                f"break-even at {snap['break_even_databases']:.0f} databases"
                if snap["break_even_databases"]
                else "never pays: a restore costs more than the init time it saves"
            )
        )
    lines.append(f"\n(wall time {summary['wall_seconds']} s; --json for every figure)")
    return "\n".join(lines)
