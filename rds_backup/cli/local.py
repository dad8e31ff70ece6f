"""``rds-backup local up``: a seeded local AWS kept running until Ctrl-C, and ``local
drill``: its restore drill schedule fired now (rds_backup/local/up.py, docs/LOCAL_AWS.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rds_backup.ops import conventions

NAME = "local"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    del common
    from rds_backup.local.misconfigure import catalogue

    local: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="the embedded local AWS (docs/LOCAL_AWS.md)",
        description="The embedded local AWS (docs/LOCAL_AWS.md).",
    )
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = commands.add_parser(
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
    up.add_argument(
        "--mail-dir",
        type=Path,
        metavar="DIR",
        help="write each email the stack sends here (default: a new temporary directory, "
        "named when it starts)",
    )
    up.add_argument(
        "--drills",
        action="store_true",
        help="a real PostgreSQL behind the databases and the target region's restore network: "
        "restore brings rows back, 'local drill' runs the restore drills",
    )
    drill = commands.add_parser(
        "drill",
        help="fire the restore drill schedule now on a running 'local up --drills'",
        description="Invoke the deployed start_drill function as its daily schedule does, now "
        "(AWS_ENDPOINT_URL and SOURCE_REGION as 'local up' printed them, or the options).",
    )
    drill.add_argument("--endpoint-url", default=None, help="the local AWS (AWS_ENDPOINT_URL)")
    drill.add_argument("--region", default=None, help="the stack's region (SOURCE_REGION)")
    return local


def run(args: argparse.Namespace) -> int:
    from rds_backup.local.misconfigure import parse
    from rds_backup.local.up import fire_drills, run_up

    if args.local_command == "drill":
        return fire_drills(args.endpoint_url, args.region)
    return run_up(
        args.port,
        parse(args.misconfigure),
        out=lambda line: print(line, flush=True),
        mail_dir=args.mail_dir,
        drills=args.drills,
    )
