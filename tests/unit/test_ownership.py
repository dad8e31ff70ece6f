"""Ownership is exact (docs/ARCHITECTURE.md, principle 8), over random identifiers and tag sets: a
snapshot is ours only when its id is the one derived for its tagged database and run, and
its tags say this stack and a known role. Every path decides through ``tags.owned`` (copy
and export via limits.work_view and snapshots.event_snapshot, release via runs.load_run,
reconcile, status, cleanup via retention), so nothing else is ever copied, exported,
released or deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rds_backup.model import tags
from rds_backup.model.kinds import Kind
from rds_backup.model.naming import snapshot_id
from rds_backup.model.retention import Policy, Snapshot, decide
from rds_backup.settings import parse_settings

SETTINGS = parse_settings(
    {
        "SOURCE_REGION": "us-east-1",
        "TARGET_REGION": "us-west-2",
        "DB_IDENTIFIER": "orders,billing",
        "SOURCE_BUCKET": "src-bucket",
        "TARGET_BUCKET": "tgt-bucket",
        "KMS_KEY_ID": "mrk-00000000000000000000000000000000",
        "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/export",
        "ADMIN_EMAIL": "dba@example.com",
        "STACK_NAME": "rds-backup-prod",
    }
)
DATABASES = st.sampled_from(["orders", "Orders", "billing", "orders-eu", "payroll"])
RUNS = st.sampled_from(["20261125-0300", "20261124-0300", "20261125-0301"])
STACKS = st.sampled_from(["rds-backup-prod", "rds-backup-dev", "", "RDS-BACKUP-PROD"])
ROLES = st.sampled_from(["source", "copy", "backup", ""])


@st.composite
def snapshots(draw: Any) -> dict[str, Any]:
    """A manual snapshot whose id is derived, or a near miss of it, with tags that may or
    may not say it is ours."""
    database, run = draw(DATABASES), draw(RUNS)
    derived = snapshot_id(SETTINGS.snapshot_prefix, database, run)
    identifier = draw(
        st.sampled_from(
            [
                derived,
                derived.upper(),
                f"{derived}-keep",
                f"copy-of-{derived}",
                derived[:-1],
                snapshot_id(SETTINGS.snapshot_prefix, draw(DATABASES), draw(RUNS)),
                snapshot_id("nightly", database, run),
            ]
        )
    )
    kind = draw(st.sampled_from(["snapshot", "cluster-snapshot"]))  # DB or DB cluster snapshot
    tag_map = {
        key: value
        for key, value in (
            (tags.STACK, draw(STACKS)),
            (tags.DATABASE, draw(st.one_of(st.just(database), DATABASES))),
            (tags.RUN, draw(st.one_of(st.just(run), RUNS))),
            (tags.ROLE, draw(ROLES)),
            (tags.EXPORTS, "target"),
        )
        if draw(st.booleans()) or key == tags.EXPORTS or value
    }
    fields = ("DBClusterSnapshot", "cluster-snapshot") if kind == "cluster-snapshot" else None
    name, resource = fields or ("DBSnapshot", "snapshot")
    return {
        f"{name}Identifier": identifier,
        f"{name}Arn": f"arn:aws:rds:us-west-2:123456789012:{resource}:{identifier}",
        "SnapshotType": draw(st.sampled_from(["manual", "manual", "automated", "awsbackup"])),
        "Status": "available",
        "SnapshotCreateTime": datetime(2026, 10, 1, tzinfo=UTC),
        "TagList": tags.as_list(tag_map),
    }


def exactly_ours(snapshot: dict[str, Any]) -> bool:
    found = tags.as_dict(snapshot["TagList"])
    if snapshot["SnapshotType"] != "manual":
        return False
    if found.get(tags.STACK) != SETTINGS.stack_name or found.get(tags.ROLE) not in {
        "source",
        "copy",
    }:
        return False
    if not found.get(tags.DATABASE) or not found.get(tags.RUN):
        return False
    derived = snapshot_id(SETTINGS.snapshot_prefix, found[tags.DATABASE], found[tags.RUN])
    return identifier(snapshot).lower() == derived.lower()


def identifier(snapshot: dict[str, Any]) -> str:
    return str(snapshot.get("DBSnapshotIdentifier") or snapshot["DBClusterSnapshotIdentifier"])


@settings(max_examples=400, deadline=None)
@given(snapshots())
def test_given_any_snapshot_when_ownership_is_decided_then_only_the_exact_identity_is_ours(
    snapshot: dict[str, Any],
) -> None:
    owned = tags.owned(SETTINGS, snapshot, "us-west-2")

    assert (owned is not None) is exactly_ours(snapshot)


@settings(max_examples=100, deadline=None)
@given(st.lists(snapshots(), min_size=1, max_size=30, unique_by=lambda s: identifier(s)))
def test_given_random_snapshot_sets_when_cleanup_decides_then_only_exact_ones_are_deleted(
    found: list[dict[str, Any]],
) -> None:
    # given everything old enough to expire, read the way cleanup reads it
    decided = []
    for raw in found:
        owned = tags.owned(SETTINGS, raw, "us-west-2")
        decided.append(
            Snapshot(
                region="us-west-2",
                identifier=identifier(raw),
                arn=raw.get("DBSnapshotArn") or raw["DBClusterSnapshotArn"],
                status=raw["Status"],
                created=raw["SnapshotCreateTime"],
                database=owned.database if owned else None,
                role=owned.role if owned else None,
                kind=owned.kind if owned else Kind.INSTANCE,
            )
        )
    policy = Policy(retention_days=15, source_region="us-east-1", target_region="us-west-2")

    # when
    decisions = decide(decided, [], policy, datetime(2026, 11, 25, tzinfo=UTC) + timedelta(0))

    # then nothing but an exactly-ours snapshot is ever deleted
    by_id = {identifier(raw): raw for raw in found}
    for decision in decisions:
        if decision.delete:
            assert exactly_ours(by_id[decision.snapshot.identifier])
