"""The local AWS checks the export role as RDS's export does (rds_backup/local/export_access.py):
a role without its S3 policy, or trusting the wrong service, fails the export with the
FailureCause AWS documents, the failure email says exactly what to change, and after the fix
a replay finishes the run."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta

from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import (
    EXPORT_POLICY_NAME,
    EXPORT_ROLE_NAME,
    export_role_policy,
    trust_policy,
)
from tests.e2e.support import emails_about, run_nightly

ROLE_ARN = f"arn:aws:iam::123456789012:role/{EXPORT_ROLE_NAME}"


def _failed_exports(local: LocalAws) -> dict[str, str]:
    return {
        e.identifier: e.failure_cause for e in local.inventory().exports if e.status == "FAILED"
    }


def test_given_an_export_role_without_its_s3_policy_when_the_night_runs_then_the_export_fails_as_on_aws(  # noqa: E501
    local_aws: LocalAws,
) -> None:
    # given: the export role lost its S3 policy (local up --misconfigure export-role-s3)
    iam = local_aws.server.client("iam", "us-east-1")
    iam.delete_role_policy(RoleName=EXPORT_ROLE_NAME, PolicyName=EXPORT_POLICY_NAME)

    # when
    run_nightly(local_aws)

    # then: both exports failed with the documented text, naming the role, action and bucket
    failed = _failed_exports(local_aws)
    assert len(failed) == 2
    assert set(failed.values()) == {
        f"The IAM role {ROLE_ARN} isn't authorized to call s3:PutObject on the S3 bucket "
        "acme-rds-backup-usw2. Review your permissions and retry the export."
    }
    # and the failure email's remedy names the role, the bucket setting and all five actions
    (email,) = [m for m in emails_about(local_aws.inventory(), "orders") if m.outcome == "failure"]
    body = html.unescape(email.html)
    role = f"The export role EXPORT_ROLE_ARN={ROLE_ARN}"
    assert f"{role} lacks an S3 permission (s3:PutObject)" in body
    assert "TARGET_BUCKET=acme-rds-backup-usw2" in body
    for action in ("s3:PutObject*", "s3:GetObject*", "s3:ListBucket", "s3:DeleteObject*",
                   "s3:GetBucketLocation"):  # fmt: skip
        assert action in body


def test_given_a_policy_without_one_action_when_exported_then_that_action_is_named(
    local_aws: LocalAws,
) -> None:
    document = export_role_policy(["acme-rds-backup-usw2"])
    document["Statement"][0]["Action"] = ["s3:ListBucket"]  # s3:GetBucketLocation dropped
    local_aws.server.client("iam", "us-east-1").put_role_policy(
        RoleName=EXPORT_ROLE_NAME,
        PolicyName=EXPORT_POLICY_NAME,
        PolicyDocument=json.dumps(document),
    )

    run_nightly(local_aws)

    causes = set(_failed_exports(local_aws).values())
    assert causes == {
        f"The IAM role {ROLE_ARN} isn't authorized to call s3:GetBucketLocation on the S3 "
        "bucket acme-rds-backup-usw2. Review your permissions and retry the export."
    }


def test_given_an_export_role_trusting_rds_when_exported_then_rds_cannot_assume_it(
    local_aws: LocalAws,
) -> None:
    local_aws.server.client("iam", "us-east-1").update_assume_role_policy(
        RoleName=EXPORT_ROLE_NAME, PolicyDocument=json.dumps(trust_policy("rds.amazonaws.com"))
    )

    run_nightly(local_aws)

    assert set(_failed_exports(local_aws).values()) == {
        "The RDS export failed to write the export task's metadata because it can't assume "
        f"the IAM role {ROLE_ARN}."
    }


def test_given_the_role_policy_put_back_when_the_window_is_replayed_then_the_run_succeeds(
    local_aws: LocalAws, operator
) -> None:
    iam = local_aws.server.client("iam", "us-east-1")
    iam.delete_role_policy(RoleName=EXPORT_ROLE_NAME, PolicyName=EXPORT_POLICY_NAME)
    run_nightly(local_aws)
    iam.put_role_policy(  # the fix
        RoleName=EXPORT_ROLE_NAME,
        PolicyName=EXPORT_POLICY_NAME,
        PolicyDocument=json.dumps(export_role_policy(["acme-rds-backup-usw2"])),
    )

    since = datetime.now(UTC) - timedelta(hours=1)  # a window that ended 10 minutes ago
    code, _, _ = operator("replay", "--since", since.isoformat(), "--json")
    local_aws.run_until_quiet()

    assert code == 0
    outcomes = [m.outcome for m in emails_about(local_aws.inventory(), "orders")]
    assert outcomes == ["failure", "success"]
    complete = [e for e in local_aws.inventory().exports if e.status == "COMPLETE"]
    assert len(complete) == 2
