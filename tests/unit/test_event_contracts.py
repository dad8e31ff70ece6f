"""Contracts: every sample event parses into its model; RDS events classify by EventID."""

from __future__ import annotations

import json

import pytest

from events import (
    BackupRequestedEvent,
    CopyCheckDueEvent,
    CopyFinishedEvent,
    LambdaFailureEvent,
    RdsEventKind,
    RdsSnapshotEvent,
    ScheduledEvent,
    SnapshotQuotaEvent,
    load_sample,
    sample_names,
)
from events.drill import DrillCheckDueEvent, DrillFinishedEvent, RdsDatabaseEvent
from events.parse import parse_event
from events.probe import ProbeRequest
from events.vault import SharedWithVaultEvent, VaultCopyFinishedEvent
from rds_backup.errors import InvalidEvent
from tests.conftest import SHARED_SAMPLES

MODELS = {
    "scheduled": ScheduledEvent,
    "backup-requested": BackupRequestedEvent,
    "lambda-invocation-failure": LambdaFailureEvent,
    "lambda-invocation-failure-aws-source": LambdaFailureEvent,
    "snapshot-quota-reached": SnapshotQuotaEvent,
    "cluster-copy-check-due": CopyCheckDueEvent,
    "cluster-copy-finished": CopyFinishedEvent,
    "drill-check-due": DrillCheckDueEvent,
    "drill-finished": DrillFinishedEvent,
    # Restore drills: RDS's events of a drill instance or cluster (RDS User Guide, "Amazon RDS
    # event categories and event messages": DB instance and DB cluster events), and what
    # check_drill asks the probe (a synchronous invocation, not an event).
    "rds-instance-0043-restored": RdsDatabaseEvent,
    "rds-instance-0005-created": RdsDatabaseEvent,
    "rds-instance-0003-deleted": RdsDatabaseEvent,
    "rds-cluster-0170-created": RdsDatabaseEvent,
    "drill-probe-request": ProbeRequest,
    # The vault account (docs/VAULT.md): the share announced to it, its copy reported back.
    "snapshot-shared-with-vault": SharedWithVaultEvent,
    "vault-copy-finished": VaultCopyFinishedEvent,
}
KINDS = {
    "rds-0042-snapshot-created": RdsEventKind.SNAPSHOT_CREATED,
    "rds-0060-copy-finished": RdsEventKind.COPY_FINISHED,
    "rds-0061-copy-canceled": RdsEventKind.COPY_CANCELED,
    "rds-0159-export-failed": RdsEventKind.EXPORT_FAILED,
    "rds-0160-export-canceled": RdsEventKind.EXPORT_CANCELED,
    "rds-0161-export-completed": RdsEventKind.EXPORT_COMPLETED,
    "rds-cluster-0075-snapshot-created": RdsEventKind.SNAPSHOT_CREATED,
    "rds-cluster-0164-export-completed": RdsEventKind.EXPORT_COMPLETED,
}


def test_every_sample_has_a_contract():
    assert set(sample_names()) == set(MODELS) | set(KINDS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_given_a_sample_when_parsed_then_it_matches_its_model(name):
    parsed = parse_event(load_sample(name), MODELS[name])

    assert isinstance(parsed, MODELS[name])


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_given_an_rds_sample_when_parsed_then_it_is_classified_by_event_id(name, kind):
    parsed = parse_event(load_sample(name), RdsSnapshotEvent)

    assert parsed.kind is kind


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_given_an_rds_event_without_event_id_when_parsed_then_the_message_classifies_it(name, kind):
    raw = load_sample(name)
    del raw["detail"]["EventID"]

    assert parse_event(raw, RdsSnapshotEvent).kind is kind


# Every documented text of the events the chain uses (RDS User Guide, "DB snapshot events" and
# Aurora's "DB cluster snapshot events"), and the older variants seen in captured events.
DOCUMENTED_TEXTS = [
    ("Creating manual snapshot.", RdsEventKind.SNAPSHOT_CREATING),
    ("Manual snapshot created.", RdsEventKind.SNAPSHOT_CREATED),
    ("Manual snapshot created", RdsEventKind.SNAPSHOT_CREATED),
    ("Automated snapshot created.", RdsEventKind.AUTOMATED_SNAPSHOT_CREATED),
    ("Deleted user snapshot.", RdsEventKind.SNAPSHOT_DELETED),
    ("Deleted manual snapshot", RdsEventKind.SNAPSHOT_DELETED),
    ("Started copy of snapshot s1 from region us-east-1.", RdsEventKind.COPY_STARTED),
    (
        "Finished copy of snapshot s1 from region us-east-1 in 12 minutes.",
        RdsEventKind.COPY_FINISHED,
    ),
    ("Finished copy of snapshot s1", RdsEventKind.COPY_FINISHED),
    ("Canceled snapshot copy request of s1 from region us-east-1.", RdsEventKind.COPY_CANCELED),
    ("Canceled cross region copy of snapshot s1", RdsEventKind.COPY_CANCELED),
    ("The snapshot export task failed.", RdsEventKind.EXPORT_FAILED),
    ("Snapshot export task failed.", RdsEventKind.EXPORT_FAILED),
    ("The snapshot export task was canceled.", RdsEventKind.EXPORT_CANCELED),
    ("Snapshot export task canceled.", RdsEventKind.EXPORT_CANCELED),
    ("The snapshot export task completed.", RdsEventKind.EXPORT_COMPLETED),
    ("DB cluster snapshot export task completed", RdsEventKind.EXPORT_COMPLETED),
    ("Creating manual cluster snapshot", RdsEventKind.SNAPSHOT_CREATING),
    ("Manual cluster snapshot created", RdsEventKind.SNAPSHOT_CREATED),
    # local (same-region) copies are not the chain's
    ("Finished copy of snapshot s1 in region us-east-1.", RdsEventKind.OTHER),
    ("Canceled snapshot copy request of s1 in region us-east-1.", RdsEventKind.OTHER),
]


@pytest.mark.parametrize(("message", "kind"), DOCUMENTED_TEXTS)
def test_given_a_documented_message_without_event_id_when_classified_then_its_kind_is_known(
    message, kind
):
    raw = load_sample("rds-0042-snapshot-created")
    del raw["detail"]["EventID"]
    raw["detail"]["Message"] = message

    assert parse_event(raw, RdsSnapshotEvent).kind is kind


@pytest.mark.parametrize("path", sorted(SHARED_SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_given_the_documented_aws_samples_when_parsed_then_they_match_the_rds_contract(path):
    parsed = parse_event(json.loads(path.read_text()), RdsSnapshotEvent)

    assert parsed.snapshot.account == "123456789012"
    assert parsed.kind in {RdsEventKind.SNAPSHOT_DELETED, RdsEventKind.SNAPSHOT_CREATING}


def test_given_a_forwarded_event_when_parsed_then_region_and_account_come_from_the_arn():
    raw = load_sample("rds-0060-copy-finished")
    raw["region"] = "us-east-1"  # cross-region forwarding rewrites the envelope
    raw.pop("account")

    parsed = parse_event(raw, RdsSnapshotEvent)

    assert parsed.snapshot.region == "us-west-2"
    assert parsed.snapshot.account == "123456789012"
    assert parsed.snapshot.identifier == "rds-backup-orders-20261125-0300"


def test_given_an_unknown_event_id_when_classified_then_it_is_other():
    raw = load_sample("rds-0042-snapshot-created")
    raw["detail"]["EventID"] = "RDS-EVENT-0999"

    assert parse_event(raw, RdsSnapshotEvent).kind is RdsEventKind.OTHER


def test_given_a_malformed_event_when_parsed_then_the_error_names_fields_not_values():
    raw = load_sample("rds-0042-snapshot-created")
    raw["detail"]["SourceArn"] = "arn:aws:s3:::secret-bucket-name"
    del raw["time"]

    with pytest.raises(InvalidEvent) as raised:
        parse_event(raw, RdsSnapshotEvent)

    assert "time" in str(raised.value)
    assert "detail.SourceArn" in str(raised.value)
    assert "secret-bucket-name" not in str(raised.value)


def test_given_a_schedule_event_as_a_backup_request_when_parsed_as_either_then_it_is_a_schedule():
    parsed = parse_event(load_sample("scheduled"), ScheduledEvent | BackupRequestedEvent)

    assert isinstance(parsed, ScheduledEvent)


def test_given_a_replayed_event_when_parsed_then_replay_name_is_kept():
    raw = load_sample("rds-0161-export-completed") | {"replay-name": "fix-kms-2026-11-25"}

    assert parse_event(raw, RdsSnapshotEvent).is_replay


def test_given_a_failure_destination_event_when_parsed_then_the_function_and_cause_are_known():
    parsed = parse_event(load_sample("lambda-invocation-failure"), LambdaFailureEvent)

    assert parsed.detail.function_name == "rds-backup-dev-copy_snapshot"
    assert parsed.detail.response_payload is not None
    assert "KMSKeyNotAccessibleFault" in parsed.detail.response_payload.error_message


def test_given_a_step_failure_record_when_parsed_then_its_facts_are_data_not_text():
    # given the sample: copy_snapshot's StepFailed as the reported() edge writes it
    parsed = parse_event(load_sample("lambda-invocation-failure"), LambdaFailureEvent)
    assert parsed.detail.response_payload is not None

    # when its record is read
    record = parsed.detail.response_payload.record

    # then every fact is a field
    assert record is not None
    assert (record.step, record.code) == ("copy", "KMSKeyNotAccessibleFault")
    assert (record.database, record.region) == ("orders", "us-west-2")
    assert record.snapshot == "rds-backup-orders-20261125-0300"
    assert record.operation == "CopyDBSnapshot"  # the remedy is worded from it at report time
    assert record.message.startswith("copy failed (database=orders")
    assert record.facts == [record]


def test_given_a_failure_that_is_no_record_when_parsed_then_it_has_no_facts():
    # given a Lambda timeout: the runtime's own message, not one of our records
    event = load_sample("lambda-invocation-failure")
    payload = event["detail"]["responsePayload"]
    payload["errorMessage"] = "2026-11-25T03:24:58Z Task timed out after 900.10 seconds"
    payload["errorType"] = "Sandbox.Timedout"

    parsed = parse_event(event, LambdaFailureEvent)

    assert parsed.detail.response_payload is not None
    assert parsed.detail.response_payload.record is None


def test_given_the_record_kind_when_compared_then_producer_and_contract_agree():
    from typing import get_args

    from events.lambda_failure import FailureRecord
    from rds_backup.errors import FAILURE_RECORD

    assert get_args(FailureRecord.model_fields["kind"].annotation) == (FAILURE_RECORD,)


def test_given_the_drill_finished_sample_when_parsed_then_its_result_is_a_drill_result():
    from rds_backup.model.drills import DrillResult, Outcome

    parsed = parse_event(load_sample("drill-finished"), DrillFinishedEvent)

    result = DrillResult.model_validate(parsed.detail.result)
    assert result.outcome is Outcome.PASSED
    assert result.restore_seconds == 875.0
    assert result.rpo_seconds == 21593.0
    assert [c.name for c in result.checks] == ["engine", "orders rows"]
