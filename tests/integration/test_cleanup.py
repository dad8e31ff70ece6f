"""cleanup on moto: 60 days of nightly runs plus snapshots that are not ours; only our
expired snapshots go, a failed deletion stops nothing, and the plan is the dry run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.rds.models import rds_backends

from events import load_sample
from handlers import cleanup as cleanup_handler
from rds_backup.errors import StepFailed
from rds_backup.local import limits as local_limits
from rds_backup.local.seed import ACCOUNT, WorldSpec
from rds_backup.model import tags
from rds_backup.model.naming import export_id, run_id, snapshot_id
from rds_backup.model.retention import Reason
from rds_backup.ops import commands
from rds_backup.outcomes.reports import remedy_told
from rds_backup.steps.cleanup import CleanupFailed, _snapshot_of, apply_cleanup, plan_cleanup

DAYS = 60
DATABASES = ("orders", "billing")


def backend(region: str) -> Any:
    return rds_backends[ACCOUNT][region]


def age(region: str, identifier: str, created: datetime) -> None:
    backend(region).database_snapshots[identifier].created = created


def nightly_run(settings, database: str, when: datetime) -> str:
    """What the chain leaves behind for one run: a tagged source and its tagged copy.

    Made on moto's backend directly (same objects the API makes, 10x faster to seed);
    cleanup itself only ever sees them through the API.
    """
    run = run_id(when)
    identifier = snapshot_id(settings.snapshot_prefix, database, run)
    source = backend(settings.source_region).create_db_snapshot(
        database,
        identifier,
        tags=tags.as_list(tags.ours(settings, database, run, tags.Role.SOURCE, "target")),
    )
    backend(settings.target_region).copy_db_snapshot(
        source.db_snapshot_arn,
        identifier,
        tags=tags.as_list(tags.ours(settings, database, run, tags.Role.COPY, "target")),
    )
    for region in (settings.source_region, settings.target_region):
        age(region, identifier, when)
    return identifier


def foreign(settings, aws, identifier: str, created: datetime, tag_list=()) -> None:
    aws.rds(settings.source_region).create_db_snapshot(
        DBInstanceIdentifier="orders", DBSnapshotIdentifier=identifier, Tags=list(tag_list)
    )
    age(settings.source_region, identifier, created)


def rename(region: str, old: str, new: str, snapshot_type: str) -> None:
    """moto refuses ``awsbackup:`` ids through the API; AWS Backup makes them, so fake one."""
    snapshots = backend(region).database_snapshots
    snapshot = snapshots.pop(old)
    snapshot.db_snapshot_identifier = new
    snapshot.snapshot_type = snapshot_type
    snapshots[new] = snapshot


def all_snapshots(aws, region: str) -> set[str]:
    """Every snapshot of the region, of every type (moto's describe hides ``awsbackup``)."""
    return {s.db_snapshot_identifier for s in backend(region).database_snapshots.values()}


def count_calls(aws, settings) -> Counter[str]:
    calls: Counter[str] = Counter()

    def hook(model, **_: Any) -> None:
        calls[model.name] += 1

    for region in (settings.source_region, settings.target_region):
        for client in (aws.rds(region), aws.s3(region)):
            client.meta.events.register("before-call.*.*", hook)
    return calls


def fail(aws, region: str, operation: str, code: str, identifier: str | None = None) -> None:
    """Make one RDS operation fail (for one snapshot id, or always) with an AWS error code."""

    def hook(params, **_: Any):
        if identifier is None or params["body"].get("DBSnapshotIdentifier") == identifier:
            error = {"Error": {"Code": code, "Message": f"injected {code}"}}
            return AWSResponse("https://rds.local", 400, {}, None), error
        return None

    aws.rds(region).meta.events.register(f"before-call.rds.{operation}", hook)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def days() -> int:
    """How many nightly runs to seed; tests of one mechanism use fewer to stay fast."""
    return DAYS


SHORT = pytest.mark.parametrize("days", [22])


@pytest.fixture
def stopped() -> timedelta:
    """How long ago the last nightly run was (backups may have stopped)."""
    return timedelta(0)


@pytest.fixture
def history(settings, aws, now, days, stopped) -> dict[str, Any]:
    """Nightly runs per database (sources and copies), plus everything cleanup must spare."""
    # 60 nightly runs of each database exceed AWS's default 100 manual snapshots per region
    # (enforced in moto): a real account that keeps them has the quota raised.
    local_limits.set_quota(None, manual_snapshots=1000)
    src, tgt = settings.source_region, settings.target_region
    start = (now - stopped - timedelta(hours=1)).replace(second=0, microsecond=0)
    runs = {
        (database, day): nightly_run(settings, database, start - timedelta(days=day))
        for database in DATABASES
        for day in range(days)
    }
    old = now - timedelta(days=40)
    # Not ours: a foreign manual snapshot, one with our name but no tags, another stack's.
    foreign(settings, aws, "nightly-manual-orders", old)
    foreign(settings, aws, "rds-backup-orders-20200101-0300", old)
    other = tags.ours(settings, "orders", "20200102-0300", tags.Role.SOURCE, "target")
    foreign(
        settings,
        aws,
        "rds-backup-orders-20200102-0300",
        old,
        tags.as_list(other | {tags.STACK: "other-stack"}),
    )
    # AWS Backup: one with SnapshotType awsbackup, one listed as manual; both carry our tags.
    ours_tags = tags.as_list(tags.ours(settings, "orders", "20200103-0300", tags.Role.COPY, "t"))
    foreign(settings, aws, "backup-job-1", old, ours_tags)
    rename(src, "backup-job-1", "awsbackup:job-1", "awsbackup")
    foreign(settings, aws, "backup-job-2", old, ours_tags)
    rename(src, "backup-job-2", "awsbackup:job-2", "manual")
    # Automated snapshots: moto makes one per instance at creation; make them old too.
    automated = {
        s.db_snapshot_identifier
        for s in backend(src).database_snapshots.values()
        if s.snapshot_type == "automated"
    }
    for identifier in automated:
        age(src, identifier, old)
    # In flight: an export of an expired copy, and an expired source whose copy is copying.
    exporting = runs[("orders", 16)]
    task = export_id(exporting, tgt)
    aws.rds(tgt).start_export_task(
        ExportTaskIdentifier=task,
        SourceArn=f"arn:aws:rds:{tgt}:{ACCOUNT}:snapshot:{exporting}",
        S3BucketName=settings.target_bucket,
        IamRoleArn=settings.export_role_arn,
        KmsKeyId=settings.key_for(tgt),
    )
    backend(tgt).export_tasks[task].status = "in_progress"
    # A finished export of another expired copy must not protect it (moto: "complete").
    done = runs[("orders", 17)]
    aws.rds(tgt).start_export_task(
        ExportTaskIdentifier=export_id(done, tgt),
        SourceArn=f"arn:aws:rds:{tgt}:{ACCOUNT}:snapshot:{done}",
        S3BucketName=settings.target_bucket,
        IamRoleArn=settings.export_role_arn,
        KmsKeyId=settings.key_for(tgt),
    )
    copying = runs[("billing", 18)]
    backend(tgt).database_snapshots[copying].status = "copying"
    expired = {
        (region, identifier)
        for (database, day), identifier in runs.items()
        if day >= settings.retention_days  # age is day + 1h
        for region in (src, tgt)
    }
    expired -= {(tgt, exporting), (src, copying), (tgt, copying)}
    return {
        "runs": runs,
        "expired": expired,
        "automated": automated,
        "exporting": exporting,
        "copying": copying,
        "before": {region: all_snapshots(aws, region) for region in (src, tgt)},
    }


def test_given_60_days_of_runs_and_snapshots_not_ours_when_cleaned_then_only_our_expired_go(
    settings, aws, history, now
):
    src, tgt = settings.source_region, settings.target_region
    calls = count_calls(aws, settings)

    result = apply_cleanup(plan_cleanup(settings, aws, now), settings, aws)

    deleted = {tuple(entry.split("/", 1)) for entry in result.deleted}
    assert deleted == history["expired"]
    assert len(deleted) == 2 * 2 * (DAYS - settings.retention_days) - 3
    for region in (src, tgt):
        gone = {identifier for (where, identifier) in history["expired"] if where == region}
        assert all_snapshots(aws, region) == history["before"][region] - gone
    survivors = all_snapshots(aws, src)
    assert history["automated"] <= survivors
    assert {
        "nightly-manual-orders",
        "rds-backup-orders-20200101-0300",
        "rds-backup-orders-20200102-0300",
        "awsbackup:job-1",
        "awsbackup:job-2",
        history["copying"],
    } <= survivors
    assert {history["exporting"], history["copying"]} <= all_snapshots(aws, tgt)
    assert calls["ListTagsForResource"] == 0
    # one listing per region for each kind, in pages of 100 (DescribeDBSnapshots' MaxRecords
    # maximum, RDS API Reference): the manual snapshots of a region, ours and others'
    manual = {
        region: sum(
            1 for s in backend(region).database_snapshots.values() if s.snapshot_type == "manual"
        )
        + len({i for (where, i) in history["expired"] if where == region})
        for region in (src, tgt)
    }
    assert calls == {
        "DescribeDBSnapshots": sum(-(-count // 100) for count in manual.values()),
        "DescribeDBClusterSnapshots": 2,
        "DescribeExportTasks": 2,
        # the selection now, once: a database that left it keeps its snapshots
        "DescribeDBInstances": 1,
        "DescribeDBClusters": 1,
        "DeleteDBSnapshot": len(history["expired"]),
    }


@SHORT
def test_given_snapshots_in_flight_and_not_ours_when_planned_then_each_keep_has_its_reason(
    settings, aws, history, now, days
):
    src, tgt = settings.source_region, settings.target_region

    plan = plan_cleanup(settings, aws, now)

    reasons = {(row["region"], row["id"]): row["reason"] for row in plan.to_rows()}
    assert reasons[(tgt, history["exporting"])] == Reason.EXPORT_IN_FLIGHT
    assert reasons[(src, history["copying"])] == Reason.COPY_IN_FLIGHT
    assert reasons[(tgt, history["copying"])] == Reason.NOT_SETTLED
    assert reasons[(src, "nightly-manual-orders")] == Reason.NOT_OURS
    assert reasons[(src, "rds-backup-orders-20200102-0300")] == Reason.NOT_OURS
    assert reasons[(src, "awsbackup:job-2")] == Reason.NOT_OURS
    assert (src, "awsbackup:job-1") not in reasons  # SnapshotType awsbackup: never listed
    newest = history["runs"][("orders", 0)]
    assert reasons[(tgt, newest)] == Reason.WITHIN_RETENTION
    expired = history["runs"][("orders", days - 1)]
    assert reasons[(src, expired)] == reasons[(tgt, expired)] == Reason.EXPIRED


@SHORT
def test_given_one_deletion_fails_when_cleaned_then_the_rest_go_and_it_raises_at_the_end(
    settings, aws, history, now
):
    tgt = settings.target_region
    stuck = history["runs"][("billing", 19)]
    fail(aws, tgt, "DeleteDBSnapshot", "InvalidDBSnapshotState", stuck)

    with pytest.raises(CleanupFailed) as raised:
        apply_cleanup(plan_cleanup(settings, aws, now), settings, aws)

    failure = raised.value
    assert failure.step == "cleanup"
    assert (failure.snapshot, failure.region, failure.database) == (stuck, tgt, "billing")
    assert failure.code == "InvalidDBSnapshotState"
    assert set(failure.result.deleted) == {f"{r}/{i}" for r, i in history["expired"]} - {
        f"{tgt}/{stuck}"
    }
    assert stuck in all_snapshots(aws, tgt)


@SHORT
@pytest.mark.parametrize("stopped", [timedelta(days=30)])
def test_given_backups_stopped_a_month_ago_when_cleaned_then_the_newest_ones_stay(
    settings, aws, history, now, monkeypatch
):
    monkeypatch.setenv("MIN_KEEP", "3")
    cleanup_handler.load_settings.cache_clear()
    settings = cleanup_handler.load_settings()
    src, tgt = settings.source_region, settings.target_region
    runs = history["runs"]

    plan = plan_cleanup(settings, aws, now)
    apply_cleanup(plan, settings, aws)

    reasons = {(r["region"], r["id"]): r["reason"] for r in plan.to_rows()}
    for database in DATABASES:
        newest, second, third = (runs[(database, day)] for day in range(3))
        assert reasons[(src, newest)] == reasons[(tgt, newest)] == Reason.NEWEST_AVAILABLE
        assert reasons[(tgt, second)] == reasons[(tgt, third)] == Reason.MIN_KEEP
        assert reasons[(src, second)] == Reason.EXPIRED
        ours = {i for i in all_snapshots(aws, tgt) if i.startswith(f"rds-backup-{database}-")}
        assert len(ours) == 3 + 1  # + one in flight (orders: exporting, billing: copying)


@SHORT
def test_given_one_region_cannot_be_read_when_planned_then_it_fails_clearly_and_deletes_nothing(
    settings, aws, history, now
):
    fail(aws, settings.target_region, "DescribeExportTasks", "AccessDenied")

    with pytest.raises(StepFailed) as raised:
        plan_cleanup(settings, aws, now)

    assert (raised.value.step, raised.value.region) == ("cleanup", settings.target_region)
    assert raised.value.code == "AccessDenied"
    told = remedy_told(settings, raised.value)
    assert "The role of rds-backup-cleanup" in told
    assert "rds:DescribeExportTasks" in told  # the action it lacks, named
    for region, before in history["before"].items():
        assert all_snapshots(aws, region) == before


@SHORT
def test_given_a_dry_run_when_planned_then_nothing_is_deleted_and_apply_runs_that_plan(
    settings, aws, history, now
):
    plan = plan_cleanup(settings, aws, now)
    before = {region: all_snapshots(aws, region) for region in history["before"]}

    assert before == history["before"]
    rows = plan.to_rows()
    assert {(r["region"], r["id"]) for r in rows if r["decision"] == "delete"} == history["expired"]
    assert all(
        {"region", "id", "database", "age_days", "decision", "reason"} <= set(r) for r in rows
    )
    assert plan.as_dict()["delete"] == len(history["expired"])

    result = apply_cleanup(plan, settings, aws)

    assert {tuple(entry.split("/", 1)) for entry in result.deleted} == history["expired"]


@SHORT
def test_given_a_snapshot_deleted_by_hand_after_planning_when_applied_then_it_counts_as_gone(
    settings, aws, history, now
):
    plan = plan_cleanup(settings, aws, now)
    by_hand = history["runs"][("orders", 20)]
    aws.rds(settings.source_region).delete_db_snapshot(DBSnapshotIdentifier=by_hand)

    result = apply_cleanup(plan, settings, aws)

    assert result.already_gone == [f"{settings.source_region}/{by_hand}"]
    assert len(result.deleted) == len(history["expired"]) - 1


@SHORT
def test_given_the_daily_schedule_when_the_handler_runs_then_it_returns_a_summary(
    settings, aws, history, context
):
    summary = cleanup_handler.handler(load_sample("scheduled"), context)

    assert summary["deleted"] == len(history["expired"])
    assert summary["failed"] == []
    assert summary["kept"] > 0


@pytest.fixture
def exports(settings, aws, history, monkeypatch) -> dict[str, list[str]]:
    """Export objects in both buckets: ours expired, ours recent, in flight, and foreign keys."""
    monkeypatch.setenv("DELETE_OLD_EXPORTS", "true")
    cleanup_handler.load_settings.cache_clear()
    prefix = settings.export_s3_prefix
    runs = history["runs"]
    # A run whose snapshots are gone already (e.g. deleted by hand) but past retention.
    gone = snapshot_id(settings.snapshot_prefix, "orders", "20240101-0300")
    layout = {
        "expired": [
            (settings.target_bucket, tgt_key(prefix, runs[("orders", 18)], settings.target_region)),
            (
                settings.target_bucket,
                tgt_key(prefix, runs[("orders", 19)], settings.target_region, 2),
            ),
            (settings.target_bucket, tgt_key(prefix, gone, settings.target_region)),
        ],
        "kept": [
            (settings.target_bucket, tgt_key(prefix, runs[("orders", 3)], settings.target_region)),
            (settings.target_bucket, tgt_key(prefix, history["exporting"], settings.target_region)),
            (settings.target_bucket, f"{prefix}/someone-elses-export/part-0.parquet"),
            (
                settings.target_bucket,
                f"other/{export_id(runs[('orders', 18)], settings.target_region)}/x",
            ),
            (settings.source_bucket, f"{prefix}/rds-backup-payroll-20240101-0300-us-east-1/x"),
        ],
    }
    for bucket, key in layout["expired"] + layout["kept"]:
        region = (
            settings.target_region if bucket == settings.target_bucket else settings.source_region
        )
        aws.s3(region).put_object(Bucket=bucket, Key=key, Body=b"parquet")
    return {name: [f"{bucket}/{key}" for bucket, key in items] for name, items in layout.items()}


def tgt_key(prefix: str, snapshot: str, region: str, attempt: int = 1) -> str:
    return f"{prefix}/{export_id(snapshot, region, attempt)}/orders/part-0.parquet"


def all_keys(aws, settings) -> set[str]:
    keys = set()
    for region, bucket in (
        (settings.source_region, settings.source_bucket),
        (settings.target_region, settings.target_bucket),
    ):
        for item in aws.s3(region).list_objects_v2(Bucket=bucket).get("Contents", []):
            keys.add(f"{bucket}/{item['Key']}")
    return keys


@SHORT
def test_given_delete_old_exports_when_cleaned_then_only_our_expired_export_folders_go(
    aws, exports, now
):
    settings = cleanup_handler.load_settings()

    plan = plan_cleanup(settings, aws, now)
    result = apply_cleanup(plan, settings, aws)

    assert all_keys(aws, settings) == set(exports["kept"])
    assert len(result.exports_deleted) == 3
    assert result.export_objects_deleted == 3
    assert [folder.snapshot for folder in plan.exports if "20240101" in folder.export_id] == [
        "rds-backup-orders-20240101-0300"
    ]


@SHORT
def test_given_a_snapshot_that_cannot_be_deleted_when_cleaned_then_its_export_stays_too(
    aws, exports, history, now
):
    settings = cleanup_handler.load_settings()
    stuck = history["runs"][("orders", 18)]
    fail(aws, settings.target_region, "DeleteDBSnapshot", "InvalidDBSnapshotState", stuck)

    with pytest.raises(CleanupFailed):
        apply_cleanup(plan_cleanup(settings, aws, now), settings, aws)

    remaining = all_keys(aws, settings)
    assert any(export_id(stuck, settings.target_region) in key for key in remaining)
    assert len(remaining - set(exports["kept"])) == 1


def test_given_export_folder_names_when_read_then_only_ids_derived_from_our_snapshots_match():
    region = "us-west-2"
    short = "rds-backup-orders-20261101-0300"
    long = "rds-backup-" + "a-very-long-database-name-for-reporting" + "-20261101-0300"
    assert export_id(long, region) != f"{long}-{region}"  # shortened with a hash

    assert _snapshot_of(export_id(short, region), region, []) == short
    assert _snapshot_of(export_id(short, region, 3), region, []) == short
    assert _snapshot_of(export_id(long, region), region, []) is None
    assert _snapshot_of(export_id(long, region, 2), region, [short, long]) == long
    assert _snapshot_of(f"{short}-{region}-a1", region, []) is None
    assert _snapshot_of(f"{short}-us-east-1", region, [short]) is None
    assert _snapshot_of("someone-elses-export", region, [short]) is None


LONG_NAME = "a-very-long-database-name-for-reporting"


@pytest.mark.parametrize("spec", [WorldSpec(databases=(LONG_NAME,), store_to_source_s3=True)])
def test_given_a_hashed_export_of_a_gone_snapshot_when_cleaned_then_both_buckets_lose_it(
    settings, aws, monkeypatch
):
    # given a long database name (export ids shortened with a hash), an old run whose
    # snapshots are already gone, and its exports left in both buckets
    monkeypatch.setenv("DELETE_OLD_EXPORTS", "true")
    cleanup_handler.load_settings.cache_clear()
    settings = cleanup_handler.load_settings()
    run = "20261001-0300"
    identifier = snapshot_id(settings.snapshot_prefix, LONG_NAME, run)
    folders = {}
    for region, bucket in (
        (settings.source_region, settings.source_bucket),
        (settings.target_region, settings.target_bucket),
    ):
        rds = aws.rds(region)
        if region == settings.source_region:
            rds.create_db_snapshot(DBInstanceIdentifier=LONG_NAME, DBSnapshotIdentifier=identifier)
        else:
            rds.copy_db_snapshot(
                SourceDBSnapshotIdentifier=(
                    f"arn:aws:rds:{settings.source_region}:{ACCOUNT}:snapshot:{identifier}"
                ),
                TargetDBSnapshotIdentifier=identifier,
                KmsKeyId=settings.keys.target,
                SourceRegion=settings.source_region,
            )
        task = export_id(identifier, region)
        assert task != f"{identifier}-{region}"  # shortened with a hash
        rds.start_export_task(
            ExportTaskIdentifier=task,
            SourceArn=f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:{identifier}",
            S3BucketName=bucket,
            IamRoleArn=settings.export_role_arn,
            KmsKeyId=settings.key_for(region),
        )
        key = f"{settings.export_s3_prefix}/{task}/db/part-0.parquet"
        aws.s3(region).put_object(Bucket=bucket, Key=key, Body=b"parquet")
        folders[region] = f"s3://{bucket}/{settings.export_s3_prefix}/{task}/"
    for region in (settings.target_region, settings.source_region):
        aws.rds(region).delete_db_snapshot(DBSnapshotIdentifier=identifier)

    # when
    plan = plan_cleanup(settings, aws, datetime(2026, 11, 25, tzinfo=UTC))

    # then both folders are found through RDS's export records, and only those
    assert sorted(folder.uri for folder in plan.exports) == sorted(folders.values())
    assert {folder.snapshot for folder in plan.exports} == {identifier}


def printed(lines: list[str]):
    return lambda line: lines.extend(str(line).splitlines())


@SHORT
def test_given_expired_exports_when_cleanup_is_dry_run_then_the_plan_lists_each_export_folder(
    aws, exports, now, monkeypatch
):
    settings = cleanup_handler.load_settings()
    monkeypatch.setattr(commands.clock, "now", lambda: now)
    lines: list[str] = []

    summary = commands.cleanup(settings, aws, dry_run=True, out=printed(lines))

    expired = {f"s3://{key.rsplit('/', 2)[0]}/" for key in exports["expired"]}
    listed = {row["uri"] for row in summary["plan"]["exports"]}
    assert listed == expired
    assert all(any(uri in line and "delete" in line for line in lines) for uri in expired)
    assert "EXPORT FOLDER" in "\n".join(lines)
    assert lines[-1].endswith("(dry run: nothing deleted)")
    assert "3 export folder(s) to delete" in lines[-1]
    assert all_keys(aws, settings) == set(exports["expired"]) | set(exports["kept"])


@SHORT
def test_given_the_plan_when_cleanup_is_applied_then_the_same_rows_print_with_what_happened(
    aws, exports, history, now, monkeypatch
):
    settings = cleanup_handler.load_settings()
    monkeypatch.setattr(commands.clock, "now", lambda: now)
    stuck = history["runs"][("orders", 18)]
    fail(aws, settings.target_region, "DeleteDBSnapshot", "InvalidDBSnapshotState", stuck)
    dry: list[str] = []
    applied: list[str] = []
    plan = commands.cleanup(settings, aws, dry_run=True, out=printed(dry))["plan"]

    summary = commands.cleanup(settings, aws, dry_run=False, out=printed(applied))

    assert summary["plan"]["snapshots"] == plan["snapshots"]
    outcomes = summary["result"]["outcomes"]
    assert outcomes[f"{settings.target_region}/{stuck}"].startswith("failed: ")
    kept = [uri for uri, what in outcomes.items() if what.startswith("kept: its snapshot")]
    assert len(kept) == 1
    assert export_id(stuck, settings.target_region) in kept[0]
    assert sum(what.startswith("deleted (") for what in outcomes.values()) == 2
    assert "OUTCOME" in applied[0]
    assert len(applied) == len(dry) + 1  # the same rows, then what was done
    assert applied[-1].startswith("done: ")
    assert applied[-1].endswith("1 failed")
    assert "1 deletion(s) failed" in summary["error"]


@SHORT
def test_given_exports_kept_by_configuration_when_dry_run_then_the_plan_says_none_are_touched(
    aws, settings, history, now, monkeypatch
):
    monkeypatch.setattr(commands.clock, "now", lambda: now)
    lines: list[str] = []

    summary = commands.cleanup(settings, aws, dry_run=True, out=printed(lines))

    assert summary["plan"]["exports"] == []
    assert any("DELETE_OLD_EXPORTS=false" in line for line in lines)
