"""The ``rds-backup`` console script: the demo and the bench on the embedded local AWS, and
the operator commands (rds_backup/ops/cli.py) against a deployed stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rds_backup.observability import log_to_stderr
from rds_backup.ops import conventions
from rds_backup.ops.cli import COMMANDS as OPERATOR_COMMANDS
from rds_backup.ops.cli import add_commands as add_operator_commands
from rds_backup.ops.cli import check as check_operator
from rds_backup.ops.cli import run as run_operator

DESCRIPTION = (
    "Nightly Amazon RDS backups across two regions: the operator commands for a deployed "
    "stack, and a demo and a bench on the embedded local AWS."
)
EPILOG = "exit statuses: README.md, 'Operating it' (the AWS CLI's return codes where one fits)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C and a closed stdout end it without a traceback."""
    return conventions.guarded(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser, operator_parsers = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "output"):
        try:
            args.output = conventions.output(args.output, getattr(args, "profile", None))
        except ValueError as error:
            parser.error(str(error))
    if args.command in OPERATOR_COMMANDS:
        check_operator(operator_parsers[args.command], args)
    log_to_stderr()
    if getattr(args, "debug", False):
        conventions.debug_logging()
    return _run(args)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The whole command line; also each operator command's own parser (for its checks)."""
    parser = argparse.ArgumentParser(prog="rds-backup", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {conventions.version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run one nightly backup end to end on the embedded local AWS (moto)",
        description="Run one nightly backup end to end on the embedded local AWS (moto, the "
        "RDS event emulator and the real handlers): a timeline, each chain's state and the "
        "emails written as HTML.",
    )
    conventions.add_output_options(demo)
    demo.add_argument(
        "--replay", action="store_true", help="then replay the archive and report what changed"
    )
    demo.add_argument(
        "--fail-export",
        action="store_true",
        help="fail the first database's export (with --replay: fix it, then replay)",
    )
    demo.add_argument(
        "--databases",
        default="orders,billing",
        metavar="NAME,...",
        help="DB instances to back up (default: orders,billing)",
    )
    demo.add_argument(
        "--clusters",
        default="",
        metavar="NAME,...",
        help="DB clusters to add (Aurora PostgreSQL, Aurora MySQL in turn)",
    )
    demo.add_argument(
        "--store-to-source-s3",
        action="store_true",
        help="also export in the source region (STORE_TO_SOURCE_S3=true)",
    )
    demo.add_argument(
        "--keep-source-snapshot",
        action="store_true",
        help="keep the source snapshot after the copy (KEEP_SOURCE_SNAPSHOT=true)",
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
        "bench",
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
    local = commands.add_parser(
        "local",
        help="the embedded local AWS (docs/LOCAL_AWS.md)",
        description="The embedded local AWS (docs/LOCAL_AWS.md).",
    ).add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    from rds_backup.local.misconfigure import catalogue

    up = local.add_parser(
        "up",
        help="keep a seeded local AWS running until Ctrl-C; print the endpoint and environment",
        description="Keep a seeded local AWS (the stack deployed in it) running until "
        "interrupted, and print the endpoint and the environment to export so every operator "
        "command can be tried without an account.",
        epilog="faults for --misconfigure (each makes one doctor check fail):\n" + catalogue(),
        formatter_class=conventions.HelpFormatter,
    )
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    up.add_argument(
        "--misconfigure",
        default="",
        metavar="NAME,...",
        help="seed these faults (listed below)",
    )
    return parser, add_operator_commands(commands)


def _run(args: argparse.Namespace) -> int:
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
            quiet=args.output == "json",
        )
        summary = run_demo(options)
        if args.output == "json":
            print(dumps(summary))
        return 0
    if args.command == "bench" and args.fleet:
        from rds_backup.local.bench import dumps
        from rds_backup.local.bench.fleet import render_fleet, run_fleet

        fleet = run_fleet(quick=args.quick)
        print(dumps(fleet) if args.output == "json" else render_fleet(fleet))
        return 0
    if args.command == "bench":
        from rds_backup.local.bench import BenchOptions, dumps, render, run_bench

        result = run_bench(BenchOptions(quick=args.quick))
        print(dumps(result) if args.output == "json" else render(result))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
