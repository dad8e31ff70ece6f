"""Estimated Lambda + EventBridge cost of one nightly backup run, next to the old design.

Prices (public list prices, us-east-1, as constants): arm64 Lambda $0.0000133334 per
GB-second and $0.20 per million requests; EventBridge custom events $1.00 per million,
cross-region event delivery $1.00 per million. Memory is read from the generated template.
"""

from __future__ import annotations

from typing import Any

LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
EVENTBRIDGE_CUSTOM_EVENT = 1.00 / 1_000_000
EVENTBRIDGE_CROSS_REGION_EVENT = 1.00 / 1_000_000
API_LATENCY_S = 0.1  # assumed round trip of one AWS API call from Lambda (moto's is ~ms)
FULL_VCPU_MB = 1769  # Lambda gives one vCPU at 1,769 MB, proportionally less below
OLD_COPY_MINUTES = 15
OLD_EXPORT_MINUTES = 30
LAMBDA_MAX_SECONDS = 900
OLD_POLL_SECONDS = 30


def memory_by_function(template: dict[str, Any]) -> dict[str, int]:
    """MemorySize of each function of the generated main stack, by handler module name."""
    found = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties", {})
        module = str(properties.get("Handler", "")).rsplit(".", 1)[0]
        found[module.replace("/", ".").removeprefix("handlers.")] = int(
            properties.get("MemorySize", 128)
        )
    return found


def estimate(
    memory_mb: dict[str, int], cold: dict[str, dict[str, Any]], chain: dict[str, Any]
) -> dict[str, Any]:
    """Per database and per run of ``chain['databases']`` databases (both exports)."""
    databases = int(chain["databases"])
    invocations: dict[str, int] = chain["handler_invocations"]
    calls: dict[str, int] = chain["api_calls_by_function"]
    functions = {}
    gb_seconds = gb_seconds_scaled = 0.0
    for name, count in invocations.items():
        memory = memory_mb.get(name, 256)
        scale = max(1.0, FULL_VCPU_MB / memory)
        # import + first invocation, CPU of one cold process (moto's answers excluded)
        cpu_s = cold.get(name, {}).get("cold_cpu_ms", 0.0) / 1000
        api_s = calls.get(name, 0) / count * API_LATENCY_S
        billed_s = cpu_s + api_s  # every invocation taken as cold (nightly)
        billed_scaled_s = cpu_s * scale + api_s
        gb_s = billed_s * memory / 1024 * count
        gb_seconds += gb_s
        gb_seconds_scaled += billed_scaled_s * memory / 1024 * count
        functions[name] = {
            "invocations": count,
            "memory_mb": memory,
            "billed_s_per_invocation": round(billed_s, 3),
            "billed_s_per_invocation_cpu_scaled": round(billed_scaled_s, 3),
            "gb_seconds": round(gb_s, 4),
        }
    requests = sum(invocations.values())
    cross_region = int(chain["cross_region_events"])
    custom = int(chain["custom_events"])
    lambda_cost = gb_seconds * LAMBDA_ARM_GB_SECOND + requests * LAMBDA_REQUEST
    events_cost = custom * EVENTBRIDGE_CUSTOM_EVENT + cross_region * EVENTBRIDGE_CROSS_REGION_EVENT
    total = lambda_cost + events_cost
    total_scaled = total + (gb_seconds_scaled - gb_seconds) * LAMBDA_ARM_GB_SECOND
    old = old_design(max(memory_mb.values(), default=256))
    return {
        "assumptions": [
            "every invocation is cold (a nightly run finds no warm container); Lambda bills "
            "the init phase",
            "billed time = CPU of a cold process (import + first invocation, measured in "
            "the memory run) + API waits; CPU as measured here on one core",
            f"upper bound (*_cpu_scaled): CPU times {FULL_VCPU_MB}/memory MB (Lambda's CPU "
            "share below 1,769 MB, if init got no more than that)",
            f"each AWS API call waits {API_LATENCY_S * 1000:.0f} ms",
            "the nightly schedule starts the run: 0 custom events (a 'Backup Requested' "
            "would add 1); AWS service events on the default bus are free; cross-region = "
            "the target region's RDS events forwarded to the source bus",
            "reconcile (hourly) and cleanup (daily) are per day, not per run, and not included",
        ],
        "prices_usd": {
            "lambda_arm64_gb_second": LAMBDA_ARM_GB_SECOND,
            "lambda_per_million_requests": 0.20,
            "eventbridge_custom_per_million": 1.00,
            "eventbridge_cross_region_per_million": 1.00,
        },
        "databases": databases,
        "functions": functions,
        "lambda_gb_seconds": round(gb_seconds, 4),
        "lambda_requests": requests,
        "eventbridge_custom_events": custom,
        "eventbridge_cross_region_events": cross_region,
        "usd_per_run": round(total, 8),
        "usd_per_database_run": round(total / databases, 8),
        "usd_per_database_year": round(total / databases * 365, 6),
        "lambda_gb_seconds_cpu_scaled": round(gb_seconds_scaled, 4),
        "usd_per_database_run_cpu_scaled": round(total_scaled / databases, 8),
        "old_single_lambda": old,
        "old_vs_new_per_database": round(old["usd_per_database_run"] / (total / databases), 1)
        if total
        else None,
    }


# Lambda SnapStart for Python (runtimes python3.12 and later; "Improving startup performance
# with Lambda SnapStart", its "SnapStart pricing"; prices from "AWS Lambda pricing",
# us-east-1): the snapshot of each published version is cached, billed per GB-second while
# the version is active, and each execution environment restored from it is billed per GB.
SNAPSTART_CACHE_GB_SECOND = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
SECONDS_PER_MONTH = 30 * 24 * 3600


def snapstart(
    memory_mb: dict[str, int], cold: dict[str, dict[str, Any]], chain: dict[str, Any]
) -> dict[str, Any]:
    """What SnapStart would cost and save for a fleet running one run a night: the cache of
    every function's published version all month, a restore per (cold) invocation, against
    the billed import time it removes from each cold start."""
    databases = int(chain["databases"])
    invocations: dict[str, int] = chain["handler_invocations"]
    cache = sum(
        m / 1024 * SECONDS_PER_MONTH * SNAPSTART_CACHE_GB_SECOND for m in memory_mb.values()
    )
    saved = restore = 0.0
    for name, count in invocations.items():
        gb = memory_mb.get(name, 256) / 1024
        per_database = count / databases * 30  # invocations per database-month
        restore += per_database * gb * SNAPSTART_RESTORE_GB
        saved += (
            per_database
            * gb
            * cold.get(name, {}).get("import_ms", 0.0)
            / 1000
            * (LAMBDA_ARM_GB_SECOND)
        )
    return {
        "prices_usd": {
            "cache_per_gb_second": SNAPSTART_CACHE_GB_SECOND,
            "restore_per_gb": SNAPSTART_RESTORE_GB,
        },
        "cache_usd_per_month": round(cache, 4),
        "restore_usd_per_database_month": round(restore, 6),
        "init_saved_usd_per_database_month": round(saved, 6),
        # the fleet size from which the import time saved pays for the cache and restores
        "break_even_databases": round(cache / (saved - restore), 0) if saved > restore else None,
    }


def old_design(memory_mb: int) -> dict[str, Any]:
    """One Lambda per database that creates, copies and exports, waiting in between."""
    held = (OLD_COPY_MINUTES + OLD_EXPORT_MINUTES) * 60
    gb_s = held * memory_mb / 1024
    usd = gb_s * LAMBDA_ARM_GB_SECOND + LAMBDA_REQUEST
    return {
        "assumption": (
            f"one invocation per database held for the copy ({OLD_COPY_MINUTES} min) and the "
            f"export ({OLD_EXPORT_MINUTES} min) at {memory_mb} MB, polling Describe* every "
            f"{OLD_POLL_SECONDS} s. Lambda stops an invocation at {LAMBDA_MAX_SECONDS} s, so "
            "as modelled it cannot finish: such a design timed out, or had to re-invoke "
            "itself / use Step Functions, which adds transitions and polling calls. The "
            "figure is the cost of the wait it needs, a lower bound"
        ),
        "held_seconds": held,
        "exceeds_lambda_limit": held > LAMBDA_MAX_SECONDS,
        "gb_seconds": round(gb_s, 1),
        "polling_calls_per_database": held // OLD_POLL_SECONDS,
        "usd_per_database_run": round(usd, 8),
    }
