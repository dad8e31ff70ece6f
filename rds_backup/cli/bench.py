"""``rds-backup bench``: the benchmarks on the embedded local AWS (rds_backup/local/bench/,
docs/BENCHMARK.md)."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.ops import conventions

NAME = "bench"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    del common
    bench: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="measure imports, memory, API calls, scale and cost (docs/BENCHMARK.md)",
        description="Measure cold import, peak memory, API calls per chain, cleanup at scale "
        "and cost, each against its target (docs/BENCHMARK.md).",
    )
    conventions.add_output_options(bench)
    bench.add_argument("--quick", action="store_true", help="fewer repeats, smaller scales")
    bench.add_argument(
        "--fleet",
        action="store_true",
        help="a night of 5-100 databases under AWS's limits on the virtual clock (key: fleet)",
    )
    bench.add_argument(
        "--drills",
        action="store_true",
        help="a week of restore drills of 100 databases (20 with --quick) on the local AWS's "
        "real PostgreSQL: each drilled in time, nothing left, instance-hours, RTO by size",
    )
    return bench


def run(args: argparse.Namespace) -> int:
    from rds_backup.local.bench import dumps

    if args.drills:
        from rds_backup.local.bench.drills import render_drills, run_drills

        drills = run_drills(n=20 if args.quick else 100)
        print(dumps(drills) if args.output == "json" else render_drills(drills))
        return 0
    if args.fleet:
        from rds_backup.local.bench.fleet import render_fleet, run_fleet

        fleet = run_fleet(quick=args.quick)
        print(dumps(fleet) if args.output == "json" else render_fleet(fleet))
        return 0
    from rds_backup.local.bench import BenchOptions, render, run_bench

    result = run_bench(BenchOptions(quick=args.quick))
    print(dumps(result) if args.output == "json" else render(result))
    return 0
