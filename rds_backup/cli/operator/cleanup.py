"""``rds-backup cleanup``: the retention plan, and with ``--apply`` the deletions it lists."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.cli.operator import against_stack
from rds_backup.ops import commands

NAME = "cleanup"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    cleanup: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="the retention plan: what would be deleted and why",
        description="The retention plan (snapshots and exports past retention, and what is "
        "kept and why); --apply deletes what it says.",
    )
    mode = cleanup.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print the plan, delete nothing")
    mode.add_argument("--apply", action="store_true", help="delete what the plan says")
    return cleanup


def run(args: argparse.Namespace) -> int:
    return against_stack(
        args, lambda settings, aws, out: commands.cleanup(settings, aws, args.dry_run, out)
    )
