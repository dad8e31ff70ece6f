"""Aurora and Multi-AZ DB clusters through the whole chain, in-process on moto: the cluster
snapshot (derived name, our tags), RDS-EVENT-0075 → CopyDBClusterSnapshot into the target
region (target-region key, SourceRegion presigning, tags), the copy's end observed by a
one-time schedule (no RDS event exists for it), the export of the cluster copy, the export
events 0162/0163/0164 → one email per run outcome, and KEEP_SOURCE_SNAPSHOT."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from moto.scheduler.models import scheduler_backends

from events import load_sample
from handlers import check_copy, copy_snapshot, export_snapshot, notify, reconcile, start_backup
from rds_backup.local.seed import WorldSpec
from rds_backup.model import tags
from rds_backup.state.copy_checks import BACKOFF, schedule_name
from tests.support import CallRecorder, backend, sent_emails

RUN = "20261125-0300"
SNAPSHOT = f"rds-backup-analytics-{RUN}"
ACCOUNT = "123456789012"
SOURCE_ARN = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:{SNAPSHOT}"
COPY_ARN = f"arn:aws:rds:us-west-2:{ACCOUNT}:cluster-snapshot:{SNAPSHOT}"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",), clusters=("analytics",))


@pytest.fixture
def calls(aws, settings):
    recorder = CallRecorder()
    for region in (settings.source_region, settings.target_region):
        recorder.attach(aws, "rds", region)
    return recorder


def scheduled() -> dict[str, Any]:
    raw = load_sample("scheduled")
    raw["time"] = "2026-11-25T03:00:00Z"
    return raw


def cluster_event(event_id: str, arn: str, message: str = "") -> dict[str, Any]:
    raw = load_sample("rds-cluster-0075-snapshot-created")
    raw["detail"].update(
        EventID=event_id,
        SourceArn=arn,
        SourceIdentifier=SNAPSHOT,
        Message=message or raw["detail"]["Message"],
    )
    raw["resources"] = [arn]
    return raw


def pending_checks() -> list[dict[str, Any]]:
    """The copy checks arranged in the source region, as Scheduler holds them."""
    backend = scheduler_backends[ACCOUNT]["us-east-1"]
    found = []
    for group in backend.schedule_groups.values():
        for schedule in group.schedules.values():
            found.append(
                {
                    "name": schedule.name,
                    "expression": schedule.schedule_expression,
                    "target": schedule.target,
                    "after": schedule.action_after_completion,
                }
            )
    return found


def fire(check: dict[str, Any]) -> dict[str, Any]:
    """What Scheduler puts on the bus when the check is due (and it deletes itself)."""
    target = check["target"]
    params = target["EventBridgeParameters"]
    backend = scheduler_backends[ACCOUNT]["us-east-1"]
    for group in backend.schedule_groups.values():
        group.schedules.pop(check["name"], None)
    return {
        "version": "0",
        "id": f"check-{check['name']}",
        "detail-type": params["DetailType"],
        "source": params["Source"],
        "account": ACCOUNT,
        "time": "2026-11-25T03:20:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(target["Input"]),
    }


def finished_event(outcome: str) -> dict[str, Any]:
    raw = load_sample("cluster-copy-finished")
    raw["detail"].update(SourceArn=COPY_ARN, Outcome=outcome, Status=outcome)
    return raw


def describe_cluster_snapshot(aws, region: str) -> dict[str, Any] | None:
    found = aws.rds(region).describe_db_cluster_snapshots(
        SnapshotType="manual",
        Filters=[{"Name": "db-cluster-snapshot-id", "Values": [SNAPSHOT]}],
    )["DBClusterSnapshots"]
    return found[0] if found else None


def run_until_copy(context) -> None:
    start_backup.handler(scheduled(), context)
    copy_snapshot.handler(cluster_event("RDS-EVENT-0075", SOURCE_ARN), context)


def test_given_a_cluster_when_the_schedule_fires_then_a_tagged_cluster_snapshot_is_created(
    settings, aws, context, calls
):
    result = start_backup.handler(scheduled(), context)

    assert SNAPSHOT in result["created"]
    [(region, params)] = calls.of("CreateDBClusterSnapshot")
    assert region == "us-east-1"
    assert params["DBClusterIdentifier"] == "analytics"
    assert params["DBClusterSnapshotIdentifier"] == SNAPSHOT
    assert tags.as_dict(params["Tags"]) == {
        tags.STACK: settings.stack_name,
        tags.DATABASE: "analytics",
        tags.RUN: RUN,
        tags.ROLE: "source",
        tags.EXPORTS: "target",
    }
    # the instance still gets a DB snapshot, never a cluster snapshot
    assert [p["DBInstanceIdentifier"] for _, p in calls.of("CreateDBSnapshot")] == ["orders"]


def test_given_a_duplicated_schedule_when_started_twice_then_one_cluster_snapshot(
    settings, aws, context, calls
):
    start_backup.handler(scheduled(), context)
    again = start_backup.handler(scheduled(), context)

    assert SNAPSHOT in again["existing"]
    assert len(calls.of("CreateDBClusterSnapshot")) == 1


def test_given_0075_when_handled_then_the_cluster_copy_starts_and_its_first_check_is_arranged(
    settings, aws, context, calls
):
    start_backup.handler(scheduled(), context)
    bodies: list[str] = []
    aws.rds("us-west-2").meta.events.register(
        "before-send.rds.CopyDBClusterSnapshot",
        lambda request, **_: bodies.append(unquote(str(request.body))),
    )

    result = copy_snapshot.handler(cluster_event("RDS-EVENT-0075", SOURCE_ARN), context)

    assert f"copy us-east-1/{SNAPSHOT}" in result["copies"]["started"]
    [(region, params)] = calls.of("CopyDBClusterSnapshot")
    assert region == "us-west-2"
    assert params["SourceDBClusterSnapshotIdentifier"] == SOURCE_ARN
    assert params["TargetDBClusterSnapshotIdentifier"] == SNAPSHOT
    assert ":us-west-2:" in params["KmsKeyId"]
    # boto3 turned SourceRegion into a URL presigned for the source region
    [body] = bodies
    assert "PreSignedUrl=https://rds.us-east-1.amazonaws.com" in body
    copy = describe_cluster_snapshot(aws, "us-west-2")
    assert copy is not None
    assert tags.owned(settings, copy, "us-west-2").role is tags.Role.COPY
    [check] = pending_checks()
    assert check["name"] == schedule_name(SNAPSHOT, 1)
    assert check["expression"].startswith("at(")
    assert check["after"] == "DELETE"
    assert check["target"]["RoleArn"] == settings.copy_check_role_arn
    assert check["target"]["Arn"].endswith(":event-bus/default")
    assert json.loads(check["target"]["Input"])["SourceArn"] == COPY_ARN


def test_given_0075_delivered_three_times_then_one_copy_and_one_check(
    settings, aws, context, calls
):
    start_backup.handler(scheduled(), context)
    for _ in range(3):
        copy_snapshot.handler(cluster_event("RDS-EVENT-0075", SOURCE_ARN), context)

    assert len(calls.of("CopyDBClusterSnapshot")) == 1
    assert len(pending_checks()) == 1


def test_given_the_copy_is_available_when_checked_then_copy_finished_is_put_and_exported(
    settings, aws, context, calls, monkeypatch
):
    run_until_copy(context)
    put: list[dict[str, Any]] = []
    original = aws.events("us-east-1").put_events

    def spy(**kwargs):
        put.extend(kwargs["Entries"])
        return original(**kwargs)

    monkeypatch.setattr(aws.events("us-east-1"), "put_events", spy)
    [check] = pending_checks()

    result = check_copy.handler(fire(check), context)

    assert result == {"outcome": "available"}
    [entry] = put
    assert (entry["Source"], entry["DetailType"]) == ("rds-backup", "Cluster Copy Finished")
    assert json.loads(entry["Detail"])["Outcome"] == "available"
    # the same export handler as for instances, on the project's own event
    exported = export_snapshot.handler(finished_event("available"), context)
    # (the instance's copy is waiting too: the fill starts it as well, work-conserving)
    assert f"export us-west-2/{SNAPSHOT}" in exported["exports"]["started"]
    [(region, params)] = [
        c for c in calls.of("StartExportTask") if "analytics" in c[1]["SourceArn"]
    ]
    assert region == "us-west-2"
    assert params["SourceArn"] == COPY_ARN
    assert params["S3BucketName"] == settings.target_bucket


def test_given_the_copy_still_copying_when_checked_then_the_next_check_comes_later(
    settings, aws, context, monkeypatch
):
    run_until_copy(context)
    backend("us-west-2").cluster_snapshots[SNAPSHOT].status = "copying"
    [first] = pending_checks()

    result = check_copy.handler(fire(first), context)

    assert result == {"outcome": "copying", "next_check": "arranged"}
    [second] = pending_checks()
    assert second["name"] == schedule_name(SNAPSHOT, 2)
    assert json.loads(second["target"]["Input"])["Attempt"] == 2
    assert BACKOFF[1] > BACKOFF[0]


def test_given_the_copy_failed_when_checked_then_one_failure_email(settings, aws, context):
    run_until_copy(context)
    backend("us-west-2").cluster_snapshots[SNAPSHOT].status = "failed"
    [check] = pending_checks()
    assert check_copy.handler(fire(check), context) == {"outcome": "failed"}

    first = notify.handler(finished_event("failed"), context)
    again = notify.handler(finished_event("failed"), context)

    assert first["email"] == "sent"
    assert again["email"] == "already-sent"
    [email] = sent_emails()
    assert "analytics" in email.subject


def test_given_the_copy_vanished_while_its_source_remains_then_vanished(settings, aws, context):
    run_until_copy(context)
    aws.rds("us-west-2").delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=SNAPSHOT)
    [check] = pending_checks()

    assert check_copy.handler(fire(check), context) == {"outcome": "vanished"}


def test_given_a_replayed_check_after_retention_removed_both_then_nothing_happens(
    settings, aws, context
):
    run_until_copy(context)
    [check] = pending_checks()
    event = fire(check)
    for region in ("us-east-1", "us-west-2"):
        aws.rds(region).delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=SNAPSHOT)
    event["replay-name"] = "rds-backup-replay"

    assert check_copy.handler(event, context) == {"skipped": "run gone"}
    assert pending_checks() == []


@pytest.mark.parametrize("keep", [False, True])
def test_given_the_cluster_export_completes_then_one_success_email_and_source_per_setting(
    settings, aws, context, monkeypatch, keep
):
    monkeypatch.setenv("KEEP_SOURCE_SNAPSHOT", str(keep).lower())
    from rds_backup.settings import load_settings

    load_settings.cache_clear()
    run_until_copy(context)
    export_snapshot.handler(finished_event("available"), context)
    completed = cluster_event("RDS-EVENT-0164", COPY_ARN, "Snapshot export task completed.")

    results = [notify.handler(completed, context) for _ in range(3)]

    assert [r["email"] for r in results] == ["sent", "already-sent", "already-sent"]
    assert results[0]["outcome"] == "succeeded"
    assert (describe_cluster_snapshot(aws, "us-east-1") is not None) is keep
    assert describe_cluster_snapshot(aws, "us-west-2") is not None
    [email] = sent_emails()
    assert "analytics" in email.subject


def test_given_a_cluster_run_when_status_runs_then_it_shows_as_a_cluster(settings, aws, context):
    from rds_backup.ops.runs_table import recent_runs, render

    run_until_copy(context)
    export_snapshot.handler(finished_event("available"), context)

    rows = {row.database: row for row in recent_runs(settings, aws, datetime.now(UTC), 3650)}

    assert rows["analytics"].kind == "cluster"
    assert rows["analytics"].copy == "available"
    assert rows["orders"].kind == "instance"
    assert "analytics (cluster)" in render(list(rows.values()), settings)


def test_given_check_copy_failed_after_its_retries_then_the_email_names_the_cluster_run(
    settings, aws, context
):
    failure = load_sample("lambda-invocation-failure")
    failure["detail"]["requestPayload"] = load_sample("cluster-copy-check-due")
    failure["detail"]["requestContext"]["functionArn"] = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{settings.stack_name}-check_copy:$LATEST"
    )

    result = notify.handler(failure, context)

    assert result["email"] == "sent"
    [email] = sent_emails()
    assert "ledger" in email.subject
    assert "check_copy" in email.body


def hourly(at: str) -> dict[str, Any]:
    return load_sample("scheduled") | {"time": at}


def test_given_the_copy_checks_were_lost_when_reconciled_then_the_cluster_chain_finishes(
    settings, aws, context
):
    # given: the cluster copy is available but its check never fired (nor any later one)
    run_until_copy(context)
    for check in pending_checks():
        fire(check)  # fired into the void: check_copy never ran

    # when: the hourly reconcile, twice
    first = reconcile.handler(hourly("2026-11-25T04:00:00Z"), context)
    reconcile.handler(hourly("2026-11-25T05:00:00Z"), context)
    completed = cluster_event("RDS-EVENT-0164", COPY_ARN, "Snapshot export task completed.")
    late = notify.handler(completed, context)

    # then: the export was started from the queue once and the run told once
    assert {
        "snapshot": f"export us-west-2/{SNAPSHOT}",
        "action": "started from the queue",
        "free": "5",
    } in first["actions"]
    tasks = aws.rds("us-west-2").describe_export_tasks()["ExportTasks"]
    assert [t["SourceArn"] for t in tasks].count(COPY_ARN) == 1
    assert late["email"] == "already-sent"
    assert len([e for e in sent_emails() if "analytics" in e.subject]) == 1
