"""``rds-backup demo``: one nightly backup end to end on the embedded local AWS
(rds_backup/local/demo.py)."""

from __future__ import annotations

import argparse
from typing import Any

from rds_backup.ops import conventions

NAME = "demo"


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    del common  # the demo runs on the embedded local AWS: no stack, profile or region
    demo: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="run one nightly backup end to end on the embedded local AWS (moto)",
        description="Run one nightly backup end to end on the embedded local AWS (moto, the "
        "RDS event emulator and the real handlers): a timeline, each chain's state and the "
        "emails written as HTML.",
    )
    conventions.add_output_options(demo)
    demo.add_argument(
        "--replay", action="store_true", help="then replay the archive and report what changed"
    )
    demo.add_argument(
        "--fail-export",
        action="store_true",
        help="fail the first database's export (with --replay: fix it, then replay)",
    )
    demo.add_argument(
        "--databases",
        default="orders,billing",
        metavar="NAME,...",
        help="DB instances to back up (default: orders,billing)",
    )
    demo.add_argument(
        "--clusters",
        default="",
        metavar="NAME,...",
        help="DB clusters to add (Aurora PostgreSQL, Aurora MySQL in turn)",
    )
    demo.add_argument(
        "--store-to-source-s3",
        action="store_true",
        help="also export in the source region (STORE_TO_SOURCE_S3=true)",
    )
    demo.add_argument(
        "--keep-source-snapshot",
        action="store_true",
        help="keep the source snapshot after the copy (KEEP_SOURCE_SNAPSHOT=true)",
    )
    demo.add_argument(
        "--notify",
        choices=("per-database", "digest", "failures"),
        default="per-database",
        help="NOTIFY_MODE: an email per database (default), one digest per run, failures only",
    )
    demo.add_argument(
        "--warn-export",
        action="store_true",
        help="the last database's export completes with tables left out (exported with warnings)",
    )
    demo.add_argument(
        "--vault",
        action="store_true",
        help="with a vault account: each copy shared, copied there with its key, unshared "
        "(docs/VAULT.md)",
    )
    demo.add_argument(
        "--drill",
        action="store_true",
        help="a night, then a restore drill of each database on a real PostgreSQL "
        "(rds_backup/local/drill_demo.py)",
    )
    demo.add_argument(
        "--fail-drill",
        action="store_true",
        help="with --drill: the first database's drill fails its SQL check",
    )
    return demo


def run(args: argparse.Namespace) -> int:
    from rds_backup.local.demo import DemoOptions, dumps, run_demo

    if args.drill or args.fail_drill:
        return _drill(args)

    options = DemoOptions(
        databases=tuple(d.strip() for d in args.databases.split(",") if d.strip()),
        clusters=tuple(c.strip() for c in args.clusters.split(",") if c.strip()),
        replay=args.replay,
        fail_export=args.fail_export,
        store_to_source_s3=args.store_to_source_s3,
        keep_source_snapshot=args.keep_source_snapshot,
        notify=args.notify,
        warn_export=args.warn_export,
        vault=args.vault,
        quiet=args.output == "json",
    )
    summary = run_demo(options)
    if args.output == "json":
        print(dumps(summary))
    return 0


def _drill(args: argparse.Namespace) -> int:
    from rds_backup.local.demo import dumps
    from rds_backup.local.drill_demo import DrillDemoOptions, run_drill_demo

    summary = run_drill_demo(
        DrillDemoOptions(
            databases=tuple(d.strip() for d in args.databases.split(",") if d.strip()),
            fail_drill=args.fail_drill,
            quiet=args.output == "json",
        )
    )
    if args.output == "json":
        print(dumps(summary))
    # 1 when the drills did not end as asked: a drill failed that was meant to pass (with
    # --fail-drill, any but the one failing on purpose), or a drill instance was left behind
    failed = sum(1 for d in summary["drills"] if d.get("outcome") != "passed")
    expected = 1 if args.fail_drill else 0
    return 0 if failed == expected and not summary["drill_instances_left"] else 1
