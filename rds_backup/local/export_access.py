"""What RDS's export checks of the export role, done by the local AWS's StartExportTask (moto
checks nothing): a task whose role RDS's export service cannot assume, or whose IAM policy
lacks one of the S3 actions StartExportTask documents, ends FAILED with the FailureCause AWS
documents, and RDS-EVENT-0159 (0162 for a cluster snapshot) follows.

- "StartExportTask" (RDS API Reference), IamRoleArn: the role needs s3:PutObject*,
  s3:GetObject*, s3:ListBucket, s3:DeleteObject* and s3:GetBucketLocation on
  ``arn:aws:s3:::bucket`` and ``arn:aws:s3:::bucket/*``; it is assumed by
  ``export.rds.amazonaws.com`` ("Exporting DB snapshot data to Amazon S3", setting up access).
- "Troubleshooting snapshot exports", failure messages: "The RDS export failed to write the
  export task's metadata because it can't assume the IAM role [role ARN]." and "The IAM role
  [role ARN] isn't authorized to call [S3 action] on the S3 bucket [bucket name]. Review your
  permissions and retry the export." Both are a task's failure, not a refusal of the call.

The role's inline and attached policies are read as ``rds-backup doctor`` reads them
(rds_backup/ops/policy.py: Allow and unconditional Deny, conditions not evaluated). A role
the local AWS does not hold (a bench's made-up ARN) is not checked.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.models import iam_backends

from rds_backup.ops import policy

EXPORT_SERVICE = "export.rds.amazonaws.com"
# The order the API reference lists them in: the first one missing is the one RDS names.
OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject")
BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
ORDER = ("s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:DeleteObject",
         "s3:GetBucketLocation")  # fmt: skip


def failure_cause(task: Any) -> str | None:
    """The FailureCause RDS would give the export ``task`` (moto's ExportTask) for its role,
    or None when the role may do the export (or is not one the local AWS holds)."""
    arn = str(task.iam_role_arn or "")
    role = _role(arn)
    if role is None:
        return None
    if not _trusts_export(role.assume_role_policy_document):
        return (
            "The RDS export failed to write the export task's metadata because it can't "
            f"assume the IAM role {arn}."
        )
    missing = missing_action(_statements(role), str(task.s3_bucket), _objects(task), arn)
    if missing is None:
        return None
    return (
        f"The IAM role {arn} isn't authorized to call {missing} on the S3 bucket "
        f"{task.s3_bucket}. Review your permissions and retry the export."
    )


def missing_action(
    statements: list[policy.Statement], bucket: str, objects: str, role_arn: str
) -> str | None:
    """The first S3 action (in the API reference's order) the statements do not allow."""
    partition = role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"
    resources = {
        **{action: f"arn:{partition}:s3:::{bucket}" for action in BUCKET_ACTIONS},
        **{action: f"arn:{partition}:s3:::{bucket}/{objects}" for action in OBJECT_ACTIONS},
    }
    return next((a for a in ORDER if not policy.allows(statements, a, resources[a])), None)


def _objects(task: Any) -> str:
    """Where the task writes: ``<S3Prefix>/<export id>/...`` (a key under the prefix)."""
    prefix = str(task.s3_prefix or "").strip("/")
    return "/".join(p for p in (prefix, str(task.export_task_identifier), "export_info.json") if p)


def _role(arn: str) -> Any:
    parts = arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    account, partition = parts[4], parts[1]
    backends = iam_backends.get(account)
    if backends is None:
        return None
    name = parts[5].rsplit("/", 1)[-1]
    backend = backends[partition if partition in backends else "aws"]
    return next((r for r in backend.roles.values() if r.name == name), None)


def _statements(role: Any) -> list[policy.Statement]:
    found: list[policy.Statement] = []
    for document in role.policies.values():
        found += policy.statements(document)
    for managed in role.managed_policies.values():
        version = next((v for v in managed.versions if v.is_default), None)
        if version is not None:
            found += policy.statements(version.document)
    return found


def _trusts_export(document: Any) -> bool:
    """Some Allow of sts:AssumeRole names RDS's export service (conditions not evaluated)."""
    text = document if isinstance(document, str) else json.dumps(document)
    return any(
        statement.get("Effect") == "Allow"
        and EXPORT_SERVICE in policy.services(statement)
        and policy.allows([{**statement, "Resource": "*"}], "sts:AssumeRole", "*")
        for statement in policy.statements(text)
    )
