"""The remedy catalogue: every error code botocore's models give for the chain's operations
has a remedy of its own, and the remedies people act on name the exact setting and change."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from rds_backup.model.remedies import (
    CHAIN_OPERATIONS,
    COMMON_CODES,
    EXPORT_FAILURES,
    EXPORT_S3_ACTIONS,
    FAILURE_EVENTS,
    FIELD_CODES,
    KINDS,
    PROJECT_CODES,
    catalogued,
    export_failure,
    remedy_for,
)
from rds_backup.settings import Settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = {
    "SOURCE_REGION": "eu-west-1",
    "TARGET_REGION": "eu-central-1",
    "DB_IDENTIFIER": "orders,billing",
    "SOURCE_BUCKET": "acme-backups-euw1",
    "TARGET_BUCKET": "acme-backups-euc1",
    "KMS_KEY_ID": "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/rds-s3-export",
    "ADMIN_EMAIL": "dba@example.com,oncall@example.com",
}
TARGET_KEY = "arn:aws:kms:eu-central-1:123456789012:key/aaaaaaaa-12ab-34cd-56ef-1234567890ab"
SOURCE_KEY = "arn:aws:kms:eu-west-1:123456789012:key/bbbbbbbb-12ab-34cd-56ef-1234567890ab"
SNAPSHOT = "rds-backup-orders-20261125-0300"


def _settings(**extra: str) -> Settings:
    return parse_settings({**ENVIRONMENT, **extra})


def _model_codes() -> list[tuple[str, str, str]]:
    """(service, operation, code) for every error of every chain operation, in both spellings
    botocore knows: the shape's name and its ``error.code`` (``DBSnapshotNotFoundFault`` and
    ``DBSnapshotNotFound``)."""
    session = botocore.session.get_session()
    triples = set()
    for service, operations in CHAIN_OPERATIONS.items():
        model = session.get_service_model(service)
        for operation in operations:
            for shape in model.operation_model(operation).error_shapes:
                triples.add((service, operation, shape.name))
                code = shape.metadata.get("error", {}).get("code", shape.name)
                triples.add((service, operation, code))
    return sorted(triples)


MODEL_CODES = _model_codes()


def _statements(text: str) -> list[dict[str, Any]]:
    """The key policy statements (JSON objects) a remedy's text holds."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(text[m.start() :])[0] for m in re.finditer(r'\{"Sid"', text)]


def test_given_the_chain_operations_when_looked_up_in_botocore_then_each_is_a_real_operation():
    session = botocore.session.get_session()

    for service, operations in CHAIN_OPERATIONS.items():
        model = session.get_service_model(service)
        assert set(operations) <= set(model.operation_names), service


def test_given_botocores_models_when_their_codes_are_listed_then_the_catalogue_has_them_all():
    assert len(MODEL_CODES) > 150
    missing = [(s, o, c) for s, o, c in MODEL_CODES if not catalogued(c, s)]

    assert missing == []


@pytest.mark.parametrize(("service", "operation", "code"), MODEL_CODES)
def test_given_a_code_of_the_models_when_remedied_then_it_has_its_own_specific_remedy(
    service: str, operation: str, code: str
) -> None:
    settings = _settings(SENDER_EMAIL="backups@example.com")
    for kind in ("instance", "cluster"):
        remedy = remedy_for(
            code,
            service=service,
            operation=operation,
            settings=settings,
            database="orders",
            snapshot=SNAPSHOT,
            kind=kind,
        )
        bare = remedy_for(code, service=service, operation=operation)

        for given in (remedy, bare):
            assert given.kind in KINDS
            assert given.kind != "unknown"
            assert given.code == code
            assert len(given.text) > 60
            assert "no known remedy" not in given.text.lower()
            assert "None" not in given.text
            assert "{f." not in given.text  # a placeholder left unformatted
        assert "<stack>" not in remedy.text
        assert "<account>" not in remedy.text


@pytest.mark.parametrize("code", [*COMMON_CODES, *FIELD_CODES, *PROJECT_CODES, *FAILURE_EVENTS])
def test_given_a_common_field_or_project_code_when_remedied_then_it_is_catalogued(
    code: str,
) -> None:
    remedy = remedy_for(code, service="rds", settings=_settings())

    assert remedy.kind != "unknown"
    assert "None" not in remedy.text


def test_given_the_codes_botocores_standard_retry_mode_retries_when_remedied_then_each_is_retried():
    codes = [
        *ThrottledRetryableChecker._THROTTLED_ERROR_CODES,
        *TransientRetryableChecker._TRANSIENT_ERROR_CODES,
    ]

    kinds = {code: remedy_for(code, service="rds").kind for code in codes}

    assert set(kinds.values()) == {"retried"}, kinds


def test_given_the_codes_the_project_raises_when_remedied_then_each_is_catalogued():
    raised = set()
    for path in (ROOT / "rds_backup").rglob("*.py"):
        if {"local", "model"} & set(path.relative_to(ROOT / "rds_backup").parts):
            continue
        if path.name == "observability.py":  # metric names (DatabasesWithoutRecentDrill), not codes
            continue
        text = path.read_text()
        raised |= set(re.findall(r'\bcode="([A-Za-z]+)"', text))
        raised |= set(re.findall(r'^[A-Z_]+ = "(Database[A-Za-z]+)"', text, re.MULTILINE))

    assert raised >= {"DatabaseNotFound", "PutEventsFailed", "QuotaUnknown"}
    assert [code for code in sorted(raised) if not catalogued(code)] == []
    assert raised <= set(PROJECT_CODES) | set(FIELD_CODES) | {c for _, _, c in MODEL_CODES}


def test_given_either_spelling_of_an_rds_code_when_remedied_then_the_remedy_is_the_same():
    settings = _settings()
    for short, long in (
        ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"),
        ("DBInstanceNotFound", "DBInstanceNotFoundFault"),
        ("SnapshotQuotaExceeded", "SnapshotQuotaExceededFault"),
        ("IamRoleMissingPermissions", "IamRoleMissingPermissionsFault"),
    ):
        first = remedy_for(short, operation="CopyDBSnapshot", settings=settings)
        second = remedy_for(long, operation="copy_db_snapshot", settings=settings)

        assert (first.kind, first.text) == (second.kind, second.text)


def test_given_a_code_nobody_catalogued_when_remedied_then_it_says_so_rather_than_guess():
    remedy = remedy_for("SomethingNewException", service="rds", operation="CreateDBSnapshot")

    assert remedy.kind == "unknown"
    assert not catalogued("SomethingNewException", "rds")


# --- the remedies people act on ---------------------------------------------------------------


def test_given_a_database_that_does_not_exist_when_remedied_then_db_identifier_and_the_selection_are_named():  # noqa: E501
    settings = _settings()

    for code, operation in (
        ("DatabaseNotFound", None),
        ("DBInstanceNotFound", "CreateDBSnapshot"),
        ("DBClusterNotFoundFault", "CreateDBClusterSnapshot"),
    ):
        remedy = remedy_for(code, operation=operation, settings=settings, database="ordrs")

        assert remedy.kind == "config"
        assert "ordrs is neither a DB instance nor a DB cluster" in remedy.text
        assert "SOURCE_REGION=eu-west-1" in remedy.text
        assert "DB_IDENTIFIER=orders,billing names orders, billing" in remedy.text
        assert "redeploy" in remedy.text


def test_given_tag_selection_when_a_database_is_not_found_then_the_tag_is_named_too():
    settings = _settings(DB_SELECT_TAG="backup=nightly")

    remedy = remedy_for("DatabaseNotFound", settings=settings, database="ordrs")

    assert "DB_SELECT_TAG=backup=nightly" in remedy.text


def test_given_an_export_to_a_missing_bucket_when_remedied_then_the_bucket_setting_of_that_region_is_named():  # noqa: E501
    settings = _settings(STORE_TO_SOURCE_S3="true", SOURCE_KMS_KEY_ID=SOURCE_KEY)

    target = remedy_for(
        "InvalidS3BucketFault",
        operation="StartExportTask",
        settings=settings,
        region="eu-central-1",
    )
    source = remedy_for(
        "InvalidS3BucketFault", operation="StartExportTask", settings=settings, region="eu-west-1"
    )

    assert target.kind == "config"
    assert "TARGET_BUCKET=acme-backups-euc1 does not exist in eu-central-1" in target.text
    assert "SOURCE_BUCKET=acme-backups-euw1 does not exist in eu-west-1" in source.text
    assert "snapshot's own region" in target.text


def test_given_the_issue_example_wrapped_in_step_failed_when_remedied_then_the_inner_code_decides():
    cause = (
        "export failed (database=orders snapshot=rds-backup-orders-20261125-0300 "
        "region=eu-central-1): An error occurred (InvalidS3BucketFault) when calling the "
        "StartExportTask operation: The specified bucket does not exist"
    )

    remedy = remedy_for("StepFailed", settings=_settings(), region="eu-central-1", cause=cause)

    assert remedy.code == "InvalidS3BucketFault"
    assert "TARGET_BUCKET=acme-backups-euc1" in remedy.text


def test_given_an_export_role_missing_permissions_when_remedied_then_all_five_s3_actions_and_the_role_are_named():  # noqa: E501
    remedy = remedy_for(
        "IamRoleMissingPermissions",
        operation="StartExportTask",
        settings=_settings(),
        region="eu-central-1",
    )

    assert remedy.kind == "fix"
    for action in ("s3:PutObject*", "s3:GetObject*", "s3:ListBucket", "s3:DeleteObject*"):
        assert action in remedy.text
    assert "s3:GetBucketLocation" in remedy.text
    assert len(EXPORT_S3_ACTIONS) == 5
    assert "EXPORT_ROLE_ARN=arn:aws:iam::123456789012:role/rds-s3-export" in remedy.text
    assert "arn:aws:s3:::acme-backups-euc1/rds-backup/*" in remedy.text
    assert "export.rds.amazonaws.com" in remedy.text
    assert "kms:GenerateDataKey*" in remedy.text


def test_given_a_missing_export_role_when_remedied_then_export_role_arn_is_named():
    remedy = remedy_for("IamRoleNotFound", operation="StartExportTask", settings=_settings())

    assert remedy.kind == "config"
    assert "EXPORT_ROLE_ARN=arn:aws:iam::123456789012:role/rds-s3-export" in remedy.text
    assert "rds-backup-rds-export" in remedy.text


def test_given_a_key_rds_cannot_use_when_remedied_then_the_key_setting_of_that_region_and_a_statement_are_given():  # noqa: E501
    settings = _settings(
        TARGET_KMS_KEY_ID=TARGET_KEY, SOURCE_KMS_KEY_ID=SOURCE_KEY, STORE_TO_SOURCE_S3="true"
    )

    copy = remedy_for("KMSKeyNotAccessibleFault", operation="CopyDBSnapshot", settings=settings)
    source_export = remedy_for(
        "KMSKeyNotAccessibleFault",
        operation="StartExportTask",
        settings=settings,
        region="eu-west-1",
    )

    assert copy.kind == "fix"
    assert f"TARGET_KMS_KEY_ID={TARGET_KEY}" in copy.text
    assert f"SOURCE_KMS_KEY_ID={SOURCE_KEY}" in source_export.text
    statements = _statements(copy.text)
    assert statements[0]["Action"] == ["kms:CreateGrant", "kms:DescribeKey"]
    assert statements[0]["Principal"]["AWS"] == [
        "<role ARN of rds-backup-copy_snapshot>",
        "<role ARN of rds-backup-reconcile>",
    ]
    assert "arn:aws:iam::123456789012:role/rds-s3-export" in source_export.text
    assert "export.rds.amazonaws.com" in source_export.text


def test_given_the_default_key_setting_when_a_copy_key_fails_then_kms_key_id_is_named():
    remedy = remedy_for(
        "KMSKeyNotAccessibleFault", operation="CopyDBSnapshot", settings=_settings()
    )

    assert f"KMS_KEY_ID={ENVIRONMENT['KMS_KEY_ID']}" in remedy.text


def test_given_a_cluster_snapshot_refused_for_the_quota_when_remedied_then_the_cluster_quota_is_named():  # noqa: E501
    settings = _settings()

    cluster = remedy_for(
        "SnapshotQuotaExceeded",
        operation="CreateDBClusterSnapshot",
        settings=settings,
        kind="cluster",
        cause="Cannot create more than 100 manual snapshots",
    )
    instance = remedy_for(
        "SnapshotQuotaExceeded", operation="CreateDBSnapshot", settings=settings, kind="instance"
    )

    assert cluster.kind == "fix"
    assert "ManualClusterSnapshots" in cluster.text
    assert "'Manual DB cluster snapshots'" in cluster.text
    assert "Manual DB instance snapshots" not in cluster.text
    assert "'Manual DB instance snapshots'" in instance.text
    assert "ManualSnapshots Used/Max" in instance.text
    assert "RETENTION_DAYS=15" in instance.text


def test_given_the_copy_limit_when_remedied_then_the_copy_waits():
    remedy = remedy_for(
        "SnapshotQuotaExceeded",
        operation="CopyDBSnapshot",
        cause="Cannot copy more than 20 snapshots across regions",
    )

    assert remedy.kind == "waits"


def test_given_the_export_limit_when_remedied_then_the_export_waits():
    remedy = remedy_for("ExportTaskLimitReachedFault", operation="StartExportTask")

    assert remedy.kind == "waits"
    assert "5" in remedy.text


def test_given_ses_rejecting_the_sender_when_remedied_then_sender_recipients_and_set_are_named():
    with_set = _settings(SENDER_EMAIL="backups@example.com", SES_CONFIGURATION_SET="backups")
    without = _settings()

    named = remedy_for("MessageRejected", service="ses", operation="SendEmail", settings=with_set)
    first_admin = remedy_for("MessageRejected", operation="SendEmail", settings=without)

    assert named.kind == "fix"
    assert "SENDER_EMAIL=backups@example.com" in named.text
    assert "ADMIN_EMAIL=dba@example.com,oncall@example.com" in named.text
    assert "SES_CONFIGURATION_SET=backups" in named.text
    assert "--email-address backups@example.com --region eu-west-1" in named.text
    assert "dba@example.com (the first ADMIN_EMAIL: SENDER_EMAIL is empty)" in first_admin.text


def test_given_access_denied_on_an_operation_when_remedied_then_iam_action_and_roles_are_named():
    settings = _settings()

    copy = remedy_for("AccessDenied", service="rds", operation="CopyDBSnapshot", settings=settings)
    delete = remedy_for("AccessDenied", service="s3", operation="DeleteObjects", settings=settings)
    narrowed = remedy_for(
        "AccessDeniedException",
        operation="StartExportTask",
        step="export_snapshot",
        settings=settings,
    )

    assert copy.kind == "fix"
    assert "allow rds:CopyDBSnapshot" in copy.text
    assert "rds-backup-copy_snapshot and rds-backup-reconcile" in copy.text
    assert "infra/functions/copy_snapshot.yml" in copy.text
    assert "kms:CreateGrant" in copy.text
    assert "allow s3:DeleteObject on arn:aws:s3:::" in delete.text
    assert "rds-backup-cleanup" in delete.text
    assert "The role of rds-backup-export_snapshot" in narrowed.text
    assert "iam:PassRole on arn:aws:iam::123456789012:role/rds-s3-export" in narrowed.text


def test_given_access_denied_on_send_email_when_remedied_then_identity_and_configuration_set_are_named():  # noqa: E501
    settings = _settings(SENDER_EMAIL="backups@example.com", SES_CONFIGURATION_SET="backups")

    remedy = remedy_for("AccessDenied", operation="SendEmail", settings=settings)

    assert "ses:SendEmail" in remedy.text
    assert "identity/backups@example.com" in remedy.text
    assert "SES_CONFIGURATION_SET=backups" in remedy.text


def test_given_rds_throttling_when_remedied_then_it_is_retried_and_the_shared_budget_is_named():
    remedy = remedy_for(
        "ThrottlingException", operation="DescribeDBSnapshots", settings=_settings()
    )

    assert remedy.kind == "retried"
    assert "300 requests in a burst and 12 per second" in remedy.text
    assert "console" in remedy.text
    assert "monitoring" in remedy.text


# --- the RDS export failure events and the task's FailureCause texts ---------------------------

# "Failure messages for Amazon S3 export tasks for Amazon RDS", with the placeholders filled.
DOCUMENTED_CAUSES = {
    "An unknown internal error occurred.": ("ExportInternalError", "retried"),
    "An unknown internal error occurred writing the export task's metadata to the S3 bucket "
    "acme-backups-euc1.": ("ExportMetadataInternalError", "retried"),
    "The RDS export failed to write the export task's metadata because it can't assume the "
    "IAM role arn:aws:iam::123456789012:role/rds-s3-export.": ("ExportCannotAssumeRole", "fix"),
    "The RDS export failed to write the export task's metadata to the S3 bucket "
    "acme-backups-euc1 using the IAM role arn:aws:iam::123456789012:role/rds-s3-export with the "
    "KMS key 1234abcd. Error code: KMS.DisabledException": ("ExportMetadataWriteFailed", "fix"),
    "The IAM role arn:aws:iam::123456789012:role/rds-s3-export isn't authorized to call "
    "s3:PutObject on the S3 bucket acme-backups-euc1. Review your permissions and retry the "
    "export.": ("ExportRoleNotAuthorized", "fix"),
    "KMS key check failed. Check the credentials on your KMS key and try again.": (
        "ExportKmsCheckFailed",
        "fix",
    ),
    "S3 credential check failed. Check the permissions on your S3 bucket and IAM policy.": (
        "ExportS3CheckFailed",
        "fix",
    ),
    "The S3 bucket acme-backups-euc1 isn't valid. Either it isn't located in the current AWS "
    "Region or it doesn't exist. Review your S3 bucket name and retry the export.": (
        "ExportBucketInvalid",
        "config",
    ),
    "The S3 bucket acme-backups-euc1 isn't located in the current AWS Region. Review your S3 "
    "bucket name and retry the export.": ("ExportBucketInvalid", "config"),
}


@pytest.mark.parametrize(("cause", "expected"), list(DOCUMENTED_CAUSES.items()))
def test_given_a_documented_export_failure_cause_when_remedied_then_its_own_remedy_applies(
    cause: str, expected: tuple[str, str]
) -> None:
    name, kind = expected

    found = export_failure(cause)
    remedy = remedy_for(
        "ExportFailed", settings=_settings(), snapshot=SNAPSHOT, region="eu-central-1", cause=cause
    )

    assert found is not None
    assert found.name == name
    assert remedy.kind == kind
    assert "None" not in remedy.text


def test_given_the_export_failure_catalogue_when_listed_then_every_entry_is_reachable():
    found = [export_failure(cause) for cause in DOCUMENTED_CAUSES]
    reached = {failure.name for failure in found if failure is not None}

    assert reached | {"ExportSourceClusterUnreachable", "ExportTablesWithoutPermissions"} == {
        failure.name for failure in EXPORT_FAILURES
    }


def test_given_the_metadata_write_failing_on_the_key_when_remedied_then_the_key_setting_is_named():
    cause = next(c for c in DOCUMENTED_CAUSES if "KMS.DisabledException" in c)

    remedy = remedy_for("ExportFailed", settings=_settings(), region="eu-central-1", cause=cause)

    assert f"KMS_KEY_ID={ENVIRONMENT['KMS_KEY_ID']}" in remedy.text
    assert "enable" in remedy.text


@pytest.mark.parametrize("event", ["RDS-EVENT-0159", "RDS-EVENT-0162"])
def test_given_an_export_failure_event_when_remedied_then_it_is_told_as_a_failed_export(
    event: str,
) -> None:
    remedy = remedy_for(event, settings=_settings(), snapshot=SNAPSHOT, region="eu-central-1")

    assert remedy.code == "ExportFailed"
    assert remedy.kind == "fix"
    assert "RDS-EVENT-0060" in remedy.text
    assert "EXPORT_ROLE_ARN=arn:aws:iam::123456789012:role/rds-s3-export" in remedy.text
