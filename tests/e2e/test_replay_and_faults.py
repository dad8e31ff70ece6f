"""Replays, duplicates and failures on the local AWS: the chain is idempotent, and every
failure reaches a person exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from rds_backup.local.harness import LocalAws
from rds_backup.local.inventory import Inventory
from rds_backup.local.runner import FAILURE_SOURCES
from rds_backup.local.seed import WorldSpec
from rds_backup.model.naming import snapshot_id
from tests.e2e.support import (
    PREFIX,
    emails_about,
    exports_of,
    handler_errors,
    run_nightly,
    snapshots_of,
)

DATABASES = ("orders", "billing")
SOURCE, TARGET = "us-east-1", "us-west-2"


def _state(found: Inventory) -> tuple[object, ...]:
    return (
        sorted((s.region, s.identifier, s.status) for s in found.snapshots),
        sorted((e.region, e.identifier, e.status) for e in found.exports),
        [m.subject for m in found.emails],
    )


def test_given_a_finished_night_when_the_whole_archive_is_replayed_twice_then_nothing_changes(
    local_aws: LocalAws,
) -> None:
    # given
    run_nightly(local_aws)
    before = local_aws.inventory()
    handled = len(local_aws.timeline.invocations())

    # when
    for _ in range(2):
        local_aws.replay()
        local_aws.run_until_quiet()

    # then
    after = local_aws.inventory()
    assert _state(after) == _state(before)
    assert after.new_since(before) == {"snapshots": [], "exports": [], "emails": []}
    replayed = local_aws.timeline.invocations()[handled:]
    assert replayed, "the replays reached the handlers"
    assert all(e.replay for e in replayed)
    assert handler_errors(local_aws) == []


def test_given_a_failed_export_when_fixed_and_the_archive_replayed_then_a_success_email_follows(
    local_aws: LocalAws,
) -> None:
    # given: the export of orders fails in the target region
    local_aws.emulator.fail_exports(match="orders", cause="S3 bucket access denied")
    run = run_nightly(local_aws)
    failed = local_aws.inventory()
    assert [m.outcome for m in emails_about(failed, "orders")] == ["failure"]
    assert "export" in emails_about(failed, "orders")[0].subject.lower()
    assert [m.outcome for m in emails_about(failed, "billing")] == ["success"]
    assert [e.status for e in exports_of(failed, "orders", run)] == ["FAILED"]

    # when: the cause is fixed and the archive replayed
    local_aws.emulator.heal()
    local_aws.replay()
    local_aws.run_until_quiet()

    # then
    fixed = local_aws.inventory()
    assert [m.outcome for m in emails_about(fixed, "orders")] == ["failure", "success"]
    assert [m.outcome for m in emails_about(fixed, "billing")] == ["success"]
    statuses = sorted(e.status for e in exports_of(fixed, "orders", run) if e.region == TARGET)
    assert statuses == ["COMPLETE", "FAILED"]
    assert handler_errors(local_aws) == []


@pytest.mark.parametrize("duplicated", ["rds-events-and-schedule", "every-delivery"])
def test_given_every_event_delivered_three_times_when_the_night_runs_then_each_thing_happens_once(
    local_aws: LocalAws, duplicated: str
) -> None:
    # given: RDS puts each event 3 times and the schedule fires 3 times,
    # or EventBridge hands every event (RDS, forwarded, schedule, failure) to its target 3 times
    if duplicated == "every-delivery":
        local_aws.deliver_each_event(3)
        when = local_aws.fire_schedule()
    else:
        local_aws.emulator.knobs.duplicate = 3
        when = local_aws.fire_schedule()
        local_aws.fire_schedule(when)
        local_aws.fire_schedule(when)

    # when
    local_aws.run_until_quiet()

    # then
    run = when.strftime("%Y%m%d-%H%M")
    found = local_aws.inventory()
    for database in DATABASES:
        assert set(snapshots_of(found, database, run)) == {TARGET}
        exports = exports_of(found, database, run)
        assert [(e.region, e.status) for e in exports] == [(TARGET, "COMPLETE")]
        assert [m.outcome for m in emails_about(found, database)] == ["success"]
    assert len(found.emails) == len(DATABASES)
    assert handler_errors(local_aws) == []
    # each function heard each of its events 3 times per database, and never had to retry:
    # copy_snapshot hears 0042 and 0060 (a copy ended frees a copy slot), export_snapshot
    # 0060 and 0161 (an export ended frees an export slot), notify 0060 and 0161
    heard = Counter((e.function, e.what) for e in local_aws.timeline.invocations())
    per_database = 3 * len(DATABASES)
    assert heard == {
        ("start_backup", "Scheduled Event"): 3,
        ("copy_snapshot", "RDS-EVENT-0042"): per_database,
        ("copy_snapshot", "RDS-EVENT-0060"): per_database,
        ("export_snapshot", "RDS-EVENT-0060"): per_database,
        ("export_snapshot", "RDS-EVENT-0161"): per_database,
        ("notify", "RDS-EVENT-0060"): per_database,
        ("notify", "RDS-EVENT-0161"): per_database,
        # share_vault hears 0060 too (docs/VAULT.md); without VAULT_ACCOUNT_ID it does nothing
        ("share_vault", "RDS-EVENT-0060"): per_database,
    }


@pytest.mark.parametrize("source", FAILURE_SOURCES)
def test_given_a_copy_that_keeps_failing_when_retries_run_out_then_a_failure_email_is_sent(
    local_aws: LocalAws, source: str
) -> None:
    # given: Lambda's on-failure record comes with either documented source, and copies are
    # encrypted with a key that does not exist in the target region
    local_aws.emit_failures_as(source)
    missing_key = f"arn:aws:kms:{TARGET}:123456789012:key/00000000-0000-4000-8000-000000000000"
    local_aws.configure(TARGET_KMS_KEY_ID=missing_key)

    # when
    run = run_nightly(local_aws)

    # then: Lambda's async retries, then the on-failure event, then one failure email each
    found = local_aws.inventory()
    copy_attempts = [e for e in local_aws.timeline.invocations() if e.function == "copy_snapshot"]
    assert copy_attempts
    assert not any(e.ok for e in copy_attempts)
    assert {e.attempt for e in copy_attempts} == {1, 2, 3}
    failures = [e for e in local_aws.timeline.entries if e.kind == "failure"]
    assert len(failures) == len(DATABASES)
    for database in DATABASES:
        assert TARGET not in snapshots_of(found, database, run)
        emails = emails_about(found, database)
        assert [m.outcome for m in emails] == ["failure"]
        assert "copy" in emails[0].subject.lower()


def test_given_ses_rejects_the_sender_when_notify_runs_out_of_retries_then_its_dlq_holds_the_events(
    local_aws: LocalAws,
) -> None:
    # given: the sender address is not verified in SES
    local_aws.configure(SENDER_EMAIL="not-verified@example.com")

    # when
    run = run_nightly(local_aws)

    # then: notify failed 3 times per event, and its failures went to its own DLQ, not the bus.
    # notify tries to send on two events per database: 0060 (the export already completed:
    # moto ends exports at once) and 0161 (the email still unsent, its claim released)
    notify_attempts = [e for e in local_aws.timeline.invocations() if e.function == "notify"]
    assert notify_attempts
    assert not any(e.ok for e in notify_attempts)
    events = ("RDS-EVENT-0060", "RDS-EVENT-0161")
    assert Counter((e.what, e.attempt) for e in notify_attempts) == {
        (event, attempt): len(DATABASES) for event in events for attempt in (1, 2, 3)
    }
    records = local_aws.dead_letters()
    assert {r["requestContext"]["condition"] for r in records} == {"RetriesExhausted"}
    assert sorted(
        (
            r["requestPayload"]["detail"]["EventID"],
            r["requestPayload"]["detail"]["SourceIdentifier"],
        )
        for r in records
    ) == sorted((event, snapshot_id(PREFIX, db, run)) for event in events for db in DATABASES)
    assert local_aws.inventory().emails == ()
    failures = [e for e in local_aws.timeline.entries if e.kind == "failure"]
    assert len(failures) == len(records)
    assert all("dead-letter queue" in e.what for e in failures)  # never the bus (no loop)
    assert {e.what for e in notify_attempts} == set(events)


@pytest.mark.parametrize("spec", [WorldSpec(store_to_source_s3=True)], ids=["source-export"])
def test_given_a_failed_source_export_when_fixed_and_replayed_then_the_source_is_released_after(
    local_aws: LocalAws, spec: WorldSpec
) -> None:
    # given: the source-region export of orders fails
    local_aws.emulator.fail_exports(match="orders", region=SOURCE)
    run = run_nightly(local_aws)
    failed = local_aws.inventory()
    assert [m.outcome for m in emails_about(failed, "orders")] == ["failure"]
    assert SOURCE in snapshots_of(failed, "orders", run), "kept: its export must be re-driven"
    assert SOURCE not in snapshots_of(failed, "billing", run)

    # when
    local_aws.emulator.heal()
    local_aws.replay()
    local_aws.run_until_quiet()

    # then
    fixed = local_aws.inventory()
    assert [m.outcome for m in emails_about(fixed, "orders")] == ["failure", "success"]
    assert SOURCE not in snapshots_of(fixed, "orders", run)
    source_exports = sorted(
        e.status for e in exports_of(fixed, "orders", run) if e.region == SOURCE
    )
    assert source_exports == ["COMPLETE", "FAILED"]
    assert handler_errors(local_aws) == []


def test_given_a_canceled_copy_when_replayed_after_the_fix_then_the_chain_ends_in_success(
    local_aws: LocalAws,
) -> None:
    # given: RDS cancels the cross-region copy of orders (RDS-EVENT-0061, no copy left)
    local_aws.emulator.knobs.cancel_copies.add("orders")
    run = run_nightly(local_aws)
    canceled = local_aws.inventory()
    assert TARGET not in snapshots_of(canceled, "orders", run)
    assert SOURCE in snapshots_of(canceled, "orders", run), "kept: the copy must be re-driven"
    emails = emails_about(canceled, "orders")
    assert [m.outcome for m in emails] == ["failure"]
    assert "copy" in emails[0].subject.lower()

    # when
    local_aws.emulator.heal()
    local_aws.replay()
    local_aws.run_until_quiet()

    # then
    fixed = local_aws.inventory()
    assert snapshots_of(fixed, "orders", run)[TARGET].status == "available"
    assert [(e.region, e.status) for e in exports_of(fixed, "orders", run)] == [
        (TARGET, "COMPLETE")
    ]
    assert [m.outcome for m in emails_about(fixed, "orders")] == ["failure", "success"]
    assert [m.outcome for m in emails_about(fixed, "billing")] == ["success"]
    assert handler_errors(local_aws) == []
