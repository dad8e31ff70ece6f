"""Named faults for ``rds-backup local up --misconfigure NAME,...``: one per doctor check, each
the mistake a first deployment really makes, so every check of ``rds-backup doctor`` can be
seen failing (and its fix read) without an AWS account.

A fault either changes the stack's configuration (applied before the functions are
registered, so they and the printed environment carry it) or changes AWS's state after the
healthy world is built. :func:`build` does both around :func:`rds_backup.local.deployed.deploy`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rds_backup.aws import Aws
from rds_backup.local import deployed
from rds_backup.local.seed import (
    EXPORT_POLICY_NAME,
    EXPORT_ROLE_NAME,
    WorldSpec,
    create_database,
    export_role_policy,
    trust_policy,
)
from rds_backup.local.stack import ACCOUNT

if TYPE_CHECKING:
    from rds_backup.local.harness import LocalAws


def _nothing(local: LocalAws) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    name: str
    check: str  # the doctor check that must fail
    what: str  # one line for --help
    apply: Callable[[LocalAws], None] = _nothing
    environment: Mapping[str, str] = field(default_factory=dict)
    # How to undo it against the running local AWS ({url}, {region}), printed by local up.
    undo: str = ""


class UnknownFault(ValueError):
    """A --misconfigure name that is not in the catalogue; the message lists them."""


def _database_key_policy_locked(local: LocalAws) -> None:
    """Each database key's policy names only a key-admin role: neither the account (no
    delegation to IAM) nor the copying roles may use it."""
    kms = local.server.client("kms", local.spec.source_region)
    admin = f"arn:aws:iam::{ACCOUNT}:role/key-admin"
    locked = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    for key in deployed.database_keys(local):
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(locked))


def _sender_unverified(local: LocalAws) -> None:
    local.server.client("ses", local.spec.source_region).delete_identity(
        Identity=local.spec.sender_email
    )


def _recipient_unverified(local: LocalAws) -> None:
    local.server.client("ses", local.spec.source_region).delete_identity(
        Identity=local.spec.admin_email.split(",")[0].strip()
    )


def _export_role_trusts_rds(local: LocalAws) -> None:
    """The usual slip: the role trusts rds.amazonaws.com, not RDS's export service."""
    trust = trust_policy("rds.amazonaws.com")
    local.server.client("iam", local.spec.source_region).update_assume_role_policy(
        RoleName=EXPORT_ROLE_NAME, PolicyDocument=json.dumps(trust)
    )


# What the seeded export role's policy is (seed.py): putting it back undoes export-role-s3.
EXPORT_POLICY = export_role_policy([WorldSpec.source_bucket, WorldSpec.target_bucket])


def _compact(document: Mapping[str, object]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _export_role_without_s3(local: LocalAws) -> None:
    local.server.client("iam", local.spec.source_region).delete_role_policy(
        RoleName=EXPORT_ROLE_NAME, PolicyName=EXPORT_POLICY_NAME
    )


def _target_bucket_in_source_region(local: LocalAws) -> None:
    """TARGET_BUCKET made in the source region (both buckets next to the database)."""
    bucket, region = local.spec.target_bucket, local.spec.source_region
    local.server.client("s3", local.spec.target_region).delete_bucket(Bucket=bucket)
    s3 = local.server.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def _snapshot_quota_low(local: LocalAws) -> None:
    """The target region's manual snapshot quota below what retention keeps there (2
    databases x 16 snapshots at RETENTION_DAYS=15)."""
    local.set_quota(local.spec.target_region, manual_snapshots=20)


def _forwarding_rule_missing(local: LocalAws) -> None:
    """The target-region stack was never deployed."""
    events = local.server.client("events", local.spec.target_region)
    name = f"{local.main_stack_name}-forward-to-source"
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=name)


def _rule_disabled(local: LocalAws) -> None:
    local.server.client("events", local.spec.source_region).disable_rule(
        Name=f"{local.main_stack_name}-copy-finished"
    )


def _archive_missing(local: LocalAws) -> None:
    local.server.client("events", local.spec.source_region).delete_archive(
        ArchiveName=f"{local.main_stack_name}-chain"
    )


def _last_database(local: LocalAws) -> str:
    return local.spec.databases[-1]


def _replace_database(local: LocalAws, **create: str) -> None:
    """Delete the last configured database and create one of the same name differently."""
    region, database = local.spec.source_region, _last_database(local)
    rds = local.server.client("rds", region)
    key = rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"][0].get("KmsKeyId")
    rds.delete_db_instance(DBInstanceIdentifier=database, SkipFinalSnapshot=True)
    if create.get("engine"):
        rds.create_db_instance(
            DBInstanceIdentifier=database,
            Engine=create["engine"],
            DBInstanceClass="db.t3.small",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword="local-only-password",
            LicenseModel="license-included",
            StorageEncrypted=True,
            KmsKeyId=str(key),
        )
    else:
        create_database(Aws(), region, database)  # unencrypted


def _database_unencrypted(local: LocalAws) -> None:
    _replace_database(local)


def _database_on_sql_server(local: LocalAws) -> None:
    _replace_database(local, engine="sqlserver-ex")


def _target_key_disabled(local: LocalAws) -> None:
    key = local.environment.get("TARGET_KMS_KEY_ID") or local.environment["KMS_KEY_ID"]
    # moto's DisableKey takes the key id only (AWS takes the ARN too)
    local.server.client("kms", local.spec.target_region).disable_key(KeyId=key.rsplit("/", 1)[-1])


FAULTS: tuple[Fault, ...] = (
    Fault(
        "config-invalid",
        "config",
        "TARGET_KMS_KEY_ID is the source region's key (the handlers refuse it)",
        environment={"TARGET_KMS_KEY_ID": "from-source"},
    ),
    Fault(
        "db-missing",
        "db-exists",
        "DB_IDENTIFIER names a database that does not exist (payroll)",
        environment={"DB_IDENTIFIER": "from-spec+payroll"},
    ),
    Fault(
        "db-engine",
        "db-engine",
        "the last database runs SQL Server, which cannot export snapshots",
        _database_on_sql_server,
    ),
    Fault(
        "db-unencrypted",
        "db-encrypted",
        "the last database is not encrypted",
        _database_unencrypted,
    ),
    Fault(
        "kms-key-policy",
        "db-key-access",
        "the databases' key policy names only a key-admin role (not the copying roles)",
        _database_key_policy_locked,
    ),
    Fault(
        "target-key-disabled",
        "target-key",
        "the target region's KMS key is disabled",
        _target_key_disabled,
    ),
    Fault(
        "export-role-trust",
        "export-role-trust",
        "the export role trusts rds.amazonaws.com instead of export.rds.amazonaws.com",
        _export_role_trusts_rds,
    ),
    Fault(
        "export-role-s3",
        "export-role-access",
        "the export role has no S3 policy (exports fail as on AWS)",
        _export_role_without_s3,
        undo=(
            f"aws iam put-role-policy --role-name {EXPORT_ROLE_NAME} --policy-name "
            f"{EXPORT_POLICY_NAME} --policy-document '{_compact(EXPORT_POLICY)}' "
            "--endpoint-url {url} --region {region}"
        ),
    ),
    Fault(
        "bucket-region",
        "buckets",
        "TARGET_BUCKET was created in the source region",
        _target_bucket_in_source_region,
    ),
    Fault(
        "ses-unverified",
        "ses-sender",
        "the sender address is not verified in SES",
        _sender_unverified,
    ),
    Fault(
        "ses-recipient",
        "ses-recipients",
        "in the SES sandbox, the admin address is not verified",
        _recipient_unverified,
    ),
    Fault(
        "snapshot-quota",
        "snapshot-quota",
        "the target region's manual snapshot quota is 20 (retention keeps 32)",
        _snapshot_quota_low,
    ),
    Fault(
        "export-capacity",
        "export-capacity",
        "EXPORT_HOURS_ESTIMATE=60: two exports a night need 120 h of the 100 h",
        environment={"EXPORT_HOURS_ESTIMATE": "60"},
    ),
    Fault(
        "rule-disabled",
        "rules",
        "the copy-finished rule is disabled",
        _rule_disabled,
    ),
    Fault(
        "forwarding-rule",
        "forwarding-rule",
        "the target-region stack (its forwarding rule) is not deployed",
        _forwarding_rule_missing,
    ),
    Fault(
        "archive-missing",
        "archive",
        "the chain archive was deleted",
        _archive_missing,
    ),
)
BY_NAME = {fault.name: fault for fault in FAULTS}


def faults(names: Sequence[str]) -> list[Fault]:
    """The catalogue entries for ``names``; an unknown name raises with the known ones."""
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return [BY_NAME[name] for name in names]


def parse(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def catalogue() -> str:
    """One line per fault, for --help."""
    width = max(len(f.name) for f in FAULTS)
    return "\n".join(f"  {f.name:<{width}}  {f.what} (doctor: {f.check})" for f in FAULTS)


def build(local: LocalAws, names: Sequence[str] = ()) -> dict[str, str]:
    """Make the started local AWS a deployed stack with ``names`` seeded; return the
    functions' environment (what an operator exports)."""
    chosen = faults(names)
    for fault in chosen:
        if fault.environment:
            local.configure(**_environment(local, fault.environment))
    environment = deployed.deploy(local)
    for fault in chosen:
        fault.apply(local)
    return environment


def _environment(local: LocalAws, values: Mapping[str, str]) -> dict[str, str]:
    """Resolve the catalogue's placeholders against this world."""
    resolved = {}
    for key, value in values.items():
        if value == "from-source":
            value = local.environment.get("SOURCE_KMS_KEY_ID", local.environment["KMS_KEY_ID"])
        elif value.startswith("from-spec+"):
            value = ",".join([*local.spec.databases, value.removeprefix("from-spec+")])
        resolved[key] = value
    return resolved
