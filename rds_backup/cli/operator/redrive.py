"""``rds-backup redrive``: hand the events parked in the stack's dead-letter queues back to
their functions (rds_backup/ops/redrive.py), through Lambda's asynchronous Invoke."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.cli.operator import against_stack
from rds_backup.ops.redrive import LambdaInvoker, redrive

NAME = "redrive"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="hand the events parked in the stack's dead-letter queues back to their "
        "functions (async invoke), deleting each message once accepted",
        description="Hand each event parked in the stack's dead-letter queues back to its "
        "function (an asynchronous invoke) and delete the message once Lambda accepted it.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be re-driven; change nothing"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    return against_stack(
        args,
        lambda settings, aws, out: redrive(
            settings, aws, LambdaInvoker(aws), dry_run=args.dry_run, out=out
        ),
    )
