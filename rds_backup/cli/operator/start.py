"""``rds-backup start``: put a "Backup Requested" event on the stack's bus."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.cli.operator import against_stack
from rds_backup.ops import commands

NAME = "start"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    start: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help='put a "Backup Requested" event on the bus',
        description='Put a "Backup Requested" event on the stack\'s bus; the chain takes it '
        "from there (follow it with rds-backup status).",
    )
    start.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="NAME",
        help="database (repeat; default: every selected database)",
    )
    start.add_argument("--reason", default="", help="why, for the record")
    return start


def run(args: argparse.Namespace) -> int:
    return against_stack(
        args, lambda settings, aws, out: commands.start(settings, aws, args.db, args.reason, out)
    )
