"""``rds-backup status``: recent runs per database (rds_backup/ops/runs_table.py)."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.cli.operator import against_stack, positive
from rds_backup.ops import commands

NAME = "status"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    status: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="recent runs per database, each step's state and age",
        description="Recent runs per database: each step's state and age, failed steps with "
        "their reason, waiting steps with their place in the queue; then which databases the "
        "next run backs up and why.",
    )
    status.add_argument(
        "--days", type=positive(int, "days"), default=7, help="how far back (default: 7)"
    )
    status.add_argument(
        "--db", action="append", default=[], metavar="NAME", help="only this database (repeat)"
    )
    status.add_argument(
        "--wide",
        action="store_true",
        help="every column, untruncated, with snapshot ids and reasons (wider than 80)",
    )
    return status


def run(args: argparse.Namespace) -> int:
    return against_stack(
        args,
        lambda settings, aws, out: commands.status(
            settings, aws, args.days, args.db, out, wide=args.wide
        ),
    )
