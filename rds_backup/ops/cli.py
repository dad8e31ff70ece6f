"""Argument parsing for the operator commands; ``rds_backup.cli`` mounts these.

Every command takes the AWS CLI's options (rds_backup/ops/conventions.py): ``--profile``,
``--region``, ``--endpoint-url``, ``--output json|table`` (``--json`` is the same as
``--output json``), and ends with a documented exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rds_backup import clock
from rds_backup.aws import Aws, patched_environ
from rds_backup.local.invoker import LocalQueueInvoker, serves_local_functions
from rds_backup.ops import commands, conventions
from rds_backup.ops.conventions import Exit
from rds_backup.ops.errors import OperatorError, explained
from rds_backup.ops.redrive import Invoker, LambdaInvoker, redrive
from rds_backup.ops.target import CONFIG_FUNCTION, operator_settings
from rds_backup.settings import Settings

COMMANDS = ("status", "start", "replay", "cleanup", "doctor", "redrive")
Print = Callable[[str], None]


def add_commands(subparsers: Any) -> dict[str, argparse.ArgumentParser]:
    """Add the operator commands; return each command's parser (for :func:`check`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stack",
        metavar="NAME",
        help="deployed stack (service-stage, e.g. rds-backup-prod); its configuration is "
        "read from its functions (default: the variables exported in this shell)",
    )
    conventions.add_aws_options(common)
    conventions.add_output_options(common)

    status = subparsers.add_parser(
        "status",
        parents=[common],
        help="recent runs per database, each step's state and age",
        description="Recent runs per database: each step's state and age, failed steps with "
        "their reason, waiting steps with their place in the queue; then which databases the "
        "next run backs up and why.",
    )
    status.add_argument(
        "--days", type=_positive(int, "days"), default=7, help="how far back (default: 7)"
    )
    status.add_argument(
        "--db", action="append", default=[], metavar="NAME", help="only this database (repeat)"
    )
    status.add_argument(
        "--wide",
        action="store_true",
        help="every column, untruncated, with snapshot ids and reasons (wider than 80)",
    )

    start = subparsers.add_parser(
        "start",
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

    replay = subparsers.add_parser(
        "replay",
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
        type=_when,
        metavar="TIME",
        help="start of the window, e.g. 2026-11-25T02:00Z",
    )
    replay.add_argument(
        "--until",
        type=_when,
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
        type=_positive(float, "seconds"),
        default=900.0,
        metavar="SECONDS",
        help="how long to follow the replay (default: 900)",
    )

    redrive = subparsers.add_parser(
        "redrive",
        parents=[common],
        help="hand the events parked in the stack's dead-letter queues back to their "
        "functions (async invoke), deleting each message once accepted",
        description="Hand each event parked in the stack's dead-letter queues back to its "
        "function (an asynchronous invoke) and delete the message once Lambda accepted it.",
    )
    redrive.add_argument(
        "--dry-run", action="store_true", help="list what would be re-driven; change nothing"
    )

    cleanup = subparsers.add_parser(
        "cleanup",
        parents=[common],
        help="the retention plan: what would be deleted and why",
        description="The retention plan (snapshots and exports past retention, and what is "
        "kept and why); --apply deletes what it says.",
    )
    mode = cleanup.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print the plan, delete nothing")
    mode.add_argument("--apply", action="store_true", help="delete what the plan says")

    from rds_backup.ops.doctor import CHECKS

    doctor = subparsers.add_parser(
        "doctor",
        parents=[common],
        help="read-only pre-flight: one line per check (ok/warn/fail) and its fix; exit 1 on "
        "any fail (docs/DEPLOY.md, 'Before the first night: run doctor')",
        description="Read-only pre-flight of a deployed stack: one line per check (ok, warn or "
        "fail), what was found and the fix; exit status 1 when any check fails.",
        epilog="checks:\n" + "\n".join(f"  {name:<19} {meaning}" for name, meaning, _ in CHECKS),
        formatter_class=conventions.HelpFormatter,
    )
    return {
        "status": status,
        "start": start,
        "replay": replay,
        "redrive": redrive,
        "cleanup": cleanup,
        "doctor": doctor,
    }


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before any AWS call, values wrong on their face (argparse's usage error,
    exit 2); say in UTC a time given with another offset (on stderr)."""
    if args.command != "replay":
        return
    now = clock.now()
    for option in ("since", "until"):
        given: datetime | None = getattr(args, option)
        if given is None:
            continue
        utc = given.astimezone(UTC)
        if given.utcoffset():
            print(
                f"rds-backup replay: --{option} {given.isoformat()} is {_utc(utc)}",
                file=sys.stderr,
            )
        setattr(args, option, utc)
    if args.until is not None and args.until > now:
        parser.error(f"--until {_utc(args.until)} is in the future (now: {_utc(now)})")
    until = args.until or now
    if args.since >= until:
        parser.error(
            f"--since {_utc(args.since)} must be before "
            + (f"--until {_utc(until)}" if args.until is not None else f"now ({_utc(now)})")
        )
    args.until = until
    print(f"rds-backup replay: window {_utc(args.since)} .. {_utc(until)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    # --endpoint-url for this command only (botocore reads AWS_ENDPOINT_URL): a caller in the
    # same process, e.g. a test or another command, must not inherit it.
    with patched_environ({"AWS_ENDPOINT_URL": args.endpoint_url} if args.endpoint_url else {}):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    as_json = args.output == "json"
    profile = conventions.profile_name(args.profile)
    try:
        with explained(args.region, profile):
            chosen = conventions.session(args.profile)
            aws = Aws(chosen)
            region = conventions.region(args.region, chosen)
            if args.command == "doctor":
                return _doctor(args, aws, region)
            settings = operator_settings(aws, args.stack, region)
            summary = _dispatch(args, settings, aws, _printer(args))
    except OperatorError as error:
        print(f"rds-backup {args.command}: {error}", file=sys.stderr)
        return error.exit_status
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    if summary.get("error"):
        print(f"rds-backup {args.command}: {summary['error']}", file=sys.stderr)
        return Exit.FAILED
    return Exit.OK


def _dispatch(args: argparse.Namespace, settings: Any, aws: Aws, out: Print) -> dict[str, Any]:
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


def _doctor(args: argparse.Namespace, aws: Aws, region: str | None) -> int:
    from rds_backup.ops import doctor

    results = doctor.run_doctor(aws, args.stack, region)
    print(doctor.dumps(results) if args.output == "json" else doctor.render(results))
    return Exit.OK if doctor.summary(results)["ok"] else Exit.FAILED


def _invoker(settings: Settings, aws: Aws) -> Invoker:
    """AWS Lambda; on the local AWS (an endpoint serving our functions' local invocation
    queues) the local Lambda runner, since moto cannot run the handlers."""
    if os.environ.get("AWS_ENDPOINT_URL") and serves_local_functions(
        aws, settings.source_region, f"{settings.stack_name}-{CONFIG_FUNCTION}"
    ):
        return LocalQueueInvoker(aws)
    return LambdaInvoker(aws)


def _printer(args: argparse.Namespace) -> Print:
    """Where a command's lines for a person go: stdout for a table; with ``--output json``
    nowhere (stdout holds the one JSON document), except replay's progress, on stderr."""

    def out(line: str) -> None:
        print(line)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def nowhere(line: str) -> None:
        del line

    if args.output != "json":
        return out
    return progress if args.command == "replay" else nowhere


def _when(value: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC (:func:`check` converts the rest)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-11-25T02:00Z)"
        ) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive(kind: Callable[[str], float], unit: str) -> Callable[[str], Any]:
    """An argparse type: a number above zero (a duration of zero or less is a mistake)."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not a number of {unit}: {value!r}") from error
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0 {unit}, got {value}")
        return number

    parse.__name__ = kind.__name__  # argparse names the type in "invalid <name> value"
    return parse


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
