"""``rds-backup`` console script: the demo on the local AWS, and operator commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rds_backup.observability import log_to_stderr
from rds_backup.ops.cli import COMMANDS as OPERATOR_COMMANDS
from rds_backup.ops.cli import add_commands as add_operator_commands
from rds_backup.ops.cli import run as run_operator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rds-backup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run one nightly backup end to end on the embedded local AWS (moto)"
    )
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary")
    demo.add_argument(
        "--replay", action="store_true", help="then replay the archive and report what changed"
    )
    demo.add_argument(
        "--fail-export",
        action="store_true",
        help="fail the first database's export (with --replay: fix it, then replay)",
    )
    demo.add_argument(
        "--databases", default="orders,billing", help="comma list (default: orders,billing)"
    )
    demo.add_argument(
        "--clusters",
        default="",
        help="comma list of DB clusters to add (Aurora PostgreSQL, Aurora MySQL in turn)",
    )
    demo.add_argument("--store-to-source-s3", action="store_true", help="STORE_TO_SOURCE_S3=true")
    demo.add_argument(
        "--keep-source-snapshot", action="store_true", help="KEEP_SOURCE_SNAPSHOT=true"
    )
    demo.add_argument(
        "--notify",
        choices=("per-database", "digest", "failures"),
        default="per-database",
        help="NOTIFY_MODE: an email per database (default), one digest per run, failures only",
    )
    demo.add_argument(
        "--warn-export",
        action="store_true",
        help="the last database's export completes with tables left out (exported with warnings)",
    )
    bench = commands.add_parser(
        "bench", help="measure imports, memory, API calls, scale and cost (docs/BENCHMARK.md)"
    )
    bench.add_argument("--json", action="store_true", help="print every figure as JSON")
    bench.add_argument("--quick", action="store_true", help="fewer repeats, smaller scales")
    bench.add_argument(
        "--fleet",
        action="store_true",
        help="a night of 5-100 databases under AWS's limits on the virtual clock (key: fleet)",
    )
    local = commands.add_parser(
        "local", help="the embedded local AWS (docs/LOCAL_AWS.md)"
    ).add_subparsers(dest="local_command", required=True)
    from rds_backup.local.misconfigure import catalogue

    up = local.add_parser(
        "up",
        help="keep a seeded local AWS running until Ctrl-C; print the endpoint and environment",
        description="Keep a seeded local AWS (the stack deployed in it) running until "
        "interrupted, and print the endpoint and the environment to export so every operator "
        "command can be tried without an account.",
        epilog="faults for --misconfigure (each makes one doctor check fail):\n" + catalogue(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    up.add_argument(
        "--misconfigure",
        default="",
        metavar="NAME,...",
        help="seed these faults (listed below)",
    )
    add_operator_commands(commands)
    args = parser.parse_args(argv)
    log_to_stderr()
    if args.command == "local":
        from rds_backup.local.misconfigure import parse
        from rds_backup.local.up import run_up

        return run_up(args.port, parse(args.misconfigure), out=lambda line: print(line, flush=True))
    if args.command in OPERATOR_COMMANDS:
        return run_operator(args)
    if args.command == "demo":
        from rds_backup.local.demo import DemoOptions, dumps, run_demo

        options = DemoOptions(
            databases=tuple(d.strip() for d in args.databases.split(",") if d.strip()),
            clusters=tuple(c.strip() for c in args.clusters.split(",") if c.strip()),
            replay=args.replay,
            fail_export=args.fail_export,
            store_to_source_s3=args.store_to_source_s3,
            keep_source_snapshot=args.keep_source_snapshot,
            notify=args.notify,
            warn_export=args.warn_export,
            quiet=args.json,
        )
        summary = run_demo(options)
        if args.json:
            print(dumps(summary))
        return 0
    if args.command == "bench" and args.fleet:
        from rds_backup.local.bench import dumps
        from rds_backup.local.bench.fleet import render_fleet, run_fleet

        fleet = run_fleet(quick=args.quick)
        print(dumps(fleet) if args.json else render_fleet(fleet))
        return 0
    if args.command == "bench":
        from rds_backup.local.bench import BenchOptions, dumps, render, run_bench

        result = run_bench(BenchOptions(quick=args.quick))
        print(dumps(result) if args.json else render(result))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
