"""Database selection on moto (rds_backup/state/selection.py): by name as an instance or a
cluster, by tag at each run, and a clear error naming what cannot be resolved."""

from __future__ import annotations

from typing import Any

import pytest

from events import load_sample
from handlers import start_backup
from rds_backup.settings import load_settings
from rds_backup.state.selection import AMBIGUOUS, CLUSTER_MEMBER, NOT_FOUND, select_databases
from rds_backup.steps.start_backup import StartFailed


def use(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    return load_settings()


def tag(aws: Any, settings: Any, database: str, key: str = "backup", value: str = "nightly"):
    rds = aws.rds(settings.source_region)
    arn = rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"][0]
    rds.add_tags_to_resource(ResourceName=arn["DBInstanceArn"], Tags=[{"Key": key, "Value": value}])
    return arn["DBInstanceArn"]


def cluster(aws: Any, settings: Any, name: str, tags: dict[str, str] | None = None) -> None:
    aws.rds(settings.source_region).create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="app",
        MasterUserPassword="local-only-password",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def snapshots(aws: Any, settings: Any) -> list[str]:
    found = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    return sorted(s["DBSnapshotIdentifier"] for s in found["DBSnapshots"])


def test_given_names_when_resolved_then_each_is_an_instance_named_in_db_identifier(settings, aws):
    selection = select_databases(settings, aws)

    assert [(i.identifier, i.kind, i.reason) for i in selection.items] == [
        ("orders", "instance", "named in DB_IDENTIFIER"),
        ("billing", "instance", "named in DB_IDENTIFIER"),
    ]
    assert selection.items[0].arn.endswith(":db:orders")
    assert selection.problems == []


def test_given_a_mixed_case_name_when_resolved_then_it_is_lower_case_as_rds_stores_it(
    settings, aws, monkeypatch
):
    chosen = use(monkeypatch, DB_IDENTIFIER="Orders")

    selection = select_databases(chosen, aws)

    assert [i.identifier for i in selection.items] == ["orders"]


def test_given_a_name_of_a_cluster_when_resolved_then_it_is_a_cluster(settings, aws, monkeypatch):
    cluster(aws, settings, "ledger")
    chosen = use(monkeypatch, DB_IDENTIFIER="orders,ledger")

    selection = select_databases(chosen, aws)

    assert [(i.identifier, i.kind) for i in selection.items] == [
        ("orders", "instance"),
        ("ledger", "cluster"),
    ]
    assert [i.identifier for i in selection.clusters] == ["ledger"]


def test_given_an_unknown_name_when_resolved_then_a_problem_names_it(settings, aws, monkeypatch):
    chosen = use(monkeypatch, DB_IDENTIFIER="orders,ghost")

    selection = select_databases(chosen, aws)

    (problem,) = selection.problems
    assert (problem.identifier, problem.code) == ("ghost", NOT_FOUND)
    assert "ghost is neither a DB instance nor a DB cluster" in problem.cause
    assert [i.identifier for i in selection.items] == ["orders"]


def test_given_a_name_that_is_an_instance_and_a_cluster_when_resolved_then_it_is_ambiguous(
    settings, aws
):
    cluster(aws, settings, "orders")

    selection = select_databases(settings, aws)

    (problem,) = selection.problems
    assert (problem.identifier, problem.code) == ("orders", AMBIGUOUS)
    assert "both a DB instance and a DB cluster" in problem.cause
    assert "DB_SELECT_TAG" in problem.remedy
    assert [i.identifier for i in selection.items] == ["billing"]


def test_given_a_tag_when_resolved_then_tagged_instances_and_clusters_are_selected_untagged_not(
    settings, aws, monkeypatch
):
    tag(aws, settings, "billing")
    cluster(aws, settings, "ledger", {"backup": "nightly"})
    cluster(aws, settings, "scratch", {"backup": "never"})
    chosen = use(monkeypatch, DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly")

    selection = select_databases(chosen, aws)

    assert [(i.identifier, i.kind, i.reason) for i in selection.items] == [
        ("billing", "instance", "tag backup=nightly"),
        ("ledger", "cluster", "tag backup=nightly"),
    ]


def test_given_a_database_named_and_tagged_when_resolved_then_it_is_selected_once_with_both_reasons(
    settings, aws, monkeypatch
):
    tag(aws, settings, "orders")
    chosen = use(monkeypatch, DB_IDENTIFIER="orders", DB_SELECT_TAG="backup=nightly")

    selection = select_databases(chosen, aws)

    assert [(i.identifier, i.reason) for i in selection.items] == [
        ("orders", "named in DB_IDENTIFIER, tag backup=nightly")
    ]


def test_given_a_tagged_cluster_member_when_resolved_then_a_problem_says_to_tag_the_cluster(
    settings, aws, monkeypatch
):
    cluster(aws, settings, "ledger")
    aws.rds(settings.source_region).create_db_instance(
        DBInstanceIdentifier="ledger-1",
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        Tags=[{"Key": "backup", "Value": "nightly"}],
    )
    chosen = use(monkeypatch, DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly")

    selection = select_databases(chosen, aws)

    (problem,) = selection.problems
    assert (problem.identifier, problem.code) == ("ledger-1", CLUSTER_MEMBER)
    assert "the cluster ledger instead of its instance ledger-1" in problem.remedy
    assert selection.items == []


def test_given_tag_selection_when_a_tag_is_removed_between_nights_then_the_next_night_skips_it(
    settings, aws, monkeypatch, context
):
    arn = tag(aws, settings, "orders")
    tag(aws, settings, "billing")
    use(monkeypatch, DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly")
    first = load_sample("scheduled")

    start_backup.handler(first, context)
    aws.rds(settings.source_region).remove_tags_from_resource(ResourceName=arn, TagKeys=["backup"])
    second = load_sample("scheduled")
    second["time"] = "2026-11-26T03:00:00Z"
    start_backup.handler(second, context)

    assert snapshots(aws, settings) == [
        "rds-backup-billing-20261125-0300",
        "rds-backup-billing-20261126-0300",
        "rds-backup-orders-20261125-0300",
    ]


def test_given_an_untagged_database_when_tag_selected_then_it_gets_no_snapshot(
    settings, aws, monkeypatch, context
):
    tag(aws, settings, "billing")
    use(monkeypatch, DB_IDENTIFIER="", DB_SELECT_TAG="backup=nightly")

    result = start_backup.handler(load_sample("scheduled"), context)

    assert result["created"] == ["rds-backup-billing-20261125-0300"]
    assert snapshots(aws, settings) == ["rds-backup-billing-20261125-0300"]


def test_given_an_ambiguous_name_when_scheduled_then_it_fails_by_name_and_the_others_go(
    settings, aws, context
):
    cluster(aws, settings, "orders")

    with pytest.raises(StartFailed) as raised:
        start_backup.handler(load_sample("scheduled"), context)

    assert raised.value.database == "orders"
    assert raised.value.code == AMBIGUOUS
    assert snapshots(aws, settings) == ["rds-backup-billing-20261125-0300"]


def test_given_a_request_for_a_tagged_database_when_handled_then_it_is_accepted(
    settings, aws, monkeypatch, context
):
    tag(aws, settings, "billing")
    use(monkeypatch, DB_IDENTIFIER="orders", DB_SELECT_TAG="backup=nightly")
    event = load_sample("backup-requested")
    event["detail"]["databases"] = ["Billing"]

    result = start_backup.handler(event, context)

    assert result["created"] == ["rds-backup-billing-20261125-1442"]
