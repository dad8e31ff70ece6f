"""Argument parsing for the operator commands; ``rds_backup.cli`` mounts these."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.local.invoker import LocalQueueInvoker, serves_local_functions
from rds_backup.ops import commands
from rds_backup.ops.errors import OperatorError, explained
from rds_backup.ops.redrive import Invoker, LambdaInvoker, redrive
from rds_backup.ops.target import CONFIG_FUNCTION, operator_settings
from rds_backup.settings import ConfigError, Settings

COMMANDS = ("status", "start", "replay", "cleanup", "doctor", "redrive")


def add_commands(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stack",
        help="deployed stack (service-stage, e.g. rds-backup-prod); "
        "its configuration is read from its functions",
    )
    common.add_argument("--region", help="the stack's (source) region")
    common.add_argument(
        "--endpoint-url",
        help="AWS endpoint, e.g. the local AWS (default: AWS_ENDPOINT_URL, else real AWS)",
    )
    common.add_argument("--json", action="store_true", help="print a machine-readable summary")

    status = subparsers.add_parser(
        "status", parents=[common], help="recent runs per database, each step's state and age"
    )
    status.add_argument("--days", type=int, default=7, help="how far back (default 7)")
    status.add_argument("--db", action="append", default=[], help="only this database")
    status.add_argument(
        "--wide",
        action="store_true",
        help="every column, untruncated, with snapshot ids and reasons (wider than 80)",
    )

    start = subparsers.add_parser(
        "start", parents=[common], help='put a "Backup Requested" event on the bus'
    )
    start.add_argument("--db", action="append", default=[], help="database (repeat; default all)")
    start.add_argument("--reason", default="", help="why, for the record")

    replay = subparsers.add_parser(
        "replay", parents=[common], help="replay archived chain events for a window and follow it"
    )
    replay.add_argument("--since", required=True, type=_when, help="start, ISO time (UTC)")
    replay.add_argument("--until", type=_when, default=None, help="end, ISO time (default now)")
    replay.add_argument(
        "--db",
        action="append",
        default=[],
        help="report only this database (the replay covers the whole window)",
    )
    replay.add_argument("--timeout", type=float, default=900.0, help="seconds to follow")

    redrive = subparsers.add_parser(
        "redrive",
        parents=[common],
        help="hand the events parked in the stack's dead-letter queues back to their "
        "functions (async invoke), deleting each message once accepted",
    )
    redrive.add_argument(
        "--dry-run", action="store_true", help="list what would be re-driven; change nothing"
    )

    cleanup = subparsers.add_parser(
        "cleanup", parents=[common], help="the retention plan: what would be deleted and why"
    )
    mode = cleanup.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print the plan, delete nothing")
    mode.add_argument("--apply", action="store_true", help="delete what the plan says")

    from rds_backup.ops.doctor import CHECKS

    subparsers.add_parser(
        "doctor",
        parents=[common],
        help="read-only pre-flight: one line per check (ok/warn/fail) and its fix; exit 1 on "
        "any fail (docs/DEPLOY.md, 'Before the first night: run doctor')",
        description="Read-only pre-flight of a deployed stack: one line per check (ok, warn or "
        "fail), what was found and the fix; exit status 1 when any check fails.",
        epilog="checks:\n" + "\n".join(f"  {name:<19} {meaning}" for name, meaning, _ in CHECKS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def run(args: argparse.Namespace) -> int:
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    out = _printer(args.json)
    if args.command == "doctor":
        return _doctor(args)
    try:
        with explained(args.region):
            aws = Aws()
            settings = operator_settings(aws, args.stack, args.region)
            summary = _dispatch(args, settings, aws, out)
    except (OperatorError, ConfigError) as error:
        print(f"rds-backup {args.command}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    if summary.get("error"):
        print(f"rds-backup {args.command}: {summary['error']}", file=sys.stderr)
        return 1
    return 0


def _dispatch(args: argparse.Namespace, settings: Any, aws: Aws, out: Any) -> dict[str, Any]:
    if args.command == "status":
        return commands.status(settings, aws, args.days, args.db, out, wide=args.wide)
    if args.command == "start":
        return commands.start(settings, aws, args.db, args.reason, out)
    if args.command == "replay":
        until = args.until or clock.now()
        return commands.replay(settings, aws, args.since, until, args.db, out, timeout=args.timeout)
    if args.command == "redrive":
        return redrive(settings, aws, _invoker(settings, aws), dry_run=args.dry_run, out=out)
    return commands.cleanup(settings, aws, dry_run=args.dry_run, out=out)


def _doctor(args: argparse.Namespace) -> int:
    from rds_backup.ops import doctor

    try:
        with explained(args.region):
            results = doctor.run_doctor(Aws(), args.stack, args.region)
    except OperatorError as error:
        print(f"rds-backup doctor: {error}", file=sys.stderr)
        return 1
    print(doctor.dumps(results) if args.json else doctor.render(results))
    return 0 if doctor.summary(results)["ok"] else 1


def _invoker(settings: Settings, aws: Aws) -> Invoker:
    """AWS Lambda; on the local AWS (an endpoint serving our functions' local invocation
    queues) the local Lambda runner, since moto cannot run the handlers."""
    if os.environ.get("AWS_ENDPOINT_URL") and serves_local_functions(
        aws, settings.source_region, f"{settings.stack_name}-{CONFIG_FUNCTION}"
    ):
        return LocalQueueInvoker(aws)
    return LambdaInvoker(aws)


def _printer(quiet: bool) -> Any:
    def out(line: str) -> None:
        if not quiet:
            print(line)

    return out


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
