"""The restore manifest: what a restore needs that a snapshot does not carry.

A snapshot keeps the data, the engine and its version, the storage and the encryption; the
DB instance's *configuration* stays behind: instance class, port, Multi-AZ, the parameter,
option and subnet groups, the security groups, IAM database authentication, and for a DB
cluster its instances. RestoreDBInstanceFromDBSnapshot and RestoreDBClusterFromSnapshot take
those only where they are passed, and the groups are regional: none of them exists in the
target region unless it was made there (RDS API Reference, RestoreDBInstanceFromDBSnapshot:
"the new DB instance is created with the default security group and DB parameter group"
unless others are given; Aurora User Guide, "Restoring from a DB cluster snapshot": the
cluster is restored with no instances, each is added with CreateDBInstance).

start_backup records it from the same DescribeDBInstances / DescribeDBClusters listing the
selection reads, beside the copy in the target region (rds_backup/state/manifests.py), so it
survives the loss of the source region. Pure: built from describe records, no AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rds_backup.model.kinds import Kind

VERSION = 1


class Member(BaseModel):
    """One instance of a DB cluster, as a restore recreates it."""

    model_config = ConfigDict(frozen=True)

    identifier: str
    instance_class: str
    writer: bool = False
    promotion_tier: int | None = None
    availability_zone: str | None = None


class RestoreManifest(BaseModel):
    """The source database's configuration at snapshot time (one per snapshot)."""

    model_config = ConfigDict(frozen=True)

    version: int = VERSION
    database: str
    kind: Kind
    snapshot_id: str
    taken_at: datetime
    source_region: str
    engine: str
    engine_version: str = ""
    instance_class: str = ""  # a DB instance's, or a Multi-AZ DB cluster's DBClusterInstanceClass
    storage_type: str = ""
    allocated_storage: int | None = None
    iops: int | None = None
    storage_throughput: int | None = None
    port: int | None = None
    multi_az: bool = False
    publicly_accessible: bool = False
    deletion_protection: bool = False
    iam_auth: bool = False
    storage_encrypted: bool = False
    kms_key_id: str = ""
    master_username: str = ""
    db_name: str = ""
    parameter_group: str = ""  # the source region's names: equivalents come from settings
    cluster_parameter_group: str = ""
    option_group: str = ""
    subnet_group: str = ""
    vpc_id: str = ""
    security_groups: tuple[str, ...] = ()
    members: tuple[Member, ...] = Field(default_factory=tuple)

    def as_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> RestoreManifest:
        return cls.model_validate_json(text)


def of_instance(
    database: str,
    snapshot_id: str,
    taken_at: datetime,
    source_region: str,
    instance: Mapping[str, Any],
) -> RestoreManifest:
    """The manifest of a DB instance from its DescribeDBInstances record."""
    groups = instance.get("DBParameterGroups") or [{}]
    options = instance.get("OptionGroupMemberships") or [{}]
    subnet = instance.get("DBSubnetGroup") or {}
    endpoint = instance.get("Endpoint") or {}
    return RestoreManifest(
        database=database,
        kind=Kind.INSTANCE,
        snapshot_id=snapshot_id,
        taken_at=taken_at,
        source_region=source_region,
        engine=str(instance.get("Engine", "")),
        engine_version=str(instance.get("EngineVersion", "")),
        instance_class=str(instance.get("DBInstanceClass", "")),
        storage_type=str(instance.get("StorageType", "")),
        allocated_storage=_int(instance.get("AllocatedStorage")),
        iops=_int(instance.get("Iops")),
        storage_throughput=_int(instance.get("StorageThroughput")),
        port=_int(endpoint.get("Port") or instance.get("DbInstancePort")),
        multi_az=bool(instance.get("MultiAZ")),
        publicly_accessible=bool(instance.get("PubliclyAccessible")),
        deletion_protection=bool(instance.get("DeletionProtection")),
        iam_auth=bool(instance.get("IAMDatabaseAuthenticationEnabled")),
        storage_encrypted=bool(instance.get("StorageEncrypted")),
        kms_key_id=str(instance.get("KmsKeyId") or ""),
        master_username=str(instance.get("MasterUsername") or ""),
        db_name=str(instance.get("DBName") or ""),
        parameter_group=str(groups[0].get("DBParameterGroupName", "")),
        option_group=str(options[0].get("OptionGroupName", "")),
        subnet_group=str(subnet.get("DBSubnetGroupName", "")),
        vpc_id=str(subnet.get("VpcId", "")),
        security_groups=_security_groups(instance),
    )


def of_cluster(
    database: str,
    snapshot_id: str,
    taken_at: datetime,
    source_region: str,
    cluster: Mapping[str, Any],
    instances: Mapping[str, Mapping[str, Any]],
) -> RestoreManifest:
    """The manifest of a DB cluster from its DescribeDBClusters record and its members'
    DescribeDBInstances records (``instances``: by lower-cased identifier)."""
    members = []
    for member in cluster.get("DBClusterMembers") or []:
        name = str(member.get("DBInstanceIdentifier", ""))
        record = instances.get(name.lower(), {})
        members.append(
            Member(
                identifier=name,
                instance_class=str(record.get("DBInstanceClass", "")),
                writer=bool(member.get("IsClusterWriter")),
                promotion_tier=_int(member.get("PromotionTier")),
                availability_zone=record.get("AvailabilityZone"),
            )
        )
    members.sort(key=lambda m: (not m.writer, m.promotion_tier or 0, m.identifier))
    options = cluster.get("DBClusterOptionGroupMemberships") or [{}]
    return RestoreManifest(
        database=database,
        kind=Kind.CLUSTER,
        snapshot_id=snapshot_id,
        taken_at=taken_at,
        source_region=source_region,
        engine=str(cluster.get("Engine", "")),
        engine_version=str(cluster.get("EngineVersion", "")),
        instance_class=str(cluster.get("DBClusterInstanceClass") or ""),
        storage_type=str(cluster.get("StorageType") or ""),
        allocated_storage=_int(cluster.get("AllocatedStorage")),
        iops=_int(cluster.get("Iops")),
        port=_int(cluster.get("Port")),
        multi_az=bool(cluster.get("MultiAZ")),
        publicly_accessible=bool(cluster.get("PubliclyAccessible")),
        deletion_protection=bool(cluster.get("DeletionProtection")),
        iam_auth=bool(cluster.get("IAMDatabaseAuthenticationEnabled")),
        storage_encrypted=bool(cluster.get("StorageEncrypted")),
        kms_key_id=str(cluster.get("KmsKeyId") or ""),
        master_username=str(cluster.get("MasterUsername") or ""),
        db_name=str(cluster.get("DatabaseName") or ""),
        cluster_parameter_group=str(cluster.get("DBClusterParameterGroup") or ""),
        option_group=str(options[0].get("DBClusterOptionGroupName", "")),
        subnet_group=str(cluster.get("DBSubnetGroup") or ""),
        security_groups=_security_groups(cluster),
        members=tuple(members),
    )


def _security_groups(record: Mapping[str, Any]) -> tuple[str, ...]:
    groups: Sequence[Mapping[str, Any]] = record.get("VpcSecurityGroups") or []
    return tuple(
        str(g.get("VpcSecurityGroupId", "")) for g in groups if g.get("VpcSecurityGroupId")
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
