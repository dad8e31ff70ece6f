"""Cold import time of each handler module, in fresh interpreters, next to ``import boto3``.

Each sample is one new ``python -c`` process timing ``import <module>`` with
``time.perf_counter`` (interpreter start-up excluded). Modules are interleaved round by
round so machine noise falls on all of them alike; the median of the rounds is reported.
One ``-X importtime`` run of a handler gives the breakdown by top-level package.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from typing import Any

from rds_backup.local.bench.common import PYTHON, REPO, median, ms

BASELINE = "boto3"
HANDLERS = (
    "handlers.start_backup",
    "handlers.copy_snapshot",
    "handlers.export_snapshot",
    "handlers.notify",
    "handlers.reconcile",
    "handlers.cleanup",
)
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str) -> float:
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [PYTHON, "-c", PROBE.format(module=module)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(done.stdout.strip().splitlines()[-1])


def breakdown(module: str, top: int = 8) -> dict[str, float]:
    """Milliseconds of self time by top-level package, from one ``-X importtime`` run."""
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [PYTHON, "-X", "importtime", "-c", f"import {module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    by_package: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, _cumulative, name = line.split("|", 2)
        self_us = head.split(":", 1)[1]
        name = name.strip()
        package = name.split(".")[0]
        if name == "rds_backup.settings":
            package = "rds_backup.settings (pydantic model build)"
        by_package[package] += int(self_us) / 1000
    ranked = sorted(by_package.items(), key=lambda item: -item[1])
    return {name: round(value, 1) for name, value in ranked[:top]}


def measure(runs: int) -> dict[str, Any]:
    modules = (BASELINE, *HANDLERS)
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(runs):
        for module in modules:
            samples[module].append(import_seconds(module))
    base = median(samples[BASELINE])
    handlers = {}
    for module in HANDLERS:
        value = median(samples[module])
        handlers[module] = {
            "median_ms": ms(value),
            "min_ms": ms(min(samples[module])),
            "ratio_to_boto3": round(value / base, 2) if base else None,
        }
    return {
        "method": (
            f"median of {runs} fresh interpreters per module, interleaved; "
            "time.perf_counter around the import statement"
        ),
        "runs": runs,
        "boto3_median_ms": ms(base),
        "boto3_min_ms": ms(min(samples[BASELINE])),
        "handlers": handlers,
        "breakdown_ms_self_by_package": {"handlers.notify": breakdown("handlers.notify")},
    }
