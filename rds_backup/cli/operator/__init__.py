"""The operator commands: ``rds-backup status|start|replay|redrive|cleanup|doctor|restore``
against a deployed stack (real AWS, or any endpoint that answers as AWS does, e.g.
``rds-backup local up``, with ``--endpoint-url``). One module per command; this one holds what
they share: the common options, running a command against a stack, and the argparse types.

Every command takes the AWS CLI's options (rds_backup/ops/conventions.py): ``--profile``,
``--region``, ``--endpoint-url``, ``--output json|table`` (``--json`` is the same as
``--output json``), and ends with a documented exit status. What each command does lives in
rds_backup/ops/; these modules only read the command line and report. None of them imports
the local AWS (tests/layout.py checks it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rds_backup.aws import OPERATOR_CONFIG, Aws, patched_environ
from rds_backup.ops import conventions
from rds_backup.ops.conventions import Exit
from rds_backup.ops.errors import OperatorError, explained
from rds_backup.ops.target import operator_settings
from rds_backup.settings import Settings

Print = Callable[[str], None]
Body = Callable[[Settings, Aws, Print], dict[str, Any]]
# Commands whose progress goes to stderr with --output json (a person follows them).
FOLLOWING = ("replay", "restore")


def common_options() -> argparse.ArgumentParser:
    """The options every operator command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stack",
        metavar="NAME",
        help="deployed stack (service-stage, e.g. rds-backup-prod); its configuration is "
        "read from its functions (default: the variables exported in this shell)",
    )
    conventions.add_aws_options(common)
    conventions.add_output_options(common)
    return common


def with_session(args: argparse.Namespace, body: Callable[[Aws, str | None], int]) -> int:
    """Run ``body`` with the command's AWS session and region; an OperatorError ends in its
    one line and exit status. ``--endpoint-url`` holds for this command only (botocore reads
    AWS_ENDPOINT_URL): a caller in the same process, e.g. a test, must not inherit it."""
    endpoint = {"AWS_ENDPOINT_URL": args.endpoint_url} if args.endpoint_url else {}
    with patched_environ(endpoint):
        profile = conventions.profile_name(args.profile)
        try:
            with explained(args.region, profile):
                chosen = conventions.session(args.profile)
                aws = Aws(chosen, OPERATOR_CONFIG)
                return body(aws, conventions.region(args.region, chosen))
        except OperatorError as error:
            print(f"rds-backup {args.command}: {error}", file=sys.stderr)
            return error.exit_status


def against_stack(args: argparse.Namespace, body: Body) -> int:
    """Run a command against the stack's configuration: ``body`` returns the summary that
    ``--output json`` prints; a summary with an ``error`` exits 1 naming it."""

    def run(aws: Aws, region: str | None) -> int:
        settings = operator_settings(aws, args.stack, region)
        summary = body(settings, aws, printer(args))
        if args.output == "json":
            print(json.dumps(summary, indent=2, default=str))
        if summary.get("error"):
            print(f"rds-backup {args.command}: {summary['error']}", file=sys.stderr)
            return Exit.FAILED
        return Exit.OK

    return with_session(args, run)


def printer(args: argparse.Namespace) -> Print:
    """Where a command's lines for a person go: stdout for a table; with ``--output json``
    nowhere (stdout holds the one JSON document), except the progress of the commands that
    follow something (replay, restore), on stderr."""

    def out(line: str) -> None:
        print(line)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def nowhere(line: str) -> None:
        del line

    if args.output != "json":
        return out
    return progress if args.command in FOLLOWING else nowhere


def when(value: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC (replay's check converts the rest)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-11-25T02:00Z)"
        ) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def positive(kind: Callable[[str], float], unit: str) -> Callable[[str], Any]:
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


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
