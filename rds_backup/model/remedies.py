"""What a person does about each failure the chain can meet: a remedy per error code.

Every AWS operation the chain calls is listed in :data:`CHAIN_OPERATIONS`; every error code
botocore's models give for those operations, the codes every AWS API can return, the codes
seen in the field that no model lists, the project's own codes and the failure texts of the
RDS export failure events have a :class:`Remedy` here (tests/unit/test_remedies.py builds the
list from botocore's models, so a new operation or code without a remedy fails the suite).

A remedy names the setting or resource and the exact change, as ``rds-backup doctor`` does
(rds_backup/ops/doctor.py), or belongs to one of a few classes (:data:`KINDS`): a limit the
step waits out, a transient fault the chain retries, a resource that vanished, a request the
chain should never have sent. :func:`remedy_for` is the one entry: it takes the failure's
facts as data (code, service, operation, step, database, snapshot, region, kind) and the
stack's settings, and words the remedy with their values.

This module imports no AWS client and reads no model at run time: the catalogue is data.

Facts used, by the AWS page they come from (titles):
- "Request throttling for the Amazon RDS API" (RDS User Guide): per account and region,
  300 requests in a burst, 12 per second sustained, shared by every caller (SDKs, CLI,
  console, infrastructure-as-code and monitoring tools); refusal ``ThrottlingException``
  "Rate exceeded".
- "Common Errors" (RDS API Reference): AccessDeniedException, IncompleteSignature,
  InternalFailure, InvalidAction, InvalidClientTokenId, InvalidParameterCombination,
  InvalidParameterValue, InvalidQueryParameter, MalformedQueryString, MissingAction,
  MissingAuthenticationToken, MissingParameter, NotAuthorized, OptInRequired,
  RequestExpired (more than 15 minutes off the request's date stamp), ServiceUnavailable,
  ThrottlingException, ValidationError.
- "StartExportTask" (RDS API Reference), IamRoleArn: the role needs s3:PutObject*,
  s3:GetObject*, s3:ListBucket, s3:DeleteObject*, s3:GetBucketLocation on
  ``arn:aws:s3:::bucket`` and ``arn:aws:s3:::bucket/*``; KmsKeyId: the caller needs
  kms:CreateGrant and kms:DescribeKey, which can be set in the key policy.
- "Exporting DB snapshot data to Amazon S3" (RDS User Guide): the bucket must be in the
  snapshot's region; the role trusts ``export.rds.amazonaws.com``; "The KMS key policy must
  include both the kms:CreateGrant and kms:DescribeKey permissions"; a deny statement in the
  key policy must exclude ``export.rds.amazonaws.com``; a Lambda function that exports needs
  kms:DescribeKey; a cross-account key needs kms:Encrypt, kms:Decrypt, kms:ReEncrypt*,
  kms:GenerateDataKey*, kms:CreateGrant, kms:DescribeKey, kms:RetireGrant for the role;
  Limitations: no two export tasks of one snapshot at once, no colon in the S3 prefix, after
  an export completes "you might have to wait a short time to start another export task
  from the same DB snapshot", up to five concurrent export tasks per account, and the
  ``ExportTaskAlreadyExists`` text "The export task with the ID xxxxx already exists".
- "Failure messages for Amazon S3 export tasks for Amazon RDS" (RDS User Guide) and
  "Troubleshooting snapshot exports" (Aurora User Guide): the export task's FailureCause
  texts matched in :data:`EXPORT_FAILURES`; "Troubleshooting PostgreSQL permissions errors":
  PERMISSIONS_DO_NOT_EXIST and the GRANT that fixes it.
- "Amazon RDS event categories and event messages" (RDS and Aurora User Guides):
  RDS-EVENT-0159 "The snapshot export task failed.", 0160 "... was canceled.", 0061
  "Canceled snapshot copy request of name from region name."; RDS-EVENT-0162 "The cluster
  snapshot export task failed.", 0163 "... was canceled.". The cause is only on the task.
- "Copying a DB snapshot for Amazon RDS" and "Copying a DB cluster snapshot" (User Guides):
  up to 20 cross-region copies in flight per destination region (DB cluster snapshots: 5);
  the refusal ``SnapshotQuotaExceeded`` "Cannot copy more than N snapshots across regions";
  the manual snapshot quota (docs/ARCHITECTURE.md) refuses with the same code ("Cannot create
  more than 100 manual snapshots") and does not drain; DescribeAccountAttributes ``ManualSnapshots``
  / ``ManualClusterSnapshots`` (the AccountQuota data type, RDS API Reference; its names
  ``DBInstances``, ``DBClusters`` and ``AllocatedStorage`` are used below too).
- "Quotas and constraints for Amazon RDS" (RDS User Guide): DB instances 40 per region by
  default (20 in ap-south-1), DB clusters 40, Manual DB instance snapshots and Manual DB
  cluster snapshots 100 each, Total storage for all DB instances 100,000 GB; the Service
  Quotas names used in the remedies are these.
- "Sharing a DB snapshot for Amazon RDS" (RDS User Guide): a manual snapshot can be shared
  with up to 20 other AWS accounts; a shared snapshot is restored by its ARN.
- "Limitations of Multi-AZ DB clusters" (RDS User Guide): their snapshots cannot be copied.
- "SendEmail" (SES API Reference) and the botocore model's shape documentation for SES,
  EventBridge, EventBridge Scheduler, DynamoDB and S3 (e.g. ConfigurationSetSendingPaused:
  "You can enable or disable email sending for a configuration set using
  UpdateConfigurationSetSendingEnabled").
- ListObjectsV2 is authorised as s3:ListBucket and DeleteObjects as s3:DeleteObject: what
  infra/functions/cleanup.yml and iam.js exportStatusStatements grant for those calls (the
  Service Authorization Reference for S3; not re-checked against it here).
- botocore ``retries/standard.py``: the throttling and transient codes its standard retry
  mode retries (this stack's clients use it, 6 attempts, rds_backup/aws.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from rds_backup.settings import Settings

RemedyKind = Literal["fix", "config", "waits", "retried", "gone", "bug", "unknown"]
# The classes a remedy belongs to, and what each asks of a person.
KINDS: dict[str, str] = {
    "config": "a setting of this stack is wrong: change the named variable and redeploy",
    "fix": "an AWS resource or account setting must change (a policy, key, quota, identity, "
    "a leftover resource): the remedy names it and the change",
    "waits": "an AWS limit that drains by itself: the step waits for a slot; nothing to do",
    "retried": "throttled, internal or transient: the chain retries by itself; the remedy "
    "says what to do if it persists",
    "gone": "the resource vanished: what that means, and how to start again",
    "bug": "the chain sent a request it should never send: report it with the cause",
    "unknown": "no remedy is catalogued for this code (never for a code of the models)",
}

# --- the operations the chain calls --------------------------------------------------------

# service -> botocore operation names; where each is called (the Lambda side; rds_backup/
# outside local/ and ops/). The restore drills and the vault account add the last groups.
CHAIN_OPERATIONS: dict[str, tuple[str, ...]] = {
    "rds": (
        # kinds.create (start.py: start_backup)
        "CreateDBSnapshot",
        "CreateDBClusterSnapshot",
        # kinds.copy via copies.copy_to_target (limits.py fills: copy_snapshot, reconcile)
        "CopyDBSnapshot",
        "CopyDBClusterSnapshot",
        # exports.begin_export (export_snapshot, reconcile; copy_snapshot's source export)
        "StartExportTask",
        # exports.py, inventory.export_tasks* (every step that reads a run)
        "DescribeExportTasks",
        # kinds.describe_one, inventory.manual_snapshots / snapshots_by_id
        "DescribeDBSnapshots",
        "DescribeDBClusterSnapshots",
        # selection.py (start_backup): DB_IDENTIFIER and DB_SELECT_TAG resolved each run
        "DescribeDBInstances",
        "DescribeDBClusters",
        # kinds.delete: notify (release the source), reconcile, cleanup
        "DeleteDBSnapshot",
        "DeleteDBClusterSnapshot",
        # limits.py (retry-export and copy-canceled marks); Tags= on create and copy too
        "AddTagsToResource",
        # limits.manual_snapshot_usage (start_backup, copy_snapshot, reconcile)
        "DescribeAccountAttributes",
        # restore drills (about to be added): restore a copy, add instances, clean up
        "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBClusterFromSnapshot",
        "CreateDBInstance",
        "ModifyDBInstance",
        "ModifyDBCluster",
        "DeleteDBInstance",
        "DeleteDBCluster",
        # the vault account (about to be added): share a copy, read the share back
        "ModifyDBSnapshotAttribute",
        "ModifyDBClusterSnapshotAttribute",
        "DescribeDBSnapshotAttributes",
        "DescribeDBClusterSnapshotAttributes",
    ),
    # mail.send (notify, reconcile); the chain never sends raw email
    "ses": ("SendEmail",),
    # limits.report_quota (start_backup, copy_snapshot, reconcile), copy_checks.check_copy;
    # every function's Lambda on-failure destination puts its record with the function's role
    "events": ("PutEvents",),
    # copy_checks.arrange_check (copy_snapshot, reconcile, check_copy)
    "scheduler": ("CreateSchedule",),
    # notify.py powertools idempotency (notify, reconcile); digest.py (UpdateItem, GetItem)
    "dynamodb": ("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
    # export_tables.py (GetObject, ListObjectsV2: notify, reconcile); cleanup.py (cleanup)
    "s3": ("GetObject", "ListObjectsV2", "DeleteObjects"),
}
DRILL_OPERATIONS = frozenset(
    {
        "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBClusterFromSnapshot",
        "CreateDBInstance",
        "ModifyDBInstance",
        "ModifyDBCluster",
        "DeleteDBInstance",
        "DeleteDBCluster",
    }
)
SHARE_OPERATIONS = frozenset(
    {
        "ModifyDBSnapshotAttribute",
        "ModifyDBClusterSnapshotAttribute",
        "DescribeDBSnapshotAttributes",
        "DescribeDBClusterSnapshotAttributes",
    }
)
COPY_OPERATIONS = frozenset({"CopyDBSnapshot", "CopyDBClusterSnapshot"})
CREATE_OPERATIONS = frozenset({"CreateDBSnapshot", "CreateDBClusterSnapshot"})
DELETE_SNAPSHOT_OPERATIONS = frozenset({"DeleteDBSnapshot", "DeleteDBClusterSnapshot"})

# Which functions make each call (their roles grant it): infra/functions/<name>.yml and
# infra/resources/clusters.yml. The drill and vault calls have no function yet.
CALLERS: dict[str, tuple[str, ...]] = {
    "rds:CreateDBSnapshot": ("start_backup",),
    "rds:CreateDBClusterSnapshot": ("start_backup",),
    "rds:CopyDBSnapshot": ("copy_snapshot", "reconcile"),
    "rds:CopyDBClusterSnapshot": ("copy_snapshot", "reconcile"),
    "rds:StartExportTask": ("export_snapshot", "reconcile", "copy_snapshot"),
    "rds:DescribeExportTasks": (
        "copy_snapshot",
        "export_snapshot",
        "notify",
        "reconcile",
        "cleanup",
    ),
    "rds:DescribeDBSnapshots": (
        "start_backup",
        "copy_snapshot",
        "export_snapshot",
        "notify",
        "reconcile",
        "cleanup",
    ),
    "rds:DescribeDBClusterSnapshots": (
        "start_backup",
        "copy_snapshot",
        "export_snapshot",
        "notify",
        "reconcile",
        "cleanup",
        "check_copy",
    ),
    "rds:DescribeDBInstances": ("start_backup",),
    "rds:DescribeDBClusters": ("start_backup",),
    "rds:DeleteDBSnapshot": ("notify", "reconcile", "cleanup"),
    "rds:DeleteDBClusterSnapshot": ("notify", "reconcile", "cleanup"),
    "rds:AddTagsToResource": ("start_backup", "copy_snapshot", "export_snapshot", "reconcile"),
    "rds:DescribeAccountAttributes": ("start_backup", "copy_snapshot", "reconcile"),
    "ses:SendEmail": ("notify", "reconcile"),
    "events:PutEvents": ("start_backup", "copy_snapshot", "reconcile", "check_copy"),
    "scheduler:CreateSchedule": ("copy_snapshot", "reconcile", "check_copy"),
    "dynamodb:GetItem": ("notify", "reconcile"),
    "dynamodb:PutItem": ("notify", "reconcile"),
    "dynamodb:UpdateItem": ("start_backup", "notify", "reconcile"),
    "dynamodb:DeleteItem": ("notify", "reconcile"),
    "s3:GetObject": ("notify", "reconcile"),
    "s3:ListObjectsV2": ("notify", "reconcile", "cleanup"),
    "s3:DeleteObjects": ("cleanup",),
}
# IAM actions that are not "<service>:<Operation>" (as infra/functions/cleanup.yml grants
# them for these calls).
IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:DeleteObjects": ("s3:DeleteObject",),
}
# What a call needs besides its own action: Tags= on create/copy (the roles grant
# rds:AddTagsToResource for it, infra/functions/*.yml), the key RDS uses through a grant,
# the role RDS or Scheduler is passed.
EXTRA_ACTIONS: dict[str, tuple[str, ...]] = {
    "rds:CreateDBSnapshot": ("rds:AddTagsToResource",),
    "rds:CreateDBClusterSnapshot": ("rds:AddTagsToResource",),
    "rds:CopyDBSnapshot": ("rds:AddTagsToResource", "kms:CreateGrant", "kms:DescribeKey"),
    "rds:CopyDBClusterSnapshot": ("rds:AddTagsToResource", "kms:CreateGrant", "kms:DescribeKey"),
    "rds:StartExportTask": ("iam:PassRole", "kms:CreateGrant", "kms:DescribeKey"),
    "rds:RestoreDBInstanceFromDBSnapshot": ("kms:CreateGrant", "kms:DescribeKey"),
    "rds:RestoreDBClusterFromSnapshot": ("kms:CreateGrant", "kms:DescribeKey"),
    "scheduler:CreateSchedule": ("iam:PassRole",),
}

# The export role's S3 actions ("StartExportTask", IamRoleArn) and key actions (infra/iam.js
# EXPORT_ROLE_KMS_ACTIONS; "Exporting DB snapshot data to Amazon S3", cross-account key).
EXPORT_BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
EXPORT_OBJECT_ACTIONS = ("s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*")
EXPORT_S3_ACTIONS = (
    "s3:PutObject*",
    "s3:GetObject*",
    "s3:ListBucket",
    "s3:DeleteObject*",
    "s3:GetBucketLocation",
)
EXPORT_ROLE_KMS_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
    "kms:RetireGrant",
    "kms:DescribeKey",
)
# What a caller of CopyDB*Snapshot / StartExportTask / a restore needs on the key.
CALLER_KMS_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")
EXPORT_SERVICE = "export.rds.amazonaws.com"

# The RDS API's budget ("Request throttling for the Amazon RDS API").
RDS_API_BURST = 300
RDS_API_PER_SECOND = 12
# Cross-region copies in flight per destination region (rds_backup/limits.py).
COPY_SLOTS = 20
CLUSTER_COPY_SLOTS = 5
EXPORT_SLOTS = 5
SHARE_ACCOUNTS = 20
# The codes the chain's clients retry (botocore retries/standard.py, standard mode).
THROTTLING_CODES = (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
)
TRANSIENT_CODES = ("RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete")
# The codes every AWS API can return ("Common Errors") and their spellings in other
# services' models and the SDKs: each has a remedy below.
COMMON_CODES = (
    "AccessDenied",
    "AccessDeniedException",
    "NotAuthorized",
    "UnauthorizedOperation",
    "IncompleteSignature",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InvalidAction",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "OptInRequired",
    "RequestExpired",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "ValidationError",
    "ValidationException",
    *THROTTLING_CODES,
    *TRANSIENT_CODES,
)
# Codes seen from AWS that no botocore model lists (docs/ARCHITECTURE.md, "AWS facts").
FIELD_CODES = ("ExportTaskLimitReachedFault", "SnapshotQuotaExceeded")
# The project's own codes (StepFailed.code; grep 'code="' in rds_backup/).
PROJECT_CODES = (
    "DatabaseNotFound",
    "DatabaseNotConfigured",
    "DatabaseAmbiguous",
    "DatabaseIsClusterMember",
    "DatabaseIsMultiAzCluster",
    "ForeignSnapshotNameClash",
    "StepOverdue",
    "ExportFailed",
    "ExportCanceled",
    "CopyCanceled",
    "ClusterCopyFailed",
    "ClusterCopyVanished",
    "QuotaUnknown",
    "PutEventsFailed",
    "StepFailed",
    "ConfigError",
    "InvalidEvent",
    # restore drills (rds_backup/drills/)
    "NoRestorableCopy",
    "RestoreFailed",
    "DrillVanished",
    "DrillProbeMissing",
    "DrillProbeFailed",
    "DrillCheckFailed",
    "DrillOverdue",
)
# The RDS failure events (their message is generic; the cause is on the task).
FAILURE_EVENTS: dict[str, str] = {
    "RDS-EVENT-0159": "ExportFailed",
    "RDS-EVENT-0160": "ExportCanceled",
    "RDS-EVENT-0162": "ExportFailed",
    "RDS-EVENT-0163": "ExportCanceled",
    "RDS-EVENT-0061": "CopyCanceled",
}
# Codes that wrap another: the cause says which AWS code and operation it was.
WRAPPERS = frozenset({"StepFailed", "StartFailed", "ReconcileFailed", "BackupError", "Unknown"})
# "An error occurred (InvalidS3BucketFault) when calling the StartExportTask operation: ..."
CLIENT_ERROR_TEXT = re.compile(r"\(([A-Za-z0-9.]+)\) when calling the (\w+) operation")


@dataclass(frozen=True)
class Remedy:
    """What to do about one failure: ``kind`` is one of :data:`KINDS`, ``text`` the words a
    person reads in the failure email."""

    code: str
    kind: RemedyKind
    text: str


# How the services are named to a person.
SERVICE_NAMES = {
    "rds": "Amazon RDS",
    "ses": "Amazon SES",
    "events": "Amazon EventBridge",
    "scheduler": "EventBridge Scheduler",
    "dynamodb": "Amazon DynamoDB",
    "s3": "Amazon S3",
}


# --- the facts a remedy is worded from ---------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    code: str
    service: str | None
    operation: str | None
    settings: Settings | None
    database: str | None
    snapshot: str | None
    region: str | None
    kind: str | None
    step: str | None
    cause: str | None

    @property
    def cluster(self) -> bool:
        if self.kind is not None:
            return self.kind == "cluster"
        return "Cluster" in (self.operation or "") or "Cluster" in self.code

    @property
    def what(self) -> str:
        return "DB cluster" if self.cluster else "DB instance"

    @property
    def snapshot_what(self) -> str:
        return "DB cluster snapshot" if self.cluster else "DB snapshot"

    def op_in(self, names: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        return self.operation in names

    def var(self, name: str) -> str:
        """``NAME=value`` when the settings are known, else ``NAME``."""
        value = _setting_value(self.settings, name) if self.settings else None
        return f"{name}={value}" if value else name

    @property
    def source(self) -> str:
        return self.settings.source_region if self.settings else "SOURCE_REGION"

    @property
    def target(self) -> str:
        return self.settings.target_region if self.settings else "TARGET_REGION"

    def where(self, default: str = "target") -> str:
        """The region the failing call was made in."""
        if self.region:
            return self.region
        return self.source if default == "source" else self.target

    @property
    def stack(self) -> str:
        return self.settings.stack_name if self.settings else "<stack>"

    @property
    def account(self) -> str:
        return self.settings.account_id if self.settings else "<account>"

    @property
    def partition(self) -> str:
        return self.settings.export_role_arn.split(":")[1] if self.settings else "aws"

    @property
    def service_name(self) -> str:
        return SERVICE_NAMES.get(self.service or "", self.service or "The AWS service")

    @property
    def db(self) -> str:
        return self.database or f"the {self.what}"

    @property
    def snap(self) -> str:
        return self.snapshot or f"the {self.snapshot_what}"

    def function(self, name: str) -> str:
        return f"{self.stack}-{name}"

    def role_of(self, name: str) -> str:
        return (
            f"the role of {self.function(name)} (aws lambda get-function-configuration "
            f"--function-name {self.function(name)} --query Role --region {self.source})"
        )

    def selected(self) -> str:
        """Which databases the stack selects, as the settings say."""
        s = self.settings
        if s is None:
            return "the databases named in DB_IDENTIFIER or tagged with DB_SELECT_TAG"
        parts = []
        if s.db_identifiers:
            parts.append(
                f"DB_IDENTIFIER={','.join(s.db_identifiers)} names {', '.join(s.db_identifiers)}"
            )
        if s.db_select_tag:
            parts.append(
                f"DB_SELECT_TAG={s.db_select_tag} adds the instances and clusters so tagged"
            )
        return "; ".join(parts)

    def bucket(self) -> tuple[str, str]:
        """(``SETTING=bucket``, region) of the bucket an export in this region writes to."""
        s = self.settings
        if s is None:
            if self.region is None:
                return "TARGET_BUCKET (SOURCE_BUCKET for a source-region export)", "its region"
            return "TARGET_BUCKET or SOURCE_BUCKET (the one of that region)", self.region
        if self.where() == s.source_region:
            return f"SOURCE_BUCKET={s.source_bucket}", s.source_region
        return f"TARGET_BUCKET={s.target_bucket}", s.target_region

    def bucket_name(self) -> str:
        s = self.settings
        if s is None:
            return "<bucket>"
        return s.source_bucket if self.where() == s.source_region else s.target_bucket

    def key(self) -> tuple[str, str]:
        """(``SETTING=key``, region) of the key the chain gives RDS in this region."""
        s = self.settings
        region = self.where()
        if s is None:
            if self.region is None:
                return (
                    "TARGET_KMS_KEY_ID (else KMS_KEY_ID; SOURCE_KMS_KEY_ID for a "
                    "source-region export)",
                    "its region",
                )
            return "TARGET_KMS_KEY_ID or SOURCE_KMS_KEY_ID (else KMS_KEY_ID)", region
        if region == s.source_region:
            name = "SOURCE_KMS_KEY_ID" if s.source_kms_key_id else "KMS_KEY_ID"
            return f"{name}={s.keys.source or s.kms_key_id}", region
        name = "TARGET_KMS_KEY_ID" if s.target_kms_key_id else "KMS_KEY_ID"
        return f"{name}={s.keys.target}", region

    def key_value(self) -> str:
        s = self.settings
        if s is None:
            return "<key ARN>"
        if self.where() == s.source_region:
            return s.keys.source or s.kms_key_id
        return s.keys.target

    @property
    def export_role(self) -> str:
        return self.var("EXPORT_ROLE_ARN")

    @property
    def export_role_arn(self) -> str:
        return self.settings.export_role_arn if self.settings else "<EXPORT_ROLE_ARN>"

    def role_placeholder(self, name: str) -> str:
        """A function role's ARN in a policy: CloudFormation gives the roles a random suffix,
        so the ARN is looked up (:meth:`lookup`), never guessed."""
        return f"<role ARN of {self.function(name)}>"

    def lookup(self) -> str:
        return (
            f"(each role ARN: aws lambda get-function-configuration --function-name "
            f"{self.stack}-<function> --query Role --region {self.source})"
        )

    def start_again(self) -> str:
        return f"rds-backup start --db {self.database or '<database>'}"


def _setting_value(settings: Settings, name: str) -> str | None:
    field = next((key for key, info in Settings.model_fields.items() if info.alias == name), None)
    if field is None:
        return None
    value = getattr(settings, field)
    if value is None or value == []:
        return None
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


# --- the catalogue ---------------------------------------------------------------------------

_Rule = Callable[[_Facts], tuple[RemedyKind, str]]
_RULES: dict[tuple[str | None, str], _Rule] = {}


def _canonical(code: str) -> str:
    """RDS spells most codes with and without ``Fault`` (the model's ``error.code`` often
    drops it: ``DBSnapshotNotFound`` for the shape ``DBSnapshotNotFoundFault``)."""
    return code.removesuffix("Fault")


def _rule(*codes: str, service: str | None = None) -> Callable[[_Rule], _Rule]:
    def register(rule: _Rule) -> _Rule:
        for code in codes:
            key = (service, _canonical(code))
            if key in _RULES:
                raise ValueError(f"two remedies for {code} ({service or 'any service'})")
            _RULES[key] = rule
        return rule

    return register


def _replay(f: _Facts, *, first: bool = False) -> str:
    """How to re-drive the step once the cause is fixed (``first``: as a sentence's start)."""
    words = (
        "re-drive the step: rds-backup replay --since <before the failure> (finished work "
        f"is skipped) or {f.start_again()}"
    )
    return ("Then " if first else "then ") + words


# Access: the IAM action the call needs, on which function's role ---------------------------


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions ``service:Operation`` is authorised as (most are the same name)."""
    return IAM_ACTIONS.get(f"{service}:{operation}", (f"{service}:{operation}",))


@_rule("AccessDenied", "AccessDeniedException", "NotAuthorized", "UnauthorizedOperation")
def _access_denied(f: _Facts) -> tuple[RemedyKind, str]:
    deny = (
        "If the cause says 'with an explicit deny', a service control policy, permissions "
        "boundary or resource policy (bucket, key or bus policy) denies it: change that "
        "instead."
    )
    if not (f.service and f.operation):
        return (
            "fix",
            "A function's IAM role lacks a permission. The cause names it ('is not "
            "authorized to perform: <action> on resource: <ARN>'): grant that action on that "
            "resource in the function's infra/functions/<function>.yml and redeploy (npm run "
            f"deploy). {deny} {_replay(f, first=True)}.",
        )
    key = f"{f.service}:{f.operation}"
    callers = (f.step,) if f.step else CALLERS.get(key, ())
    if callers:
        names = " and ".join(f.function(name) for name in callers)
        files = ", ".join(f"infra/functions/{name}.yml" for name in callers)
        if f.service == "rds" and f.cluster:
            files += " (DB clusters: infra/resources/clusters.yml)"
        noun = "roles" if len(callers) > 1 else "role"
        who = f"The {noun} of {names} {f.lookup()}, granted in {files},"
    else:
        who = (
            "The role of the function that makes this call (a restore drill or the vault "
            "share; granted in that function's infra/functions/<function>.yml)"
        )
    need = " and ".join(iam_actions(f.service, f.operation))
    text = f"{who} may not call {f.operation}: allow {need}{_access_resource(f)}"
    if extra := EXTRA_ACTIONS.get(key, ()):
        text += f"; the call also needs {', '.join(extra)}{_access_extra(f, key)}"
    return "fix", f"{text}. Redeploy (npm run deploy). {deny} {_replay(f, first=True)}."


def _access_resource(f: _Facts) -> str:
    """On which resource the action must be allowed, where the stack scopes it."""
    p, region, account = f.partition, f.where("source"), f.account
    if f.service == "ses":
        identity = f.settings.sender if f.settings else "<SENDER_EMAIL, else the first ADMIN_EMAIL>"
        configuration_set = f.settings.ses_configuration_set if f.settings else None
        sets = (
            f"the configuration set SES_CONFIGURATION_SET={configuration_set}"
            if configuration_set
            else "the identity's default configuration set, if it has one (SES_CONFIGURATION_SET "
            "is empty, so notify's role names none: set it to that set's name and redeploy, "
            "docs/DEPLOY.md)"
        )
        return (
            f" on the identity arn:{p}:ses:{f.source}:{account}:identity/{identity} (or its "
            f"domain) and on {sets}: SES authorises the send on both"
        )
    if f.service == "events":
        return (
            f" on arn:{p}:events:{f.source}:{account}:event-bus/default (and on "
            f"{f.var('EVENT_BUS_NAME')} when it is another bus)"
        )
    if f.service == "rds" and f.snapshot and not (f.operation or "").startswith("Describe"):
        arn_kind = "cluster-snapshot" if f.cluster else "snapshot"
        return f" on arn:{p}:rds:{region}:{account}:{arn_kind}:{f.snapshot}"
    if f.service == "s3":
        return f" on arn:{p}:s3:::{f.bucket_name()}"
    return ""


def _access_extra(f: _Facts, key: str) -> str:
    if key == "rds:StartExportTask":
        return (
            f" (iam:PassRole on {f.export_role_arn} to {EXPORT_SERVICE}; kms:CreateGrant and "
            f"kms:DescribeKey on {f.key()[0]})"
        )
    if f.op_in(COPY_OPERATIONS):
        return (
            f" (rds:AddTagsToResource for the copy's tags; the kms actions on {f.key()[0]} in "
            f"{f.target} and on the database's own key: DB_KMS_KEY_IDS or its key policy, "
            "doctor check db-key-access)"
        )
    if key == "scheduler:CreateSchedule":
        return f" (iam:PassRole on {f.var('COPY_CHECK_ROLE_ARN')} to scheduler.amazonaws.com)"
    if f.op_in(CREATE_OPERATIONS):
        return " (RDS authorises the snapshot's Tags= as rds:AddTagsToResource)"
    return ""


# Throttled and transient: retried -----------------------------------------------------------


@_rule(*THROTTLING_CODES)
def _throttled(f: _Facts) -> tuple[RemedyKind, str]:
    retried = (
        "The client retried with backoff (standard mode, 6 attempts), Lambda retries the "
        "step 1 and 2 minutes later, and reconcile re-drives copies and exports within the "
        "hour: nothing to do for one failure."
    )
    if f.service == "dynamodb":
        return (
            "retried",
            f"DynamoDB throttled the idempotency table ({f.var('IDEMPOTENCY_TABLE')}, on-demand "
            f"capacity) in {f.source}. {retried} If it persists, the account's table "
            "throughput quota is reached: raise it (Service Quotas → Amazon DynamoDB) or find "
            "the other tables sharing it.",
        )
    budget = (
        f"The RDS API's budget is per account and region, {RDS_API_BURST} requests in a burst "
        f"and {RDS_API_PER_SECOND} per second sustained, shared by every caller — the console, "
        "the AWS CLI, infrastructure-as-code and monitoring tools, and this stack ('Request "
        "throttling for the Amazon RDS API')."
    )
    if f.service is None:
        return (
            "retried",
            f"AWS throttled the call ({f.code}) in {f.where('source')}. {retried} If it "
            f"recurs and the call was to RDS: {budget} Find who else calls it at that time "
            "(CloudTrail, by user agent) and move the backup schedule or their polling away "
            "from each other, or ask AWS Support to raise the limit; for another service, "
            "raise its request quota in Service Quotas.",
        )
    if f.service == "rds":
        return (
            "retried",
            f"The RDS API throttled the call in {f.where('source')}: its budget is per account "
            f"and region, {RDS_API_BURST} requests in a burst and {RDS_API_PER_SECOND} per "
            "second sustained, shared by every caller — the console, the AWS CLI, "
            "infrastructure-as-code and monitoring tools, and this stack ('Request "
            f"throttling for the Amazon RDS API'). {retried} If it recurs, find who else calls "
            "the RDS API at that time (CloudTrail, by user agent), move the backup schedule "
            "or their polling away from each other, or ask AWS Support to raise the limit.",
        )
    return (
        "retried",
        f"{f.service_name} throttled the call in {f.where('source')}. {retried} If it "
        f"persists, raise the {f.service_name} request quota in Service Quotas for that "
        "region, or find the other callers sharing it.",
    )


@_rule(
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "InternalException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "500",
    "502",
    "503",
    "504",
)
def _internal(f: _Facts) -> tuple[RemedyKind, str]:
    service = f.service_name
    return (
        "retried",
        f"{service} failed inside AWS ({f.code}) in {f.where('source')}, not because of this "
        "stack. The client retried, Lambda retries the step twice and reconcile re-drives it "
        "within the hour. If it persists for hours, look at the AWS Health Dashboard for "
        f"{service} in that region; once it recovers, {_replay(f)[5:]}.",
    )


@_rule(
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ConnectionError",
    "HTTPClientError",
    "ProxyConnectionError",
)
def _unreachable(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"The function could not reach the {SERVICE_NAMES.get(f.service or '', 'AWS')} "
        f"endpoint in {f.where('source')} ({f.code}). Lambda retries the step and reconcile "
        "re-drives it. If it persists: an endpoint override (AWS_ENDPOINT_URL) points at "
        "nothing, the function's network (a VPC without a NAT gateway or VPC endpoint) cannot "
        "reach AWS, or the region is down (AWS Health Dashboard).",
    )


# Credentials ------------------------------------------------------------------------------


@_rule("ExpiredToken", "ExpiredTokenException", "RequestExpired")
def _expired(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"AWS refused the request's credentials or time ({f.code}): the role session expired, "
        "or the request reached AWS more than 15 minutes after its date stamp ('Common "
        "Errors'). A Lambda retry gets fresh credentials from its execution role. If it "
        "persists for an operator command, sign in again (aws sso login --profile <profile>) "
        "and check the machine's clock.",
    )


@_rule(
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "AuthFailure",
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "UnauthorizedSSOTokenError",
    "TokenRetrievalError",
)
def _bad_credentials(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"AWS did not accept the caller's credentials ({f.code}) in {f.where('source')}. For a "
        "function: its execution role was deleted or replaced outside the stack, redeploy "
        "(npm run deploy) so each function has its own role again. For an operator command: "
        "the profile's keys are wrong, expired or of another partition (aws sso login "
        "--profile <profile>, or set AWS_PROFILE).",
    )


@_rule("OptInRequired")
def _opt_in(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The account has not enabled the region {f.where('source')} (an opt-in region) or "
        f"is not subscribed to {SERVICE_NAMES.get(f.service or '', 'the service')}: enable "
        "the region (AWS console, Account → AWS Regions) or choose another "
        f"({f.var('SOURCE_REGION')}, {f.var('TARGET_REGION')}) and redeploy.",
    )


# Requests AWS calls invalid -----------------------------------------------------------------


@_rule(
    "ValidationError",
    "ValidationException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "InvalidAction",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "SerializationException",
    "UnknownOperationException",
    "InvalidArgument",
    "ParamValidationError",
)
def _invalid_request(f: _Facts) -> tuple[RemedyKind, str]:
    if f.op_in(COPY_OPERATIONS):
        return (
            "config",
            f"RDS refused the copy's parameters in {f.target} (the cause names the "
            f"parameter). The ones settings decide: the key {f.key()[0]} must be a key of "
            f"{f.target} (or a multi-Region key's replica there); an unencrypted DB cluster "
            "snapshot takes no KmsKeyId (CopyDBClusterSnapshot API reference); "
            f"{f.var('TARGET_OPTION_GROUP')} must exist in {f.target} for a non-default "
            "option group; a Multi-AZ DB cluster's snapshots cannot be copied at all "
            "('Limitations of Multi-AZ DB clusters'): take it out of DB_IDENTIFIER. Fix the "
            f"setting, redeploy, {_replay(f)}.",
        )
    if f.operation == "StartExportTask":
        return (
            "config",
            "RDS refused the export's parameters (the cause names the parameter): "
            f"{f.var('EXPORT_S3_PREFIX')} must not contain a colon ('Exporting DB snapshot "
            f"data to Amazon S3', Limitations); {f.key()[0]} must be a symmetric key of "
            f"{f.key()[1]}; {f.bucket()[0]} must be a bucket there. Fix the setting, redeploy, "
            "then replay the snapshot's RDS-EVENT-0060 (a new attempt, -a2).",
        )
    if f.operation == "CreateSchedule":
        return (
            "config",
            f"EventBridge Scheduler refused the cluster copy check: {f.var('COPY_CHECK_ROLE_ARN')} "
            "must be a role that trusts scheduler.amazonaws.com and may put events on the "
            f"default bus, and {f.var('COPY_CHECK_GROUP')} a schedule group in {f.source} "
            "(both set by serverless.yml: redeploy). The cause names the field; reconcile "
            "looks at the copy meanwhile.",
        )
    return (
        "bug",
        f"AWS called the chain's {f.operation or 'request'} invalid ({f.code}); no setting "
        "sends it. Report it with the cause (it names the parameter) and the version "
        "(rds-backup --version); the step stays failed until the fix is deployed, "
        f"{_replay(f)}.",
    )


# Databases ---------------------------------------------------------------------------------


@_rule("DBInstanceNotFound", "DBClusterNotFoundFault", "DatabaseNotFound")
def _database_not_found(f: _Facts) -> tuple[RemedyKind, str]:
    if f.op_in(DRILL_OPERATIONS) and f.operation not in (
        "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBClusterFromSnapshot",
    ):
        if f.operation == "CreateDBInstance":
            return (
                "gone",
                f"The DB cluster {f.db} the drill restored in {f.where()} is gone before its "
                "instance was added (deleted by hand, or by the drill's clean-up of an "
                "earlier attempt): the drill's next run restores a new one.",
            )
        return (
            "gone",
            f"The {f.what} {f.db} a restore drill made in {f.where()} no longer exists "
            "(deleted by hand or by an earlier clean-up): nothing is left to remove.",
        )
    if f.operation == "AddTagsToResource":
        return (
            "gone",
            f"The resource being tagged in {f.where()} was deleted meanwhile: nothing to do; "
            f"{f.start_again()} if {f.db} still needs tonight's backup.",
        )
    if f.operation == "StartExportTask":
        return (
            "bug",
            "StartExportTask was given a DB cluster instead of a snapshot: the chain exports "
            "only snapshots. Report it with the cause (it holds the ARN).",
        )
    return (
        "config",
        f"{f.database or 'The database'} is neither a DB instance nor a DB cluster in "
        f"{f.var('SOURCE_REGION')}. The "
        f"stack selects: {f.selected()}. Correct DB_IDENTIFIER to the names `aws rds "
        f"describe-db-instances --region {f.source}` and `aws rds describe-db-clusters` list "
        "(RDS keeps them in lower case), or SOURCE_REGION, and redeploy; if the database was "
        "deleted on purpose, remove it from DB_IDENTIFIER. `rds-backup doctor` (check "
        "db-exists) confirms the fix.",
    )


@_rule("DatabaseNotConfigured")
def _not_configured(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        f"{f.db} was asked for (rds-backup start --db, or a Backup Requested event) but the "
        f"stack does not select it: {f.selected()}. Add it to DB_IDENTIFIER (or tag it with "
        f"{f.var('DB_SELECT_TAG')}) and redeploy, or ask for one of those.",
    )


@_rule("DatabaseAmbiguous")
def _ambiguous(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        f"{f.db} is both a DB instance and a DB cluster in {f.var('SOURCE_REGION')}: their "
        "snapshots would share one derived name. Choose the one to back up by tag "
        f"({f.var('DB_SELECT_TAG')} on that instance or cluster) and remove the name from "
        "DB_IDENTIFIER, or rename one of them.",
    )


@_rule("DatabaseIsClusterMember")
def _cluster_member(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        f"{f.db} is an instance of a DB cluster: RDS snapshots the cluster, not its "
        "instances. Name the cluster in DB_IDENTIFIER (or tag the cluster with "
        f"{f.var('DB_SELECT_TAG')}) instead of the instance, and redeploy.",
    )


@_rule("DatabaseIsMultiAzCluster")
def _multi_az_cluster(f: _Facts) -> tuple[RemedyKind, str]:
    # RDS User Guide, "Limitations of Multi-AZ DB clusters for Amazon RDS" (no snapshot
    # copy, no cross-Region automated backups) and "Restoring from a snapshot of a Multi-AZ
    # DB cluster to a DB instance".
    return (
        "config",
        f"{f.db} is a Multi-AZ DB cluster: AWS cannot copy its snapshots or replicate its "
        "automated backups to another region, so this stack cannot protect it against the "
        f"region's loss. Remove it from DB_IDENTIFIER (or its {f.var('DB_SELECT_TAG')} tag) "
        "and redeploy; to protect it, move it to a Multi-AZ DB instance deployment (RDS "
        "restores a Multi-AZ DB cluster snapshot to a DB instance), which this stack copies, "
        "and name that instance instead.",
    )


# Snapshots --------------------------------------------------------------------------------


@_rule("DBSnapshotNotFound", "DBClusterSnapshotNotFoundFault")
def _snapshot_not_found(f: _Facts) -> tuple[RemedyKind, str]:
    what = f.snapshot_what
    if f.op_in(COPY_OPERATIONS):
        return (
            "gone",
            f"The source {what} {f.snap} is gone from {f.source} before its copy started "
            "(deleted by hand, or released by a run that ended), or, for another account's "
            "snapshot (a vault), it is not shared with this account (ModifyDBSnapshotAttribute "
            f"restore). Start a new run: {f.start_again()}.",
        )
    if f.operation == "StartExportTask":
        return (
            "gone",
            f"The {what} {f.snap} to export is gone from {f.where()} (deleted by hand, or by "
            f"cleanup past {f.var('RETENTION_DAYS')}): nothing can be exported from it; "
            f"{f.start_again()} makes a new snapshot, copy and export.",
        )
    if f.op_in(DELETE_SNAPSHOT_OPERATIONS):
        return (
            "gone",
            f"{f.snap} was already deleted in {f.where()} (by a person, another cleanup pass, "
            "or notify releasing the source): nothing to do.",
        )
    if f.op_in(DRILL_OPERATIONS):
        return (
            "gone",
            f"The {what} {f.snap} to restore does not exist in {f.where()}: retention "
            f"({f.var('RETENTION_DAYS')}) removed it, or, in a vault account, it was never "
            "shared with this account — share it (ModifyDBSnapshotAttribute, attribute "
            "restore) and restore it by its ARN ('Sharing a DB snapshot for Amazon RDS'). "
            "The next drill picks the newest copy.",
        )
    if f.op_in(SHARE_OPERATIONS):
        return (
            "gone",
            f"The {what} {f.snap} to share is gone from {f.where()} (retention or a person "
            "deleted it): the next run's copy is shared instead.",
        )
    if f.operation == "AddTagsToResource":
        return (
            "gone",
            f"{f.snap} was deleted in {f.where()} between being read and being marked: "
            f"nothing to do; {f.start_again()} if {f.db} still needs tonight's backup.",
        )
    return (
        "gone",
        f"The {what} {f.snap} no longer exists in {f.where()} (deleted by hand, or by "
        f"cleanup past {f.var('RETENTION_DAYS')}): the chain skips its run. If that run is "
        f"still needed, {f.start_again()}.",
    )


@_rule("DBSnapshotAlreadyExists", "DBClusterSnapshotAlreadyExistsFault", "ForeignSnapshotNameClash")
def _snapshot_exists(f: _Facts) -> tuple[RemedyKind, str]:
    if f.op_in(DRILL_OPERATIONS):
        return (
            "bug",
            f"{f.operation} tried to keep a final snapshot whose name exists: a drill deletes "
            "its restored database without a final snapshot (SkipFinalSnapshot). Report it "
            "with the cause.",
        )
    return (
        "fix",
        f"A {f.snapshot_what} named {f.snap} exists in {f.where('source')} but this stack "
        f"({f.stack}) did not make it (its own would count as done). Rename or delete that "
        f"snapshot, or change {f.var('SNAPSHOT_PREFIX')} and redeploy; then "
        f"{f.start_again()}.",
    )


@_rule("DBInstanceAlreadyExists", "DBClusterAlreadyExistsFault")
def _database_exists(f: _Facts) -> tuple[RemedyKind, str]:
    noun = "instance" if "Instance" in f.code else "cluster"
    return (
        "fix",
        f"A DB {noun} named {f.db} already exists in {f.where()}: an earlier drill's restore "
        "was left behind, or the name is a real database's. If it is a drill's, delete it "
        f"(aws rds delete-db-{noun} --db-{noun}-identifier {f.db} --skip-final-snapshot "
        f"--region {f.where()}); never delete a real database — give the drill another name.",
    )


@_rule("ExportTaskAlreadyExists")
def _export_exists(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "waits",
        f"An export task with this id already exists for {f.snap} ('The export task with "
        "the ID ... already exists'): the chain counts it as started and waits for its "
        "ending event (RDS-EVENT-0161/0159/0160). Nothing to do; a failed export is tried "
        "again by replaying the snapshot's RDS-EVENT-0060 (a new id, -a2).",
    )


# States: the resource is busy -------------------------------------------------------------


@_rule("InvalidDBInstanceState", "InvalidDBClusterStateFault")
def _database_busy(f: _Facts) -> tuple[RemedyKind, str]:
    noun = "cluster" if "Cluster" in f.code else "instance"
    if f.op_in(DRILL_OPERATIONS):
        return (
            "retried",
            f"The drill's DB {noun} {f.db} in {f.where()} is not available for {f.operation} "
            "yet (still creating, modifying or backing up): the drill tries again. If it "
            f"stays so for hours, look at it in the RDS console of {f.where()}.",
        )
    return (
        "retried",
        f"RDS will not {'snapshot' if f.op_in(CREATE_OPERATIONS) else 'act on'} the DB {noun} "
        f"{f.db} in {f.where('source')} in its current state (the cause names it: e.g. "
        "stopped, modifying, upgrading, storage-full, or another snapshot in progress). "
        "Lambda retries the step twice and the next night runs again. If `aws rds "
        f"describe-db-{noun}s --db-{noun}-identifier {f.db} --region {f.where('source')}` "
        "shows it stuck, make it available (start it, add storage) or remove it from "
        f"DB_IDENTIFIER while it stays so; then {f.start_again()}.",
    )


@_rule("InvalidDBSnapshotState", "InvalidDBClusterSnapshotStateFault")
def _snapshot_busy(f: _Facts) -> tuple[RemedyKind, str]:
    what = f.snapshot_what
    if f.op_in(DELETE_SNAPSHOT_OPERATIONS):
        return (
            "retried",
            f"{f.snap} in {f.where()} is still in use (being copied or exported): it is not "
            "deleted now; the next cleanup (daily) or release deletes it once it is free.",
        )
    if f.op_in(DRILL_OPERATIONS) or f.op_in(SHARE_OPERATIONS):
        return (
            "retried",
            f"The {what} {f.snap} in {f.where()} is not available for {f.operation} yet "
            "(still creating or copying): the drill or share tries again at its next run.",
        )
    events = "RDS-EVENT-0075 or the cluster copy check" if f.cluster else "RDS-EVENT-0042/0060"
    region = f.where("source" if f.op_in(CREATE_OPERATIONS) else "target")
    return (
        "retried",
        f"The {what} {f.snap} in {region} is not available yet (still creating or copying, "
        "or another snapshot of the database is in progress): the chain acts on it when its "
        f"event comes ({events}) or at reconcile within the hour. If it stays so past "
        f"{f.var('STEP_DEADLINE_HOURS')} hours, reconcile reports it as overdue.",
    )


@_rule("InvalidExportSourceState")
def _export_source_busy(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"{f.snap} in {f.where()} cannot be exported now: it is still being created or "
        "copied, or an export of it just ended ('After Amazon RDS completes an export task, "
        "you might have to wait a short time to start another export task from the same DB "
        "snapshot', 'Exporting DB snapshot data to Amazon S3'). The export waits and "
        "reconcile starts it within the hour. If it keeps failing, the snapshot's engine or "
        "storage cannot export (rds-backup doctor, check db-engine).",
    )


@_rule("InvalidExportOnly")
def _export_only(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "bug",
        "StartExportTask refused its ExportOnly list, which the chain never sends (it "
        "exports whole snapshots). Report it with the cause.",
    )


@_rule("ExportTaskNotFound")
def _export_not_found(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"The export task looked up in {f.where()} no longer exists (RDS forgets old tasks): "
        "the run is settled from its snapshots and the files in the bucket; nothing to do.",
    )


# Limits: the copy and export slots (wait), the snapshot quotas (fix) ------------------------


@_rule("ExportTaskLimitReachedFault")
def _export_limit(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "waits",
        f"At most {EXPORT_SLOTS} snapshot exports run at once per account ('Exporting DB "
        "snapshot data to Amazon S3'): this export waits for a slot and starts when an "
        "export ends (RDS-EVENT-0159/0160/0161) or at reconcile. Nothing to do, unless other "
        "tools keep the slots busy: `aws rds describe-export-tasks` in both regions shows "
        "whose exports run.",
    )


COPY_LIMIT_TEXT = re.compile(r"cannot copy more than|across regions", re.IGNORECASE)
MANUAL_QUOTA_TEXT = re.compile(r"manual (db )?(cluster )?snapshots", re.IGNORECASE)


@_rule("SnapshotQuotaExceeded")
def _snapshot_quota(f: _Facts) -> tuple[RemedyKind, str]:
    cause = f.cause or ""
    copy_limit = COPY_LIMIT_TEXT.search(cause) and not MANUAL_QUOTA_TEXT.search(cause)
    if copy_limit and not f.op_in(CREATE_OPERATIONS):
        slots = CLUSTER_COPY_SLOTS if f.cluster else COPY_SLOTS
        return (
            "waits",
            f"At most {slots} cross-region {f.snapshot_what} copies are in flight per "
            f"destination region ({f.target}): this copy waits for a slot and starts when a "
            "copy ends, or at reconcile. Nothing to do.",
        )
    if f.op_in(DRILL_OPERATIONS):
        return (
            "bug",
            f"{f.operation} tried to keep a final snapshot: a drill deletes its restored "
            "database without one (SkipFinalSnapshot). Report it with the cause.",
        )
    if f.cluster:
        label, quota = "Manual DB cluster snapshots", "ManualClusterSnapshots"
    else:
        label, quota = "Manual DB instance snapshots", "ManualSnapshots"
    # Both 100 per region by default ("Quotas and constraints for Amazon RDS").
    region = f.where("source" if f.op_in(CREATE_OPERATIONS) else "target")
    held = (
        f"about {len(f.settings.db_identifiers) or 'N'} databases x "
        f"({f.settings.retention_days} + 1 + generations kept) per region"
        if f.settings
        else "about databases x (RETENTION_DAYS + 1 + generations kept) per region"
    )
    copy_note = (
        " (If the cause says 'Cannot copy more than N snapshots across regions', it is the "
        "copy limit instead: the copy waits for a slot, nothing to do.)"
        if f.op_in(COPY_OPERATIONS) and not cause
        else ""
    )
    return (
        "fix",
        f"The '{label}' quota of {region} (100 by default) is full: it does not drain by "
        f"itself. Raise it (Service Quotas → Amazon RDS → '{label}'; `aws rds "
        f"describe-account-attributes --region {region}` shows {quota} Used/Max), or "
        f"lower {f.var('RETENTION_DAYS')} / KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY so "
        f"cleanup keeps fewer (this stack holds {held}), or delete unneeded manual "
        f"snapshots in {region}. Then {f.start_again()}.{copy_note}",
    )


@_rule("SharedSnapshotQuotaExceeded")
def _share_quota(f: _Facts) -> tuple[RemedyKind, str]:
    noun = "cluster-snapshot" if f.cluster else "snapshot"
    return (
        "fix",
        f"{f.snap} is already shared with the most accounts RDS allows ({SHARE_ACCOUNTS}, "
        "'Sharing a DB snapshot for Amazon RDS'). Remove accounts that no longer need it: "
        f"aws rds modify-db-{noun}-attribute --attribute-name restore --values-to-remove "
        f"<account id> --region {f.where()}.",
    )


@_rule("InstanceQuotaExceeded", "DBClusterQuotaExceededFault", "StorageQuotaExceeded")
def _database_quota(f: _Facts) -> tuple[RemedyKind, str]:
    quota, label = {
        "InstanceQuotaExceeded": ("DBInstances", "DB instances' (40 by default, 20 in ap-south-1"),
        "DBClusterQuotaExceeded": ("DBClusters", "DB clusters' (40 by default"),
        "StorageQuotaExceeded": (
            "AllocatedStorage",
            "Total storage for all DB instances' (100,000 GB by default",
        ),
    }[_canonical(f.code)]
    return (
        "fix",
        f"The restore drill does not fit the account's '{label}, 'Quotas and constraints for "
        f"Amazon RDS') in {f.where()} beside what runs there (`aws rds "
        f"describe-account-attributes --region {f.where()}` shows {quota} Used/Max). Raise "
        "it (Service Quotas → Amazon RDS), or delete a leftover drill database there; the "
        "next drill runs when it fits.",
    )


@_rule("DBInstanceAutomatedBackupQuotaExceeded", "DBClusterAutomatedBackupQuotaExceededFault")
def _retained_backups(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"Deleting the drill's {f.what} {f.db} would retain its automated backups, and the "
        f"retained-backups quota of {f.where()} is full. Delete them with the database "
        "(DeleteAutomatedBackups=true; aws rds delete-db-instance-automated-backup for ones "
        "already retained), then let the drill's clean-up run again.",
    )


@_rule("DBClusterRoleQuotaExceeded", "TenantDatabaseQuotaExceeded")
def _unused_quota(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "bug",
        f"{f.operation or 'The call'} hit a quota of something the chain never adds (IAM roles "
        "on a DB cluster, tenant databases): report it with the cause.",
    )


# Capacity in an Availability Zone: retried --------------------------------------------------


@_rule(
    "InsufficientDBInstanceCapacity",
    "InsufficientDBClusterCapacityFault",
    "InsufficientStorageClusterCapacity",
)
def _capacity(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"RDS has no capacity for the drill's restore in {f.where()} right now ({f.code}): the "
        "drill tries again at its next run. If it persists, restore with another DB instance "
        "class, or a DB subnet group covering other Availability Zones.",
    )


# What a restore names in the target region -----------------------------------------------

_RESTORE_PARTS: dict[str, tuple[RemedyKind, str]] = {
    "DBParameterGroupNotFound": ("config", "DB parameter group (DBParameterGroupName)"),
    "DBClusterParameterGroupNotFound": (
        "config",
        "DB cluster parameter group (DBClusterParameterGroupName)",
    ),
    "OptionGroupNotFound": ("config", "option group (OptionGroupName)"),
    "DBSubnetGroupNotFound": ("config", "DB subnet group (DBSubnetGroupName)"),
    "DBSubnetGroupDoesNotCoverEnoughAZs": (
        "config",
        "DB subnet group covering at least two Availability Zones",
    ),
    "InvalidSubnet": ("config", "subnets (all in one VPC)"),
    "InvalidVPCNetworkState": ("config", "DB subnet group covering the VPC's Availability Zones"),
    "InvalidDBSubnetGroupState": ("config", "DB subnet group in a usable state"),
    "DBSecurityGroupNotFound": ("config", "DB security group (DBSecurityGroups)"),
    "InvalidDBSecurityGroupState": ("config", "security group in a usable state"),
    "AuthorizationNotFound": ("config", "security group authorisation (VpcSecurityGroupIds)"),
    "NetworkTypeNotSupported": ("config", "network type (IPV4 or DUAL) the subnets support"),
    "VpcEncryptionControlViolationException": (
        "config",
        "DB instance class with Nitro encryption in transit (or a VPC not enforcing it)",
    ),
    "StorageTypeNotSupported": ("config", "storage type the instance class supports"),
    "StorageTypeNotAvailable": ("config", "storage type available to the cluster now"),
    "ProvisionedIopsNotAvailableInAZ": ("config", "Provisioned IOPS in its Availability Zone"),
    "InvalidRestore": ("config", "DB subnet group (a VPC snapshot restores only into a VPC)"),
    "InvalidGlobalClusterState": ("fix", "cluster outside a global database"),
    "DomainNotFound": ("bug", "Active Directory domain (Domain)"),
    "CertificateNotFound": ("bug", "CA certificate (CACertificateIdentifier)"),
    "BackupPolicyNotFound": ("bug", "backup policy"),
    "DBCapacityReservationNotFound": ("bug", "DB capacity reservation"),
    "InvalidDBCapacityReservationState": ("bug", "DB capacity reservation"),
    "DBUpgradeDependencyFailure": ("bug", "engine upgrade"),
}


@_rule(*_RESTORE_PARTS)
def _restore_part(f: _Facts) -> tuple[RemedyKind, str]:
    kind, part = _RESTORE_PARTS[_canonical(f.code)]
    region = f.where()
    call = f.operation or "The restore"
    if kind == "bug":
        return (
            "bug",
            f"{call} in {region} refused the request for its {part} ({f.code}), which the "
            "chain never names: report it with the cause.",
        )
    if kind == "fix":
        return (
            "fix",
            f"The drill's {f.what} {f.db} in {region} is part of a global database: remove "
            f"it from the global cluster (aws rds remove-from-global-cluster --region {region}) "
            "before the drill's clean-up deletes it.",
        )
    option = f", now {f.var('TARGET_OPTION_GROUP')}" if "OptionGroup" in f.code else ""
    return (
        "config",
        f"{call} in {region} refused the drill's {part}{option} ({f.code}) for {f.snap}. A "
        "snapshot carries no subnet group, security groups, parameter or option group across "
        "regions (RDS User Guide, 'Restoring to a DB instance'): the drill must name ones that "
        f"exist in {region} and fit the restored database; fix them and run the drill again.",
    )


# Requests naming resources the chain never names (AddTagsToResource, CopyDBSnapshot) --------

_FOREIGN_RESOURCES = {
    "DBProxyNotFound": "DB proxy",
    "DBProxyEndpointNotFound": "DB proxy endpoint",
    "DBProxyTargetGroupNotFound": "DB proxy target group",
    "DBSnapshotTenantDatabaseNotFound": "snapshot tenant database",
    "TenantDatabaseNotFound": "tenant database",
    "IntegrationNotFound": "zero-ETL integration",
    "BlueGreenDeploymentNotFound": "blue/green deployment",
    "InvalidDBClusterEndpointState": "DB cluster endpoint",
    "DBClusterGroupNotFound": "DB cluster group",
    "DBClusterGroupSnapshotNotFound": "DB cluster group snapshot",
    "DBClusterGroupAutomatedBackupNotFound": "DB cluster group automated backup",
    "DBShardGroupNotFound": "DB shard group",
    "DataGroupNotFound": "data group",
    "BranchNotFound": "branch",
    "CustomAvailabilityZoneNotFound": "custom Availability Zone (RDS on VMware)",
}


@_rule(*_FOREIGN_RESOURCES)
def _foreign_resource(f: _Facts) -> tuple[RemedyKind, str]:
    thing = _FOREIGN_RESOURCES[_canonical(f.code)]
    return (
        "bug",
        f"RDS took the request to {f.operation or 'RDS'} as naming a {thing}; the chain names "
        "only its DB snapshots and DB cluster snapshots (ARN types snapshot and "
        "cluster-snapshot), so the ARN or parameter it built is wrong. No setting fixes "
        "this: report it with the cause (it holds the ARN); after the fix, "
        f"{_replay(f)[5:]}.",
    )


# KMS: the key the copy, export or restore uses ------------------------------------------------


def _statement(sid: str, principals: list[str], actions: tuple[str, ...], *, grant: bool) -> str:
    """A key policy statement allowing ``principals`` ``actions`` (``grant``: only grants for
    AWS resources, as RDS makes them)."""
    body: dict[str, object] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principals if len(principals) > 1 else principals[0]},
        "Action": list(actions),
        "Resource": "*",
    }
    if grant:
        body["Condition"] = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    return json.dumps(body)


@_rule("KMSKeyNotAccessibleFault")
def _kms(f: _Facts) -> tuple[RemedyKind, str]:
    setting, region = f.key()
    check = (
        f"Check first that the key exists and is Enabled in {region} (aws kms describe-key "
        f"--key-id {f.key_value()} --region {region}; a disabled key: aws kms enable-key; one "
        "pending deletion: cancel-key-deletion)."
    )
    if f.op_in(COPY_OPERATIONS):
        roles = [f.role_placeholder(name) for name in ("copy_snapshot", "reconcile")]
        statement = _statement("RdsBackupCopies", roles, CALLER_KMS_ACTIONS, grant=True)
        return (
            "fix",
            f"RDS could not use a key for the copy into {f.target}: the target key {setting} "
            f"(it must live in {f.target}, or be a multi-Region key's replica there) or the "
            f"database's own key in {f.source}. {check} Then add to the key policy of each "
            f"key the copying roles: {statement} {f.lookup()} — or, when the key policy "
            "delegates to the account, add the database's key to DB_KMS_KEY_IDS and redeploy "
            f"(doctor checks db-key-access and target-key). {_replay(f, first=True)}.",
        )
    if f.operation == "StartExportTask":
        callers = [f.role_placeholder(name) for name in ("export_snapshot", "reconcile")]
        if f.settings is not None and f.where() == f.settings.source_region:
            callers.append(f.role_placeholder("copy_snapshot"))
        for_callers = _statement("RdsBackupExportCallers", callers, CALLER_KMS_ACTIONS, grant=True)
        for_role = _statement(
            "RdsBackupExportRole", [f.export_role_arn], EXPORT_ROLE_KMS_ACTIONS, grant=False
        )
        return (
            "fix",
            f"RDS could not use the export key {setting} in {region}. {check} The key policy "
            "must let the functions that start exports create a grant and describe the key "
            f"({for_callers} {f.lookup()}) and the export role {f.export_role_arn} use it "
            f"({for_role}); a Deny statement in the key policy must exclude {EXPORT_SERVICE} "
            "('Exporting DB snapshot data to Amazon S3'). Then replay the snapshot's "
            "RDS-EVENT-0060 (a new attempt, -a2).",
        )
    if f.op_in(DRILL_OPERATIONS):
        return (
            "fix",
            f"RDS could not use the key of {f.snap} for the restore in {region}. {check} The "
            "drill's role needs kms:CreateGrant and kms:DescribeKey on it (the copies are "
            f"encrypted with {setting}); in a vault account, the key policy must allow that "
            "account as well: a snapshot on the default aws/rds key cannot be shared at all.",
        )
    return (
        "fix",
        f"RDS could not use the key {setting} in {region}. {check} Its key policy must allow "
        "this stack's roles kms:CreateGrant and kms:DescribeKey (with "
        "kms:GrantIsForAWSResource) and the export role "
        f"{f.export_role_arn} {', '.join(EXPORT_ROLE_KMS_ACTIONS)} (docs/DEPLOY.md, KMS). "
        f"{_replay(f, first=True)}.",
    )


# The export role and bucket ---------------------------------------------------------------


def _export_policy(f: _Facts) -> str:
    bucket = f.bucket_name()
    prefix = f.settings.export_s3_prefix if f.settings else "<EXPORT_S3_PREFIX>"
    return (
        f"allow {', '.join(EXPORT_BUCKET_ACTIONS)} on arn:{f.partition}:s3:::{bucket} and "
        f"{', '.join(EXPORT_OBJECT_ACTIONS)} on arn:{f.partition}:s3:::{bucket}/{prefix}/* "
        f"(all five: {', '.join(EXPORT_S3_ACTIONS)}; 'StartExportTask', IamRoleArn)"
    )


@_rule("IamRoleMissingPermissions")
def _role_permissions(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The export role {f.export_role} may not write the export to {f.bucket()[0]} or use "
        f"its key. In its IAM policy, {_export_policy(f)}; on the key {f.key()[0]}, allow it "
        f"{', '.join(EXPORT_ROLE_KMS_ACTIONS)}; and let its trust policy allow "
        f"{EXPORT_SERVICE} sts:AssumeRole. A bucket policy must not deny the role. `rds-backup "
        "doctor` (checks export-role-trust, export-role-access) confirms it; then replay the "
        "snapshot's RDS-EVENT-0060 (a new attempt, -a2).",
    )


@_rule("IamRoleNotFound")
def _role_missing(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        f"The export role {f.export_role} does not exist in the account. Create it (trusting "
        f"{EXPORT_SERVICE}; {_export_policy(f)}), or leave EXPORT_ROLE_ARN empty so the stack "
        f"creates {f.stack}-rds-export (createExportRole=true), and redeploy; then replay the "
        "snapshot's RDS-EVENT-0060.",
    )


@_rule("InvalidS3BucketFault")
def _bucket(f: _Facts) -> tuple[RemedyKind, str]:
    setting, region = f.bucket()
    return (
        "config",
        f"{setting} does not exist in {region}, is in another region, or RDS may not use it: "
        "an export writes to a bucket in the snapshot's own region ('Exporting DB snapshot "
        f"data to Amazon S3'). Create the bucket in {region} (or set the variable to a "
        f"bucket there) and redeploy; check that its bucket policy allows {f.export_role}. "
        "`rds-backup doctor` (check buckets) confirms it; then replay the snapshot's "
        "RDS-EVENT-0060 (a new attempt, -a2).",
    )


# SES ------------------------------------------------------------------------------------


def _sender(f: _Facts) -> str:
    if f.settings is None:
        return "SENDER_EMAIL (else the first ADMIN_EMAIL)"
    if f.settings.sender_email:
        return f"SENDER_EMAIL={f.settings.sender}"
    return f"{f.settings.sender} (the first ADMIN_EMAIL: SENDER_EMAIL is empty)"


@_rule("MessageRejected")
def _message_rejected(f: _Facts) -> tuple[RemedyKind, str]:
    sender = f.settings.sender if f.settings else "<sender>"
    return (
        "fix",
        f"SES refused the email in {f.source}: the sender {_sender(f)} (or its domain) is not "
        f"a verified identity there (aws ses verify-email-identity --email-address {sender} "
        f"--region {f.source}, then follow the link), or, in the SES sandbox, a recipient of "
        f"{f.var('ADMIN_EMAIL')} is not verified: verify each, or request production access "
        f"(SES console, Account dashboard).{_configuration_set_note(f)} `rds-backup doctor` "
        "checks ses-sender and ses-recipients; then rds-backup redrive hands notify's parked "
        "events back to it.",
    )


def _configuration_set_note(f: _Facts) -> str:
    name = f.settings.ses_configuration_set if f.settings else None
    if name:
        return (
            f" The configuration set SES_CONFIGURATION_SET={name} must exist there and be enabled."
        )
    return ""


@_rule("MailFromDomainNotVerifiedException", "MailFromDomainNotVerified")
def _mail_from(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        "SES could not read the MX record of the custom MAIL FROM domain of the identity of "
        f"the sender {_sender(f)} in {f.source}: fix that domain's MX record, or set the "
        "identity's behaviour on MX failure to use the default MAIL FROM domain (SES console, the "
        "identity's Custom MAIL FROM domain); then rds-backup redrive.",
    )


@_rule("ConfigurationSetDoesNotExistException", "ConfigurationSetDoesNotExist")
def _no_configuration_set(f: _Facts) -> tuple[RemedyKind, str]:
    name = f.settings.ses_configuration_set if f.settings else None
    if name:
        return (
            "config",
            f"The SES configuration set SES_CONFIGURATION_SET={name} does not exist in "
            f"{f.source}: create it there (aws sesv2 create-configuration-set "
            f"--configuration-set-name {name} --region {f.source}), or clear "
            "SES_CONFIGURATION_SET, and redeploy; then rds-backup redrive.",
        )
    return (
        "fix",
        "The email named no configuration set (SES_CONFIGURATION_SET is empty), so the one "
        f"SES used is the default configuration set of the identity of the sender {_sender(f)}, "
        f"and it does not exist in {f.source}: remove that default from the identity (SES "
        "console, the identity's configuration set), or create the set; then rds-backup "
        "redrive.",
    )


@_rule("ConfigurationSetSendingPausedException")
def _configuration_set_paused(f: _Facts) -> tuple[RemedyKind, str]:
    configured = f.settings.ses_configuration_set if f.settings else None
    name = configured or "<set>"
    which = (
        f"SES_CONFIGURATION_SET={configured}"
        if configured
        else f"the identity's default set (of the sender {_sender(f)}; SES_CONFIGURATION_SET "
        "names none)"
    )
    return (
        "fix",
        f"Sending is paused for the SES configuration set {which} in {f.source}: enable it "
        "(aws ses update-configuration-set-sending-enabled "
        f"--configuration-set-name {name} --enabled --region {f.source}); then rds-backup "
        "redrive.",
    )


@_rule("AccountSendingPausedException")
def _account_paused(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"SES sending is paused for the whole account in {f.source} (often for its bounce or "
        "complaint rate: see the SES console's reputation metrics). Resolve that, then "
        f"enable sending (aws ses update-account-sending-enabled --enabled --region {f.source}) "
        "and rds-backup redrive.",
    )


# EventBridge, Scheduler, DynamoDB, S3 ------------------------------------------------------


@_rule("PutEventsFailed")
def _put_events_failed(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"EventBridge accepted the request but refused the entry on the default bus of "
        f"{f.source} (the cause has the entry's error). Lambda retries the step. If it "
        "persists: the function's role needs events:PutEvents on that bus, and an entry's "
        "Source may not start with 'aws.' (docs/ARCHITECTURE.md, 'AWS facts').",
    )


@_rule("ConflictException")
def _schedule_conflict(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "waits",
        "The cluster copy check was already arranged (its schedule name is derived from the "
        "copy and the attempt): a duplicate, and the chain takes it as done. Nothing to do.",
    )


@_rule("ServiceQuotaExceededException")
def _schedule_quota(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"EventBridge Scheduler's schedules quota in {f.source} is full. The copy checks are "
        "one-time schedules deleted after they run (ActionAfterCompletion DELETE); delete "
        "finished schedules of other tools, or raise the quota (Service Quotas → Amazon "
        "EventBridge Scheduler). Reconcile looks at the copy meanwhile.",
    )


@_rule("ResourceNotFoundException")
def _resource_not_found(f: _Facts) -> tuple[RemedyKind, str]:
    if f.service == "dynamodb":
        return (
            "config",
            f"The idempotency table {f.var('IDEMPOTENCY_TABLE')} does not exist (or is not "
            f"ACTIVE) in {f.source}: the stack creates {f.stack}-idempotency; redeploy, or set "
            "IDEMPOTENCY_TABLE to the table's name. Then rds-backup redrive.",
        )
    if f.service == "scheduler":
        return (
            "config",
            f"The schedule group {f.var('COPY_CHECK_GROUP')} does not exist in {f.source}: the "
            "stack creates it (infra/resources/clusters.yml); redeploy, or set "
            "COPY_CHECK_GROUP to an existing group. Reconcile looks at the copy meanwhile.",
        )
    return (
        "config",
        f"A resource the stack names does not exist in {f.source}: the idempotency table "
        f"({f.var('IDEMPOTENCY_TABLE')}), the copy check group ({f.var('COPY_CHECK_GROUP')}), "
        f"the event bus ({f.var('EVENT_BUS_NAME')}) or a function; the cause names it. "
        "Redeploy the stack (npm run deploy), or correct the variable.",
    )


@_rule("ConditionalCheckFailedException")
def _condition_failed(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        "Another delivery of the same event claimed this outcome first (a duplicate or a "
        "concurrent invocation): the claim is the exactly-once guard, and Lambda retries "
        "this one, which then finds the outcome told. Nothing to do.",
    )


@_rule("TransactionConflictException", "ReplicatedWriteConflictException")
def _write_conflict(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"DynamoDB refused a write to {f.var('IDEMPOTENCY_TABLE')} while another write of the "
        "same item was in progress: Lambda retries it. If it persists, check that no other "
        "tool (or a global table replica) writes the stack's idempotency table.",
    )


@_rule("ItemCollectionSizeLimitExceededException")
def _item_collection(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "bug",
        "DynamoDB refused an item collection over its size limit, which only tables with "
        f"local secondary indexes have; the stack's table ({f.var('IDEMPOTENCY_TABLE')}) has "
        "none. Report it with the cause.",
    )


@_rule("IdempotencyAlreadyInProgressError")
def _claim_in_progress(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        "Another invocation is telling this outcome right now (its claim is in progress): "
        "Lambda retries this one, which then finds the email sent. Nothing to do.",
    )


@_rule("IdempotencyPersistenceLayerError")
def _claim_failed(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "retried",
        f"The outcome's claim could not be read or written in {f.var('IDEMPOTENCY_TABLE')} "
        f"({f.source}): Lambda retries. If it persists, the cause names DynamoDB's error "
        "(permissions: dynamodb:GetItem/PutItem/UpdateItem/DeleteItem on the table).",
    )


@_rule("NoSuchKey")
def _no_such_key(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"An export's status file is gone from {f.bucket()[0]} (deleted, or expired by a "
        "lifecycle rule): the email cannot name the tables left out of that export, and "
        "nothing else is affected.",
    )


@_rule("InvalidObjectState")
def _archived(f: _Facts) -> tuple[RemedyKind, str]:
    prefix = f.var("EXPORT_S3_PREFIX")
    return (
        "fix",
        f"An export's status file in {f.bucket()[0]} was moved to an archive storage class "
        f"by a lifecycle rule: exclude the export_*info_*.json files under {prefix}/ from "
        "that rule (or restore the object) so notify can read them.",
    )


@_rule("NoSuchBucket")
def _no_such_bucket(f: _Facts) -> tuple[RemedyKind, str]:
    setting, region = f.bucket()
    return (
        "config",
        f"The bucket {setting} does not exist in {region}: create it there (or set the "
        "variable to a bucket of that region) and redeploy. `rds-backup doctor` (check "
        "buckets) confirms it.",
    )


# The project's own codes --------------------------------------------------------------------


@_rule("StepOverdue")
def _overdue(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The step ran past its deadline ({f.var('STEP_DEADLINE_HOURS')} hours for a snapshot "
        f"or copy, {f.var('EXPORT_DEADLINE_HOURS')} for an export, counted from its start) or "
        f"its RDS event never came. Look at {f.snap} and its export task in the RDS console "
        f"of {f.where()}: if it is stuck, cancel it (aws rds cancel-export-task for an export) "
        f"and {f.start_again()}; if it is only slow (a large database), raise the deadline.",
    )


@_rule("ExportCanceled")
def _export_canceled(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"The export of {f.snap} in {f.where()} was canceled (CancelExportTask, by a person or "
        "a tool); files it wrote stay in the bucket. To export again, replay the snapshot's "
        "RDS-EVENT-0060 (a new attempt, -a2).",
    )


@_rule("CopyCanceled")
def _copy_canceled(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"The cross-region copy of {f.snap} into {f.target} was canceled (RDS-EVENT-0061: the "
        "copy was deleted while copying, or canceled by a person); the source is kept. Replay "
        f"the run's RDS-EVENT-0042 to copy again, or {f.start_again()}.",
    )


@_rule("ClusterCopyFailed")
def _cluster_copy_failed(f: _Facts) -> tuple[RemedyKind, str]:
    setting, _ = replace(f, region=f.target).key()
    return (
        "fix",
        f"The cross-region copy of the DB cluster snapshot {f.snap} ended failed in "
        f"{f.target}. Check the key {setting} there (Enabled; its policy lets RDS and the "
        "copy_snapshot and reconcile roles use it: kms:CreateGrant, kms:DescribeKey), and "
        "that the cluster is Aurora (a Multi-AZ DB cluster's snapshots cannot be copied, "
        "'Limitations of Multi-AZ DB clusters'). Then delete the failed copy and replay the "
        f"run's RDS-EVENT-0075, or {f.start_again()}.",
    )


@_rule("ClusterCopyVanished")
def _cluster_copy_vanished(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"The DB cluster snapshot copy {f.snap} disappeared from {f.target} before it became "
        "available (deleted while copying, which cancels it, or removed after it failed). "
        f"Replay the run's RDS-EVENT-0075, or {f.start_again()}.",
    )


@_rule("NoRestorableCopy")
def _no_restorable_copy(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"No copy of {f.db} is available in {f.target}, so the drill had nothing to restore. "
        "Read the database's backup emails and `rds-backup status`: the nightly chain has not "
        f"made a copy there (a failed snapshot or copy, the manual snapshot quota). Once a "
        f"copy is available the drill runs on its next drill day, or {f.start_again()}.",
    )


@_rule("RestoreFailed")
def _restore_failed(f: _Facts) -> tuple[RemedyKind, str]:
    setting, _ = replace(f, region=f.target).key()
    return (
        "fix",
        f"Restoring the copy in {f.target} failed. Check that RDS may use the copy's key "
        f"({setting}: kms:CreateGrant, kms:DescribeKey for the drill roles), that "
        "DRILL_SUBNET_GROUP and DRILL_SECURITY_GROUP_IDS exist there, and the DB instances "
        "quota of the region (`rds-backup doctor` checks each). The drill runs again on its "
        "next drill day.",
    )


@_rule("DrillVanished")
def _drill_vanished(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "gone",
        f"The drill instance of {f.db} disappeared from {f.target} before it was checked "
        "(deleted by a person or another tool). Nothing to repair: the drill runs again on its "
        "next drill day.",
    )


@_rule("DrillProbeMissing")
def _drill_probe_missing(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        "No probe function is configured (DRILL_PROBE_FUNCTION): deploy the target-region "
        "stack with the drill network (DRILL_PROBE_SUBNET_IDS, DRILL_PROBE_SECURITY_GROUP_IDS), "
        "then redeploy the main stack, which sets DRILL_PROBE_FUNCTION (docs/RECOVERY.md).",
    )


@_rule("DrillProbeFailed")
def _drill_probe_failed(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The probe in {f.target} could not run the checks on the restored database. Let the "
        "drill's security groups (DRILL_SECURITY_GROUP_IDS) accept the probe's "
        "(DRILL_PROBE_SECURITY_GROUP_IDS) on the database port, and give the drill network a "
        "Secrets Manager interface VPC endpoint, so the probe can read the drill's credentials "
        "(docs/RECOVERY.md, 'The drill network').",
    )


@_rule("DrillCheckFailed")
def _drill_check_failed(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The restored copy of {f.db} did not pass the checks shown (each with its value and "
        "what was expected): look at the source database and at what the nightly snapshot "
        "captures; if a check itself is wrong, correct DRILL_CHECKS and redeploy.",
    )


@_rule("DrillOverdue")
def _drill_overdue(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "fix",
        f"The drill of {f.db} ran past DRILL_MAX_HOURS and was deleted to cap its cost. A large "
        "database may need a longer DRILL_MAX_HOURS; otherwise read the restore's events in the "
        f"RDS console of {f.target}.",
    )


@_rule("QuotaUnknown")
def _quota_unknown(f: _Facts) -> tuple[RemedyKind, str]:
    quota = "ManualClusterSnapshots" if f.cluster else "ManualSnapshots"
    return (
        "retried",
        f"DescribeAccountAttributes in {f.where('source')} did not report {quota}, so the "
        "step could not check the manual snapshot quota; the next invocation asks again. If "
        "it persists, the endpoint is not RDS's (AWS_ENDPOINT_URL) or AWS changed the "
        "answer: report it with the cause.",
    )


@_rule("ConfigError")
def _config_error(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "config",
        "The stack's settings are invalid; the cause names every variable to fix. Correct "
        "them (deploy parameters, infra/config.yml), check with `python -m rds_backup.settings "
        "--check` (packaging runs the same check), and redeploy.",
    )


@_rule("InvalidEvent")
def _invalid_event(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "bug",
        "A function received an event that does not match its contract (events/*.py); "
        "nothing was changed. Report it with the cause and the event (the DLQ or the "
        "archive holds it).",
    )


# The export task's FailureCause texts ("Failure messages for Amazon S3 export tasks") -------


@dataclass(frozen=True)
class ExportFailure:
    """One documented FailureCause of an export task, and what fixes it."""

    name: str
    pattern: re.Pattern[str]
    kind: RemedyKind
    words: Callable[[_Facts], str]


def _unknown_internal(f: _Facts) -> str:
    return (
        "RDS failed inside the export (an unknown internal error). Replay the snapshot's "
        "RDS-EVENT-0060 to start a new attempt (-a2); if that fails the same way, open an AWS "
        "Support case with the export task's id."
    )


def _cannot_assume(f: _Facts) -> str:
    return (
        f"RDS could not assume the export role {f.export_role}: its trust policy must allow "
        f"{EXPORT_SERVICE} sts:AssumeRole (not rds.amazonaws.com), and an aws:SourceAccount "
        f"condition must name {f.account}. `rds-backup doctor` (export-role-trust); then "
        "replay the snapshot's RDS-EVENT-0060 (a new attempt, -a2)."
    )


def _metadata_write(f: _Facts) -> str:
    cause = f.cause or ""
    code = cause.rsplit("Error code:", 1)[-1].strip().rstrip(".") if "Error code:" in cause else ""
    setting, region = f.bucket()
    key, _ = f.key()
    if "KMS" in code:
        return (
            f"RDS could not use the key {key} while writing the export ({code}): the key is "
            f"disabled or pending deletion in {region}; enable it (aws kms enable-key, or "
            "cancel-key-deletion first), then replay the snapshot's RDS-EVENT-0060 (-a2)."
        )
    if "NoSuchBucket" in code:
        return (
            f"The bucket {setting} does not exist in {region}: create it there (or point the "
            "variable at a bucket of that region) and redeploy, then replay the snapshot's "
            "RDS-EVENT-0060 (-a2)."
        )
    return (
        f"The export role {f.export_role}, the bucket {setting} or the key {key} is "
        f"misconfigured ({code or 'see the error code'}): AccessDenied from STS is the role's "
        f"trust ({EXPORT_SERVICE}); AccessDenied or 403 Forbidden from S3 is the role's S3 "
        f"policy ({_export_policy(f)}) or a bucket policy denying it; a KMS code is the key. "
        "Fix it, then replay the snapshot's RDS-EVENT-0060 (-a2)."
    )


def _not_authorized(f: _Facts) -> str:
    named = re.search(r"to call (\S+)", f.cause or "")
    action = f" ({named.group(1)})" if named else ""
    return (
        f"The export role {f.export_role} lacks an S3 permission{action} on {f.bucket()[0]}: "
        f"{_export_policy(f)}. Then replay the snapshot's RDS-EVENT-0060 (a new attempt, -a2)."
    )


def _kms_check(f: _Facts) -> str:
    return (
        f"RDS could not use the export key {f.key()[0]} in {f.key()[1]}: its key policy must "
        "allow the exporting functions kms:CreateGrant and kms:DescribeKey and the export "
        f"role {f.export_role_arn} {', '.join(EXPORT_ROLE_KMS_ACTIONS)}; a Deny statement must "
        f"exclude {EXPORT_SERVICE}. Then replay the snapshot's RDS-EVENT-0060 (-a2)."
    )


def _s3_check(f: _Facts) -> str:
    return (
        f"RDS's S3 check failed for {f.bucket()[0]}: the export role {f.export_role} needs "
        f"{_export_policy(f)}, and the bucket policy must not deny it. `rds-backup doctor` "
        "(export-role-access); then replay the snapshot's RDS-EVENT-0060 (-a2)."
    )


def _bucket_invalid(f: _Facts) -> str:
    setting, region = f.bucket()
    return (
        f"{setting} does not exist or is not in {region}: an export writes to a bucket in the "
        f"snapshot's region. Create it in {region} or set the variable to a bucket there, "
        "redeploy, then replay the snapshot's RDS-EVENT-0060 (-a2)."
    )


def _cluster_data(f: _Facts) -> str:
    return (
        "The export tried to clone a DB cluster (an export of cluster data): the chain "
        "exports only snapshots. Report it with the cause."
    )


def _postgres_permissions(f: _Facts) -> str:
    return (
        f"Tables of {f.db} were skipped: the master user lacks privileges on them "
        "(PERMISSIONS_DO_NOT_EXIST, 'Troubleshooting PostgreSQL permissions errors'). On the "
        "database run GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA <schema> TO "
        "<master user>; the next night's export includes them."
    )


EXPORT_FAILURES: tuple[ExportFailure, ...] = (
    ExportFailure(
        "ExportCannotAssumeRole",
        re.compile(r"can't assume the\s+IAM role", re.IGNORECASE),
        "fix",
        _cannot_assume,
    ),
    ExportFailure(
        "ExportMetadataWriteFailed",
        re.compile(r"failed to write the export task's metadata to the S3 bucket", re.I),
        "fix",
        _metadata_write,
    ),
    ExportFailure(
        "ExportMetadataInternalError",
        re.compile(r"unknown internal error occurred writing the export task's metadata", re.I),
        "retried",
        _unknown_internal,
    ),
    ExportFailure(
        "ExportInternalError",
        re.compile(r"an unknown internal error occurred", re.IGNORECASE),
        "retried",
        _unknown_internal,
    ),
    ExportFailure(
        "ExportRoleNotAuthorized",
        re.compile(r"isn't authorized to call .* on the S3 bucket", re.IGNORECASE),
        "fix",
        _not_authorized,
    ),
    ExportFailure(
        "ExportKmsCheckFailed",
        re.compile(r"KMS key check failed", re.IGNORECASE),
        "fix",
        _kms_check,
    ),
    ExportFailure(
        "ExportS3CheckFailed",
        re.compile(r"S3 credential check failed", re.IGNORECASE),
        "fix",
        _s3_check,
    ),
    ExportFailure(
        "ExportBucketInvalid",
        re.compile(r"S3 bucket .* (isn't valid|isn't located in the current)", re.IGNORECASE),
        "config",
        _bucket_invalid,
    ),
    ExportFailure(
        "ExportSourceClusterUnreachable",
        re.compile(r"Failed to find or access the source DB cluster", re.IGNORECASE),
        "bug",
        _cluster_data,
    ),
    ExportFailure(
        "ExportTablesWithoutPermissions",
        re.compile(r"PERMISSIONS_DO_NOT_EXIST"),
        "fix",
        _postgres_permissions,
    ),
)


def export_failure(cause: str) -> ExportFailure | None:
    """The documented FailureCause ``cause`` is, if any (the most specific first)."""
    return next((failure for failure in EXPORT_FAILURES if failure.pattern.search(cause)), None)


@_rule("ExportFailed")
def _export_failed(f: _Facts) -> tuple[RemedyKind, str]:
    known = export_failure(f.cause or "")
    if known is not None:
        return known.kind, known.words(f)
    return (
        "fix",
        f"Fix what the cause names — usually the export role {f.export_role}'s S3 or KMS "
        f"permissions ({_export_policy(f)}), the bucket policy of {f.bucket()[0]}, or the key "
        f"policy of {f.key()[0]} — then replay the archived RDS-EVENT-0060 for {f.snap}: "
        "export_snapshot starts a new attempt (-a2, -a3, ...) and a success email follows.",
    )


@_rule("StepFailed", "StartFailed", "ReconcileFailed", "BackupError", "Unknown")
def _wrapped(f: _Facts) -> tuple[RemedyKind, str]:
    return (
        "bug",
        f"The {f.step or 'step'} failed without an AWS error code; the cause is the "
        "function's own message. Report it with the cause; after the fix, "
        f"{_replay(f)[5:]}.",
    )


# --- the entry ---------------------------------------------------------------------------


def _operation_name(operation: str | None) -> tuple[str | None, str | None]:
    """(service, botocore operation name) for ``CopyDBSnapshot`` or ``copy_db_snapshot``."""
    if not operation:
        return None, None
    flat = operation.replace("_", "").lower()
    for service, names in CHAIN_OPERATIONS.items():
        for name in names:
            if name.lower() == flat:
                return service, name
    return None, operation


def remedy_for(
    code: str | None,
    *,
    service: str | None = None,
    operation: str | None = None,
    settings: Settings | None = None,
    database: str | None = None,
    snapshot: str | None = None,
    region: str | None = None,
    kind: str | None = None,
    step: str | None = None,
    cause: str | None = None,
) -> Remedy:
    """The remedy for error ``code`` (an AWS code in either spelling, ``…Fault`` or not; a
    project code; an RDS failure event id), worded with the failure's facts.

    ``service``/``operation``: the call that failed (botocore names, or boto3's snake case);
    ``kind``: ``"instance"`` or ``"cluster"``; ``step``: the failing function's short name
    (``copy_snapshot``), which narrows whose role an AccessDenied names; ``cause``: AWS's
    message — it tells the copy limit from the manual snapshot quota, and an export's
    documented FailureCause from another. A wrapper code (StepFailed) with a cause holding
    "An error occurred (Code) when calling the Op operation" is read as that code and call.
    """
    found_service, op = _operation_name(operation)
    service = service or found_service
    code = code or "Unknown"
    code = FAILURE_EVENTS.get(code, code)
    if code in WRAPPERS and cause and (inner := CLIENT_ERROR_TEXT.search(cause)):
        code = inner.group(1)
        inner_service, op = _operation_name(inner.group(2))
        service = inner_service or service
    facts = _Facts(code, service, op, settings, database, snapshot, region, kind, step, cause)
    canonical = _canonical(code)
    rule = _RULES.get((service, canonical)) or _RULES.get((None, canonical))
    if rule is None:
        return Remedy(
            code,
            "unknown",
            f"No remedy is catalogued for {code} (rds_backup/model/remedies.py): AWS's own "
            "words are in the cause above; the step, database and region tell where to look.",
        )
    remedy_kind, text = rule(facts)
    return Remedy(code, remedy_kind, text)


def catalogued(code: str, service: str | None = None) -> bool:
    """Whether ``code`` has a remedy of its own (not the ``unknown`` fallback)."""
    canonical = _canonical(FAILURE_EVENTS.get(code, code))
    return (service, canonical) in _RULES or (None, canonical) in _RULES
