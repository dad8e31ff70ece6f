"""Issue 12's promises on the local AWS (the deployed rules, the real handlers, the emulator):
exact ownership against an operator's look-alike, and a late start that re-creates nothing."""

from __future__ import annotations

from datetime import timedelta

from rds_backup.local.faults import Fault
from rds_backup.local.harness import LocalAws
from rds_backup.model.naming import run_time
from tests.e2e.support import emails_about, exports_of, handler_errors, run_nightly, snapshots_of

SOURCE, TARGET = "us-east-1", "us-west-2"


def _keep_a_look_alike(local: LocalAws, region: str, ours: str) -> str:
    """What an operator does in the console to keep a snapshot: copy it, tags and all."""
    look_alike = f"{ours}-keep"
    local.server.client("rds", region).copy_db_snapshot(
        SourceDBSnapshotIdentifier=ours, TargetDBSnapshotIdentifier=look_alike, CopyTags=True
    )
    return look_alike


def _snapshot_ids(local: LocalAws) -> set[tuple[str, str]]:
    return {(s.region, s.identifier) for s in local.inventory().snapshots}


def test_given_an_operators_tagged_look_alike_when_reconcile_and_cleanup_pass_then_it_is_untouched(
    local_aws: LocalAws,
) -> None:
    # given a finished night whose snapshots an operator kept as tagged `-keep` copies
    local_aws.configure(KEEP_SOURCE_SNAPSHOT="true")
    run = run_nightly(local_aws)
    ours = snapshots_of(local_aws.inventory(), "orders", run)
    look_alikes = {
        (region, _keep_a_look_alike(local_aws, region, snapshot.identifier))
        for region, snapshot in ours.items()
    }
    local_aws.run_until_quiet()
    before = local_aws.inventory()

    # when reconcile runs within the hour and cleanup runs past retention
    local_aws.fire_schedule(run_time(run) + timedelta(hours=1), function="reconcile")
    local_aws.run_until_quiet()
    local_aws.fire_schedule(run_time(run) + timedelta(days=60), function="cleanup")
    local_aws.run_until_quiet()

    # then both passes ran ...
    passes = [e.function for e in local_aws.timeline.invocations() if e.ok]
    assert any(f.endswith("reconcile") for f in passes)
    assert any(f.endswith("cleanup") for f in passes)
    # ... and the look-alikes are still there, never copied, exported nor mailed about
    after = local_aws.inventory()
    assert look_alikes <= _snapshot_ids(local_aws)
    assert not [s for s in after.snapshots if s.identifier.endswith("-keep-keep")]
    assert not [e for e in after.exports if "keep" in e.snapshot]
    assert after.new_since(before)["emails"] == []
    assert {s.identifier for s in after.snapshots if s.identifier.endswith("-keep")} == {
        identifier for _, identifier in look_alikes
    }
    assert handler_errors(local_aws) == []


def test_given_a_released_run_when_its_schedule_event_comes_late_then_nothing_is_created(
    local_aws: LocalAws,
) -> None:
    # given a finished night whose source snapshots notify released
    run = run_nightly(local_aws)
    assert set(snapshots_of(local_aws.inventory(), "orders", run)) == {TARGET}
    before = local_aws.inventory()

    # when the same schedule event arrives again, hours late
    local_aws.fire_schedule(run_time(run))
    local_aws.run_until_quiet()

    # then no snapshot is taken of the production database again, nothing is mailed
    assert local_aws.inventory().new_since(before) == {"snapshots": [], "exports": [], "emails": []}
    assert set(snapshots_of(local_aws.inventory(), "orders", run)) == {TARGET}
    assert handler_errors(local_aws) == []


def test_given_a_persistent_fault_delivered_three_times_when_reconcile_keeps_passing_then_one_email(
    local_aws: LocalAws,
) -> None:
    # given a copy that every attempt refuses (the target key is disabled), every event
    # delivered three times (EventBridge is at least once)
    local_aws.faults.add(
        Fault("rds:CopyDBSnapshot", "KMSKeyNotAccessibleFault", "The key is disabled")
    )
    local_aws.deliver_each_event(3)

    # when the night runs and reconcile passes hourly for three hours
    run = run_nightly(local_aws)
    for hours in (1, 2, 3):
        local_aws.fire_schedule(run_time(run) + timedelta(hours=hours), function="reconcile")
        local_aws.run_until_quiet()

    # then each database's failure reached a person exactly once
    found = local_aws.inventory()
    for database in ("orders", "billing"):
        [email] = emails_about(found, database)
        assert email.outcome == "failure"


def test_given_a_mixed_case_database_name_when_the_night_runs_then_it_is_backed_up_as_rds_stores_it(
    local_aws: LocalAws,
) -> None:
    # given DB_IDENTIFIER written the way a person might: `Orders`
    local_aws.configure(DB_IDENTIFIER="Orders,billing")

    # when the night runs
    run = run_nightly(local_aws)

    # then the chain completes under the lower-case name RDS uses, one email each
    found = local_aws.inventory()
    assert set(snapshots_of(found, "orders", run)) == {TARGET}
    assert [e.status for e in exports_of(found, "orders", run)] == ["COMPLETE"]
    assert [m.outcome for m in found.emails] == ["success", "success"]
    assert handler_errors(local_aws) == []
