"""``rds-backup replay``: replay archived chain events of a window and follow the replay."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from rds_backup import clock
from rds_backup.cli.operator import against_stack, positive, utc, when
from rds_backup.ops import commands

NAME = "replay"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    replay: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="replay archived chain events for a window and follow it",
        description="Replay the stack's archived chain events of a window to its chain rules "
        "only, follow the replay (progress on stderr with --output json) and report what "
        "changed. Times are ISO 8601; one with an offset is converted to UTC, one without "
        "is UTC.",
    )
    replay.add_argument(
        "--since",
        required=True,
        type=when,
        metavar="TIME",
        help="start of the window, e.g. 2026-11-25T02:00Z",
    )
    replay.add_argument(
        "--until",
        type=when,
        metavar="TIME",
        help="end of the window, not in the future (default: now)",
    )
    replay.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="NAME",
        help="report only this database (the replay covers the whole window)",
    )
    replay.add_argument(
        "--timeout",
        type=positive(float, "seconds"),
        default=900.0,
        metavar="SECONDS",
        help="how long to follow the replay (default: 900)",
    )
    return replay


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before any AWS call, a window wrong on its face (argparse's usage error, exit
    2); say in UTC a time given with another offset (on stderr). The window itself is told
    once, by the replay, after its end is settled (clamped for EventBridge's archiving lag)."""
    now = clock.now()
    for option in ("since", "until"):
        given: datetime | None = getattr(args, option)
        if given is None:
            continue
        moment = given.astimezone(UTC)
        if given.utcoffset():
            print(
                f"rds-backup replay: --{option} {given.isoformat()} is {utc(moment)}",
                file=sys.stderr,
            )
        setattr(args, option, moment)
    if args.until is not None and args.until > now:
        parser.error(f"--until {utc(args.until)} is in the future (now: {utc(now)})")
    until = args.until or now
    if args.since >= until:
        parser.error(
            f"--since {utc(args.since)} must be before "
            + (f"--until {utc(until)}" if args.until is not None else f"now ({utc(now)})")
        )
    args.until = until  # the window is told once, as replayed (ops/commands.py: replay)


def run(args: argparse.Namespace) -> int:
    return against_stack(
        args,
        lambda settings, aws, out: commands.replay(
            settings, aws, args.since, args.until or clock.now(), args.db, out, timeout=args.timeout
        ),
    )
