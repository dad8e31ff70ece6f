"""AWS faults on the local AWS: throttling, quotas, KMS, timeouts mid-step, lost events.
Each ends with nothing lost, nothing done twice, and a person told when it matters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rds_backup.local.faults import Fault
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from tests.e2e.support import emails_about, exports_of, handler_errors, run_nightly, snapshots_of

SOURCE, TARGET = "us-east-1", "us-west-2"
COPY_LIMIT_MESSAGE = "Cannot copy more than 20 snapshots across regions"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",))


def one_clean_chain(local: LocalAws, run: str) -> None:
    """One snapshot per region, one export, one success email: the night as it should be."""
    found = local.inventory()
    assert set(snapshots_of(found, "orders", run)) == {TARGET}  # source released after copy
    assert [e.status for e in exports_of(found, "orders", run)] == ["COMPLETE"]
    assert [m.outcome for m in emails_about(found, "orders")] == ["success"]


def reconcile_at(local: LocalAws, run: str, hours: float) -> None:
    from rds_backup.model.naming import run_time

    local.fire_schedule(run_time(run) + timedelta(hours=hours), function="reconcile")
    local.run_until_quiet()


def test_given_a_fifth_of_all_calls_throttled_when_the_night_runs_then_retries_finish_it(
    local_aws: LocalAws,
) -> None:
    local_aws.faults.random.seed(1)  # a seed whose draws throttle early and often
    local_aws.faults.add(Fault("*", "Throttling", "Rate exceeded", share=0.2))

    run = run_nightly(local_aws)

    one_clean_chain(local_aws, run)
    assert local_aws.faults.faults[0].hits > 0


def test_given_the_copy_limit_full_twice_when_reconcile_runs_then_the_copy_starts_unreported(
    local_aws: LocalAws,
) -> None:
    # given: RDS refuses the first 2 copies for the 20-copies-in-flight limit
    limit = local_aws.faults.add(
        Fault("rds:CopyDBSnapshot", "SnapshotQuotaExceeded", COPY_LIMIT_MESSAGE, times=2)
    )

    # when: the night runs (0042 → refused: waiting, no exception, no Lambda retry)
    run = run_nightly(local_aws)

    # then: the copy waits; nobody is told, nothing failed
    found = local_aws.inventory()
    assert set(snapshots_of(found, "orders", run)) == {SOURCE}
    assert emails_about(found, "orders") == []
    assert handler_errors(local_aws) == []
    assert limit.hits == 1

    # when: reconcile's hourly passes fill the copy slot (refused once more, then started)
    reconcile_at(local_aws, run, 1)
    assert set(snapshots_of(local_aws.inventory(), "orders", run)) == {SOURCE}
    assert limit.hits == 2
    reconcile_at(local_aws, run, 2)

    # then: the chain completes, one success email, never a failure email
    one_clean_chain(local_aws, run)
    assert handler_errors(local_aws) == []
    assert [e for e in local_aws.timeline.entries if e.kind == "failure"] == []


def test_given_the_copy_limit_full_past_the_deadline_when_it_lifts_then_the_copy_starts_unreported(
    local_aws: LocalAws,
) -> None:
    # given: the target region holds no copy slot free all night (AWS's own refusal,
    # "Cannot copy more than 0 snapshots across regions")
    local_aws.set_quota(TARGET, copies=0)
    run = run_nightly(local_aws)
    assert emails_about(local_aws.inventory(), "orders") == []

    # when: reconcile passes before and past STEP_DEADLINE_HOURS (12 h)
    deadline = int(local_aws.environment.get("STEP_DEADLINE_HOURS", "12"))
    for hours in (1, 2, deadline + 1, deadline + 2):
        reconcile_at(local_aws, run, hours)

    # then: waiting is never reported; each pass tried once and stopped (0042 + 4 passes)
    found = local_aws.inventory()
    assert set(snapshots_of(found, "orders", run)) == {SOURCE}
    assert emails_about(found, "orders") == []
    assert handler_errors(local_aws) == []
    assert local_aws.refused_calls["SnapshotQuotaExceeded"] == 5

    # when: the limit lifts (other copies ended) and reconcile runs again
    local_aws.set_quota(TARGET, copies=20)
    reconcile_at(local_aws, run, deadline + 3)

    # then: the copy starts and the chain ends with one success email
    one_clean_chain(local_aws, run)
    assert local_aws.refused_calls["SnapshotQuotaExceeded"] == 5


def test_given_too_many_exports_in_flight_when_they_drain_then_reconcile_exports_and_emails(
    local_aws: LocalAws,
) -> None:
    limit = local_aws.faults.add(Fault("rds:StartExportTask", "ExportTaskLimitReachedFault"))
    run = run_nightly(local_aws)
    assert emails_about(local_aws.inventory(), "orders") == []

    local_aws.faults.faults.remove(limit)  # other exports finished
    reconcile_at(local_aws, run, 1)

    one_clean_chain(local_aws, run)


def test_given_the_target_key_not_accessible_when_copying_then_the_email_names_key_and_fix(
    local_aws: LocalAws,
) -> None:
    local_aws.faults.add(
        Fault("rds:CopyDBSnapshot", "KMSKeyNotAccessibleFault", "The key is disabled")
    )

    run = run_nightly(local_aws)

    [email] = emails_about(local_aws.inventory(), "orders")
    assert email.outcome == "failure"
    key = local_aws.environment["KMS_KEY_ID"]
    assert key in email.html
    assert TARGET in email.html
    assert "key policy" in email.html
    assert set(snapshots_of(local_aws.inventory(), "orders", run)) == {SOURCE}  # kept


@pytest.mark.parametrize(
    "call",
    ["rds:CopyDBSnapshot", "rds:StartExportTask", "rds:CreateDBSnapshot", "rds:DeleteDBSnapshot"],
)
def test_given_a_handler_timing_out_right_after_its_call_when_retried_then_the_step_is_done_once(
    local_aws: LocalAws, call: str
) -> None:
    local_aws.faults.add(Fault(call, "Timeout", after=True, times=1))

    run = run_nightly(local_aws)

    one_clean_chain(local_aws, run)
    assert len(handler_errors(local_aws)) == 1


def test_given_a_timeout_right_after_ses_accepted_the_email_when_retried_then_it_arrives_twice(
    local_aws: LocalAws,
) -> None:
    """Known limit: SES has no idempotency token, so a crash between SES accepting the mail
    and the claim being marked done sends it again. At least once beats at most once."""
    local_aws.faults.add(Fault("ses:SendEmail", "Timeout", after=True, times=1))

    run_nightly(local_aws)

    assert [m.outcome for m in emails_about(local_aws.inventory(), "orders")] == [
        "success",
        "success",
    ]


@pytest.mark.parametrize("lost", ["RDS-EVENT-0042", "RDS-EVENT-0060", "RDS-EVENT-0161"])
def test_given_an_rds_event_lost_when_reconcile_runs_then_the_chain_ends_with_one_email(
    local_aws: LocalAws, lost: str
) -> None:
    local_aws.emulator.knobs.drop.add(lost)
    run = run_nightly(local_aws)
    dropped = [e for e in local_aws.timeline.entries if e.kind == "drop" and e.what == lost]
    assert dropped, f"{lost} was never emitted, so never lost"
    before = [m.outcome for m in emails_about(local_aws.inventory(), "orders")]
    if lost == "RDS-EVENT-0161":
        # notify also hears 0060: the export completes at once on the local AWS, so the
        # success email may already be out (it is on the local AWS); it must not come twice
        assert before in ([], ["success"])
    else:
        assert before == []
    local_aws.emulator.knobs.drop.clear()
    handled = len(local_aws.timeline.invocations())

    for hours in (1, 2, 3):
        reconcile_at(local_aws, run, hours)

    one_clean_chain(local_aws, run)
    reconciled = [
        e for e in local_aws.timeline.invocations()[handled:] if e.function == "reconcile"
    ]
    assert len(reconciled) == 3
    assert all(e.ok for e in reconciled)
    if lost == "RDS-EVENT-0161":
        # the email is reconcile's (it settles the run) only if notify's 0060 did not send it
        sent_by_reconcile = sum(e.result.count('"email":"sent"') for e in reconciled)
        assert sent_by_reconcile == (0 if before else 1)


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders",), store_to_source_s3=True)])
def test_given_the_created_event_lost_with_source_exports_when_reconciled_then_one_pass_does_it(
    local_aws: LocalAws,
) -> None:
    local_aws.emulator.knobs.drop.add("RDS-EVENT-0042")
    run = run_nightly(local_aws)
    local_aws.emulator.knobs.drop.clear()

    reconcile_at(local_aws, run, 1)

    found = local_aws.inventory()
    assert sorted(e.region for e in exports_of(found, "orders", run)) == [SOURCE, TARGET]
    assert [m.outcome for m in emails_about(found, "orders")] == ["success"]


def test_given_every_event_delivered_twice_when_the_night_runs_then_each_thing_happens_once(
    local_aws: LocalAws,
) -> None:
    local_aws.deliver_each_event(2)

    run = run_nightly(local_aws)

    one_clean_chain(local_aws, run)
