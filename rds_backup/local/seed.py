"""Seed a local AWS (moto, in-process or server) with what a real account would have:
an encrypted database per id (DB instances, and DB clusters: Aurora PostgreSQL and Aurora
MySQL in turn), KMS keys in both regions, the two buckets, the export role (trusted by RDS's
export service, with the S3 actions StartExportTask documents), the role the cluster copy
checks' schedules run as (trusted by EventBridge Scheduler), a verified
SES sender and verified recipients (a new SES account is in the sandbox, where only verified
addresses receive mail) and the idempotency table. Returns the environment for Settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rds_backup.aws import Aws
from rds_backup.local.accounts import VaultSpec

ACCOUNT = "123456789012"


def trust_policy(service: str) -> dict[str, Any]:
    """A role trust policy letting ``service`` assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


EXPORT_TRUST = trust_policy("export.rds.amazonaws.com")
SCHEDULER_TRUST = trust_policy("scheduler.amazonaws.com")
CLUSTER_ENGINES = ("aurora-postgresql", "aurora-mysql")
EXPORT_ROLE_NAME = "rds-backup-export"
EXPORT_POLICY_NAME = "export-to-s3"
# The actions the RDS API reference (StartExportTask, IamRoleArn) asks of the export role, on
# the bucket and its objects.
EXPORT_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
EXPORT_OBJECT_ACTIONS = ["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*"]


def export_role_policy(buckets: Sequence[str]) -> dict[str, Any]:
    """The export role's S3 policy on ``buckets`` (the shape infra/resources/export.yml
    gives the role the stack creates)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": EXPORT_BUCKET_ACTIONS,
                "Resource": [f"arn:aws:s3:::{bucket}" for bucket in buckets],
            },
            {
                "Effect": "Allow",
                "Action": EXPORT_OBJECT_ACTIONS,
                "Resource": [f"arn:aws:s3:::{bucket}/*" for bucket in buckets],
            },
        ],
    }


@dataclass(frozen=True)
class WorldSpec:
    source_region: str = "us-east-1"
    target_region: str = "us-west-2"
    databases: Sequence[str] = ("orders", "billing")
    source_bucket: str = "acme-rds-backup-use1"
    target_bucket: str = "acme-rds-backup-usw2"
    admin_email: str = "dba@example.com"
    sender_email: str = "rds-backup@example.com"
    idempotency_table: str = "rds-backup-idempotency"
    multi_region_key: bool = False
    store_to_source_s3: bool = False
    keep_source_snapshot: bool = False
    clusters: Sequence[str] = ()  # DB clusters, configured in DB_IDENTIFIER with the instances
    # The target region's restore network (VPC, DB subnet group, security group, DB parameter
    # group) named in RESTORE_*: `rds-backup restore` and doctor's restore-groups check use
    # it. Off by default: RESTORE_SUBNET_GROUP also turns the restore drills on.
    restore_network: bool = False
    # A real PostgreSQL behind the PostgreSQL DB instances (rds_backup/local/engine.py):
    # seeded rows, snapshots of them, restores that load them. Off: moto's records only.
    engine: bool = False
    # A second, vault account (accounts.py): seeded by the harness when given.
    vault: VaultSpec | None = None


def seed_world(aws: Aws, spec: WorldSpec = WorldSpec()) -> dict[str, str]:
    """Create the world and return the environment a deployed stack would have."""
    src, tgt = spec.source_region, spec.target_region
    env = {
        "SOURCE_REGION": src,
        "TARGET_REGION": tgt,
        "DB_IDENTIFIER": ",".join([*spec.databases, *spec.clusters]),
        "SOURCE_BUCKET": spec.source_bucket,
        "TARGET_BUCKET": spec.target_bucket,
        "ADMIN_EMAIL": spec.admin_email,
        "SENDER_EMAIL": spec.sender_email,
        "IDEMPOTENCY_TABLE": spec.idempotency_table,
        "STORE_TO_SOURCE_S3": str(spec.store_to_source_s3).lower(),
        "KEEP_SOURCE_SNAPSHOT": str(spec.keep_source_snapshot).lower(),
    }
    env.update(_keys(aws, src, tgt, spec.multi_region_key))
    source_key = env.get("SOURCE_KMS_KEY_ID") or env["KMS_KEY_ID"]
    for database in spec.databases:
        create_database(aws, src, database, source_key)
    for position, cluster in enumerate(spec.clusters):
        create_cluster(aws, src, cluster, CLUSTER_ENGINES[position % 2], source_key)
    for region, bucket in ((src, spec.source_bucket), (tgt, spec.target_bucket)):
        _bucket(aws, region, bucket)
    iam = aws.client("iam", src)
    role = iam.create_role(
        RoleName=EXPORT_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(EXPORT_TRUST)
    )
    iam.put_role_policy(
        RoleName=EXPORT_ROLE_NAME,
        PolicyName=EXPORT_POLICY_NAME,
        PolicyDocument=json.dumps(export_role_policy([spec.source_bucket, spec.target_bucket])),
    )
    env["EXPORT_ROLE_ARN"] = role["Role"]["Arn"]
    checks = iam.create_role(
        RoleName="rds-backup-copy-check", AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST)
    )
    env["COPY_CHECK_ROLE_ARN"] = checks["Role"]["Arn"]
    for address in {spec.sender_email, *spec.admin_email.split(",")}:
        aws.ses(src).verify_email_identity(EmailAddress=address.strip())
    create_idempotency_table(aws, src, spec.idempotency_table)
    if spec.restore_network:
        env.update(create_restore_network(aws, tgt))
    return env


RESTORE_GROUP = "rds-backup-restore"


def create_restore_network(aws: Aws, region: str, name: str = RESTORE_GROUP) -> dict[str, str]:
    """What an account prepares in the target region for restores: a VPC with subnets in two
    Availability Zones (a DB subnet group must cover two: RDS User Guide, "Working with a DB
    instance in a VPC"), its DB subnet group, a security group, a DB parameter group; the
    RESTORE_* variables that name them."""
    ec2 = aws.client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{n}.0/24", AvailabilityZone=f"{region}{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    rds = aws.rds(region)
    rds.create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription="restores", SubnetIds=subnets
    )
    group = ec2.create_security_group(GroupName=name, Description="restores", VpcId=vpc)
    rds.create_db_parameter_group(
        DBParameterGroupName=name, DBParameterGroupFamily="postgres16", Description="restores"
    )
    return {
        "RESTORE_SUBNET_GROUP": name,
        "RESTORE_SECURITY_GROUP_IDS": group["GroupId"],
        "RESTORE_PARAMETER_GROUP": name,
    }


def _keys(aws: Aws, src: str, tgt: str, multi_region: bool) -> dict[str, str]:
    if multi_region:
        primary = aws.client("kms", src).create_key(
            Description="rds-backup multi-Region key", MultiRegion=True
        )["KeyMetadata"]
        aws.client("kms", src).replicate_key(KeyId=primary["KeyId"], ReplicaRegion=tgt)
        return {"KMS_KEY_ID": primary["Arn"]}
    source = aws.client("kms", src).create_key(Description="rds-backup source")["KeyMetadata"]
    target = aws.client("kms", tgt).create_key(Description="rds-backup target")["KeyMetadata"]
    return {"KMS_KEY_ID": target["Arn"], "SOURCE_KMS_KEY_ID": source["Arn"]}


def create_database(aws: Aws, region: str, database: str, key: str | None = None) -> None:
    """A postgres instance in moto; encrypted with ``key`` when given."""
    encryption: dict[str, Any] = {"StorageEncrypted": True, "KmsKeyId": key} if key else {}
    aws.rds(region).create_db_instance(
        DBInstanceIdentifier=database,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="local-only-password",
        **encryption,
        Tags=[{"Key": "team", "Value": "payments"}],
    )


def create_cluster(
    aws: Aws, region: str, cluster: str, engine: str = "aurora-postgresql", key: str | None = None
) -> None:
    """An Aurora DB cluster in moto; encrypted with ``key`` when given."""
    encryption: dict[str, Any] = {"StorageEncrypted": True, "KmsKeyId": key} if key else {}
    aws.rds(region).create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine=engine,
        MasterUsername="app",
        MasterUserPassword="local-only-password",
        **encryption,
        Tags=[{"Key": "team", "Value": "analytics"}],
    )


def _bucket(aws: Aws, region: str, bucket: str) -> None:
    s3 = aws.s3(region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )


def create_idempotency_table(aws: Aws, region: str, table: str) -> None:
    """The table powertools idempotency expects: partition key ``id``, TTL ``expiration``."""
    aws.dynamodb(region).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
