"""``rds-backup doctor``: the read-only pre-flight of a deployed stack
(rds_backup/ops/doctor.py)."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.aws import Aws
from rds_backup.cli.operator import with_session
from rds_backup.ops import conventions
from rds_backup.ops.conventions import Exit

NAME = "doctor"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from rds_backup.ops.doctor import CHECKS

    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        parents=[common],
        help="read-only pre-flight: one line per check (ok/warn/fail) and its fix; exit 1 on "
        "any fail (docs/DEPLOY.md, 'Before the first night: run doctor')",
        description="Read-only pre-flight of a deployed stack: one line per check (ok, warn or "
        "fail), what was found and the fix; exit status 1 when any check fails.",
        epilog="checks:\n" + "\n".join(f"  {name:<19} {meaning}" for name, meaning, _ in CHECKS),
        formatter_class=conventions.HelpFormatter,
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from rds_backup.ops import doctor

    def checked(aws: Aws, region: str | None) -> int:
        results = doctor.run_doctor(aws, args.stack, region)
        print(doctor.dumps(results) if args.output == "json" else doctor.render(results))
        return Exit.OK if doctor.summary(results)["ok"] else Exit.FAILED

    return with_session(args, checked)
