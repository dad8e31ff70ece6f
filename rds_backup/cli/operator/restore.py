"""``rds-backup restore``: restore a database's copy in the target region, the plan first
(rds_backup/ops/restore.py; docs/RECOVERY.md)."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.cli.operator import against_stack, positive
from rds_backup.model import naming
from rds_backup.ops import restore

NAME = "restore"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="restore a database's copy in the target region: the plan (copy, age = RPO, "
        "groups, what is missing there), then the restore, its endpoint and elapsed time",
        description="Restore a database's copy in TARGET_REGION. First the plan: which copy, "
        "its age (the RPO if the source region were lost now), the configuration its restore "
        "manifest recorded, the target region's groups (RESTORE_* settings) and anything "
        "missing there, with the fix. Then the restore (an instance, or an Aurora cluster and "
        "each recorded instance), followed until available: the endpoint, the elapsed time "
        "and what to change next. Refuses an identifier that exists; changes nothing but what "
        "it creates. Without --stack, export the stack's variables (the source region's "
        "functions cannot be read when it is down).",
    )
    parser.add_argument("--db", required=True, metavar="NAME", help="the database to restore")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--latest",
        action="store_true",
        help="the newest available copy of ours in the target region (the default)",
    )
    which.add_argument(
        "--snapshot", metavar="ID", help="this copy (a snapshot id or ARN in the target region)"
    )
    parser.add_argument(
        "--as",
        dest="identifier",
        metavar="NEW_ID",
        help="identifier of the restored instance or cluster (default: "
        "<db>-restored-<YYYYMMDD-HHMM>, UTC); must not exist",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument(
        "--timeout",
        type=positive(float, "minutes"),
        default=240.0,
        metavar="MINUTES",
        help="stop following after this long; the restore goes on (default: 240)",
    )
    return parser


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """RDS's identifier rules, before any AWS call (the kind's own limit is checked once the
    copy is known: rds_backup/ops/restore.py)."""
    if args.identifier is not None and (problem := naming.identifier_problem(args.identifier)):
        parser.error(f"--as {args.identifier}: {problem} (RDS DB identifier rules)")


def run(args: argparse.Namespace) -> int:
    request = restore.Request(
        database=args.db.lower(),
        snapshot=args.snapshot,
        identifier=args.identifier,
        dry_run=args.dry_run,
    )
    waiter = restore.Waiter(timeout=args.timeout * 60)
    return against_stack(
        args, lambda settings, aws, out: restore.run_restore(settings, aws, request, out, waiter)
    )
