"""cleanup of DB cluster snapshots on moto: 60 days of nightly cluster runs (and an instance's)
mixed with automated, AWS Backup, foreign, another stack's and look-alike cluster snapshots;
only our cluster and DB snapshots past retention go, with the same never-delete rules (the
newest copy per cluster, anything in flight)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.rds.models import rds_backends

from handlers import cleanup as cleanup_handler
from rds_backup.local import limits as local_limits
from rds_backup.local.seed import ACCOUNT, WorldSpec
from rds_backup.model import tags
from rds_backup.model.naming import export_id, run_id, snapshot_id
from rds_backup.steps.cleanup import apply_cleanup, plan_cleanup
from tests.integration.test_cleanup import nightly_run

DAYS = 60
CLUSTER = "analytics"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",), clusters=(CLUSTER,))


def backend(region: str) -> Any:
    return rds_backends[ACCOUNT][region]


def age(region: str, identifier: str, created: datetime) -> None:
    backend(region).cluster_snapshots[identifier].created = created


def cluster_run(settings, when: datetime) -> str:
    """A nightly cluster run as the chain leaves it: a tagged source and its tagged copy."""
    run = run_id(when)
    identifier = snapshot_id(settings.snapshot_prefix, CLUSTER, run)
    source = backend(settings.source_region).create_db_cluster_snapshot(
        CLUSTER,
        identifier,
        tags=tags.as_list(tags.ours(settings, CLUSTER, run, tags.Role.SOURCE, "target")),
    )
    backend(settings.target_region).copy_db_cluster_snapshot(
        source.arn,
        identifier,
        tags=tags.as_list(tags.ours(settings, CLUSTER, run, tags.Role.COPY, "target")),
    )
    for region in (settings.source_region, settings.target_region):
        age(region, identifier, when)
    return identifier


def cluster_snapshot(settings, identifier: str, created: datetime, tag_list=(), kind="manual"):
    made = backend(settings.source_region).create_db_cluster_snapshot(
        CLUSTER, identifier, tags=list(tag_list)
    )
    made.snapshot_type = kind
    age(settings.source_region, identifier, created)


def all_cluster_snapshots(region: str) -> set[str]:
    return set(backend(region).cluster_snapshots)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def history(settings, aws, now) -> dict[str, Any]:
    local_limits.set_quota(None, manual_snapshots=1000, manual_cluster_snapshots=1000)
    src, tgt = settings.source_region, settings.target_region
    start = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    runs = {day: cluster_run(settings, start - timedelta(days=day)) for day in range(DAYS)}
    instance_runs = {
        day: nightly_run(settings, "orders", start - timedelta(days=day)) for day in range(DAYS)
    }
    old = now - timedelta(days=40)
    other_run = tags.ours(settings, CLUSTER, "20200102-0300", tags.Role.SOURCE, "target")
    not_ours = {
        # automated (rds:...), AWS Backup (awsbackup:...), with our tags even
        "rds:analytics-2026-01-01-03-00": ("automated", tags.as_list(other_run)),
        "awsbackup:job-7": ("awsbackup", tags.as_list(other_run)),
        # a foreign manual one, our name without tags, another stack's, a tagged look-alike
        "nightly-manual-analytics": ("manual", ()),
        "rds-backup-analytics-20200101-0300": ("manual", ()),
        "rds-backup-analytics-20200102-0300": (
            "manual",
            tags.as_list(other_run | {tags.STACK: "other-stack"}),
        ),
        f"{runs[30]}-keep": ("manual", tags.as_list(other_run)),
    }
    for identifier, (kind, tag_list) in not_ours.items():
        cluster_snapshot(settings, identifier, old, tag_list, kind)
    # In flight: an export of an expired cluster copy, an expired source whose copy is copying
    exporting = runs[20]
    task = export_id(exporting, tgt)
    aws.rds(tgt).start_export_task(
        ExportTaskIdentifier=task,
        SourceArn=f"arn:aws:rds:{tgt}:{ACCOUNT}:cluster-snapshot:{exporting}",
        S3BucketName=settings.target_bucket,
        IamRoleArn=settings.export_role_arn,
        KmsKeyId=settings.key_for(tgt),
    )
    backend(tgt).export_tasks[task].status = "in_progress"
    copying = runs[21]
    backend(tgt).cluster_snapshots[copying].status = "copying"
    expired = {
        (region, identifier)
        for day, identifier in runs.items()
        if day >= settings.retention_days
        for region in (src, tgt)
    } - {(tgt, exporting), (src, copying), (tgt, copying)}
    expired_instances = {
        (region, identifier)
        for day, identifier in instance_runs.items()
        if day >= settings.retention_days
        for region in (src, tgt)
    }
    return {
        "expired": expired,
        "expired_instances": expired_instances,
        "not_ours": set(not_ours),
        "exporting": exporting,
        "copying": copying,
        "before": {region: all_cluster_snapshots(region) for region in (src, tgt)},
    }


def test_given_60_days_of_cluster_runs_among_others_when_cleaned_then_only_ours_expired_go(
    settings, aws, history, now
):
    src, tgt = settings.source_region, settings.target_region

    result = apply_cleanup(plan_cleanup(settings, aws, now), settings, aws)

    deleted = {tuple(entry.split("/", 1)) for entry in result.deleted}
    assert deleted == history["expired"] | history["expired_instances"]
    for region in (src, tgt):
        gone = {i for (where, i) in history["expired"] if where == region}
        assert all_cluster_snapshots(region) == history["before"][region] - gone
    assert history["not_ours"] <= all_cluster_snapshots(src)
    assert {history["exporting"], history["copying"]} <= all_cluster_snapshots(tgt)
    assert history["copying"] in all_cluster_snapshots(src)


def test_given_only_expired_cluster_copies_when_cleaned_then_the_newest_copy_stays(
    settings, aws, context, now
):
    # given: the cluster's backups stopped 30 days ago; every copy is past retention
    local_limits.set_quota(None, manual_cluster_snapshots=1000)
    runs = [cluster_run(settings, now - timedelta(days=30 + day)) for day in range(5)]

    # when
    cleanup_handler.handler(
        {
            "version": "0",
            "id": "cleanup-1",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": settings.source_region,
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/rds-backup-dev-cleanup"],
            "detail": {},
        },
        context,
    )

    # then: the newest copy (and the newest source) of the cluster is kept
    assert runs[0] in all_cluster_snapshots(settings.target_region)
    assert all_cluster_snapshots(settings.target_region) & set(runs) == {runs[0]}
