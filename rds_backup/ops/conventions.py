"""How ``rds-backup`` follows the AWS CLI's conventions: the options every operator command
shares, which profile and region a run uses, its exit statuses, and how it ends on Ctrl-C
or a closed pipe (the table of statuses is in README.md, "Operating it").

Precedence, as the AWS CLI has it (AWS CLI User Guide, "Configuring settings for the AWS
CLI", Configuration and credentials precedence; "Configuring environment variables for the
AWS CLI": a command-line option overrides the environment variable, which overrides the
profile in the config file): ``--profile`` > ``AWS_PROFILE`` > the default profile, and
``--region`` > ``AWS_REGION`` > ``AWS_DEFAULT_REGION`` > the profile's ``region``. botocore
reads AWS_PROFILE and AWS_DEFAULT_REGION itself but not AWS_REGION (which the AWS CLI v2 and
the other SDKs read, and which overrides AWS_DEFAULT_REGION), so :func:`region` adds it.
The output format the same way (AWS CLI User Guide, "Setting the output format in the AWS
CLI"): ``--output``/``--json`` > ``AWS_DEFAULT_OUTPUT`` > the profile's ``output`` > table
(:func:`output`).

Exit statuses follow the AWS CLI's return codes (AWS CLI User Guide, "Command line return
codes in the AWS CLI") where one fits, see :class:`Exit`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Callable
from enum import IntEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import boto3

PACKAGE = "rds-backup"  # pyproject.toml [project] name


class Exit(IntEnum):
    """What ``$?`` says after ``rds-backup <command>``."""

    OK = 0
    # The command ran and reports a failure it found: a doctor check failed, a replay ended
    # FAILED or is still running at --timeout, a message could not be re-driven, a refusal
    # that names its reason (a window not archived yet). Like the AWS CLI's 1 for s3.
    FAILED = 1
    # The command line could not be parsed or a value is wrong on its face (argparse: an
    # unknown option, a missing argument, a negative --days, a future --until). The AWS CLI
    # documents 2 as "the command entered on the command line failed to be parsed" for all
    # its commands; argparse exits 2 too.
    USAGE = 2
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as the AWS CLI
    # A well-formed value that the stack does not know (a --db that is not one of its
    # databases): the AWS CLI's 252, "a parameter value was incorrect and prevented the
    # command from running".
    BAD_VALUE = 252
    # Configuration or credentials missing or invalid: no such profile, no or expired
    # credentials, no region, no such stack, an invalid stack configuration (the AWS CLI's
    # 253, "the system environment or configuration was invalid").
    CONFIGURATION = 253
    # AWS answered with an error (AccessDenied, throttling beyond the retries...): the AWS
    # CLI's 254, "the command was parsed and a request was made, but the service returned
    # an error".
    SERVICE = 254
    # AWS could not be reached (endpoint, network): the AWS CLI's 255, "the command failed".
    UNREACHABLE = 255
    # stdout was closed by its reader (``| head``): what a shell reports for a program
    # ended by SIGPIPE (128 + 13), so ``set -o pipefail`` sees it as other tools.
    CLOSED_PIPE = 141


def version() -> str:
    """The installed package's version (pyproject.toml), for ``--version``."""
    try:
        return package_version(PACKAGE)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with a description or epilog that holds a listing: prose lines are
    wrapped to the terminal, and each listing line ("  name   meaning") stays one entry,
    its meaning wrapped under itself (RawDescriptionHelpFormatter would leave both as
    long as they were written)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            entry = re.match(r"( +\S+ +)\S", line)
            hanging = indent + " " * len(entry.group(1)) if entry else indent
            lines.append(
                textwrap.fill(
                    line,
                    width,
                    initial_indent=indent,
                    subsequent_indent=hanging,
                    break_on_hyphens=False,  # names such as db-encrypted stay whole
                    break_long_words=False,
                )
                if line
                else ""
            )
        return "\n".join(lines)


# The AWS CLI's --output values (AWS CLI User Guide, "Setting the output format").
AWS_CLI_OUTPUTS = ("json", "yaml", "yaml-stream", "text", "table", "off")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--output`` (the AWS CLI's formats) and its alias ``--json``: one destination,
    ``output``."""
    parser.add_argument(
        "--output",
        choices=AWS_CLI_OUTPUTS,
        type=str.lower,
        default=None,  # resolved after parsing: conventions.output
        help="json: one JSON document on stdout (progress and logs on stderr); "
        "table: for a person; the AWS CLI's other formats (text, yaml, yaml-stream, off) "
        "give the table (default: AWS_DEFAULT_OUTPUT, else the profile's output, else table)",
    )
    parser.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        help="the same as --output json",
    )


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """The AWS CLI's global options that apply to an operator command."""
    parser.add_argument(
        "--profile",
        help="named profile from the AWS config and credentials files (default: AWS_PROFILE, "
        "else the default profile)",
    )
    parser.add_argument(
        "--region",
        help="the stack's (source) region (default: AWS_REGION, AWS_DEFAULT_REGION, else the "
        "profile's region)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="AWS endpoint, e.g. the local AWS (default: AWS_ENDPOINT_URL, else real AWS)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log each AWS request and answer (botocore's debug log) and ours, on stderr",
    )


LOG_LEVEL_VARIABLES = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")  # what powertools reads


def quiet_logging() -> None:
    """An operator command logs warnings and errors only (on stderr): a person reads its
    table, and its INFO records are the handlers' (the chain's functions share the logger).
    LOG_LEVEL (or POWERTOOLS_LOG_LEVEL) set in the shell, or ``--debug``, says otherwise."""
    import logging
    import os

    from rds_backup.observability import logger

    if not any(os.environ.get(name) for name in LOG_LEVEL_VARIABLES):
        logger.setLevel(logging.WARNING)


def debug_logging() -> None:
    """``--debug``, as the AWS CLI's: botocore's debug log, and ours at DEBUG, on stderr
    (stdout keeps only what was asked for). Like the AWS CLI's, it shows request headers,
    signatures included, never the secret key."""
    import logging

    from rds_backup.observability import logger

    boto3.set_stream_logger("botocore", logging.DEBUG)  # a stderr handler
    logger.setLevel(logging.DEBUG)


def session(profile: str | None) -> boto3.Session:
    """A session for ``--profile`` (None: AWS_PROFILE, else the default profile, which
    botocore resolves). A profile that does not exist raises ``ProfileNotFound`` here or
    at the first client (ops/errors.py says what to do)."""
    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def region(option: str | None, chosen: boto3.Session) -> str | None:
    """``--region``, else AWS_REGION, else AWS_DEFAULT_REGION or the profile's region (both
    resolved by botocore into the session's region)."""
    return option or os.environ.get("AWS_REGION") or chosen.region_name


# The AWS CLI's formats (AWS CLI User Guide, "Setting the output format in the AWS CLI").
# rds-backup writes json and table; text, yaml, yaml-stream and off, chosen for the AWS CLI
# in the environment or the config file, get the table (written for a person).


def output(option: str | None, profile: str | None) -> str:
    """The output format: ``--output``/``--json``, else AWS_DEFAULT_OUTPUT, else the
    profile's ``output`` in the AWS config file, else table. A value the AWS CLI does not
    know raises ValueError naming where it came from."""
    if option:
        return "json" if option.lower() == "json" else "table"
    chosen, source = os.environ.get("AWS_DEFAULT_OUTPUT"), "AWS_DEFAULT_OUTPUT"
    if not chosen:
        chosen, source = _profile_output(profile), "the profile's output setting"
    if not chosen:
        return "table"
    named = chosen.strip().lower()
    if named not in AWS_CLI_OUTPUTS:
        raise ValueError(
            f"{source} is {chosen!r}: not an output format (one of {', '.join(AWS_CLI_OUTPUTS)})"
        )
    return "json" if named == "json" else "table"


def _profile_output(profile: str | None) -> str | None:
    """The ``output`` of the profile in use in the AWS config file; none when there is no
    such profile (the command then says so, with its own exit status)."""
    import botocore.exceptions
    import botocore.session

    try:
        scoped = botocore.session.Session(profile=profile).get_scoped_config()
    except botocore.exceptions.ProfileNotFound:
        return None
    value = scoped.get("output")
    return value if isinstance(value, str) else None


def profile_name(option: str | None) -> str | None:
    """The profile a run uses, for messages: ``--profile``, else AWS_PROFILE."""
    return option or os.environ.get("AWS_PROFILE") or None


def guarded(command: Callable[[], int]) -> int:
    """Run ``command`` and flush stdout; end without a traceback on Ctrl-C (one line on
    stderr, status 130) or when the reader of stdout went away (nothing more, status 141).

    A closed pipe: the Python documentation's idiom (``signal`` module, "Note on SIGPIPE"):
    point stdout at devnull so the interpreter's final flush does not raise again.
    """
    try:
        try:
            code = command()
        finally:  # also after argparse's --help, --version or usage error (SystemExit)
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("\nrds-backup: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        _stdout_to_devnull()
        return Exit.CLOSED_PIPE
    return code


def _stdout_to_devnull() -> None:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)
