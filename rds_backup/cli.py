"""``rds-backup`` console script: the demo on the local AWS, and operator commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rds-backup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run one scheduled backup on the embedded local AWS")
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from rds_backup.local.demo import run_demo

        summary = run_demo()
        if args.json:
            print(json.dumps(summary, indent=2, default=str))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
