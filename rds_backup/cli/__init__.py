"""The ``rds-backup`` console script: one argparse tree, one small module per command.

| command   | module                       | runs against                                  |
|-----------|------------------------------|-----------------------------------------------|
| status    | cli/operator/status.py       | a deployed stack (or ``--endpoint-url``)      |
| start     | cli/operator/start.py        | a deployed stack                              |
| replay    | cli/operator/replay.py       | a deployed stack                              |
| redrive   | cli/operator/redrive.py      | a deployed stack                              |
| cleanup   | cli/operator/cleanup.py      | a deployed stack                              |
| doctor    | cli/operator/doctor.py       | a deployed stack                              |
| restore   | cli/operator/restore.py      | a stack's target region (or its variables)    |
| demo      | cli/demo.py                  | the embedded local AWS                        |
| bench     | cli/bench.py                 | the embedded local AWS                        |
| local up  | cli/local.py                 | starts the embedded local AWS                 |

Each module has ``NAME``, ``add(subparsers, common)`` (its parser) and ``run(args)`` (its exit
status), and may have ``check(parser, args)``: refusals wrong on their face, before any AWS
call. The operator commands never import the local AWS; the local ones import it lazily.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from rds_backup.cli import bench, demo, local
from rds_backup.cli.operator import (
    cleanup,
    common_options,
    doctor,
    redrive,
    replay,
    restore,
    start,
    status,
)
from rds_backup.observability import log_to_stderr, logger
from rds_backup.ops import conventions

DESCRIPTION = (
    "Nightly Amazon RDS backups across two regions: the operator commands for a deployed "
    "stack, and a demo and a bench on the embedded local AWS."
)
EPILOG = "exit statuses: README.md, 'Operating it' (the AWS CLI's return codes where one fits)"
# In the order ``rds-backup --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (
    demo,
    bench,
    local,
    status,
    start,
    replay,
    redrive,
    cleanup,
    doctor,
    restore,
)
# The commands against a stack (cli/operator/): their INFO logs are not for a person.
OPERATOR = (status, start, replay, redrive, cleanup, doctor, restore)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C and a closed stdout end it without a traceback."""
    return conventions.guarded(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    parser, parsers = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # told with the command's own usage, not the top-level one
        parsers[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if hasattr(args, "output"):
        try:
            args.output = conventions.output(args.output, getattr(args, "profile", None))
        except ValueError as error:
            parser.error(str(error))
    command = _by_name()[args.command]
    if hasattr(command, "check"):
        command.check(parsers[args.command], args)
    log_to_stderr()
    level = logger.log_level
    try:
        if command in OPERATOR:
            conventions.quiet_logging()
        if getattr(args, "debug", False):
            conventions.debug_logging()
        status_code: int = command.run(args)
    finally:
        logger.setLevel(level)  # a caller in the same process (a test) keeps its own
    return status_code


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The whole command line, and each command's own parser (for its checks)."""
    parser = argparse.ArgumentParser(prog="rds-backup", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {conventions.version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    parsers = {command.NAME: command.add(subparsers, common) for command in COMMANDS}
    return parser, parsers


def _by_name() -> dict[str, ModuleType]:
    return {command.NAME: command for command in COMMANDS}


__all__ = ["build_parser", "main"]
