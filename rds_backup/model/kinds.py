"""DB instance snapshots and DB cluster snapshots (Aurora, Multi-AZ DB clusters): one chain,
two families of RDS APIs. Everything that differs between them is here; the rest of the
chain asks this module by kind.

- instance: CreateDBSnapshot / CopyDBSnapshot / DeleteDBSnapshot / DescribeDBSnapshots,
  ``DBSnapshotIdentifier``/``DBSnapshotArn``, ARN ``:snapshot:``.
- cluster: CreateDBClusterSnapshot / CopyDBClusterSnapshot / DeleteDBClusterSnapshot /
  DescribeDBClusterSnapshots, ``DBClusterSnapshotIdentifier``/``DBClusterSnapshotArn``,
  ARN ``:cluster-snapshot:`` (RDS API Reference). A cluster snapshot in progress is
  ``creating`` or, for a copy, ``copying`` (DBClusterSnapshot.Status; CopyDBClusterSnapshot:
  "delete the target DB cluster snapshot ... while that DB cluster snapshot is in "copying"
  status"). CopyDBClusterSnapshot has no OptionGroupName; a cross-region encrypted copy
  needs KmsKeyId valid in the destination region and a presigned URL (boto3 makes it from
  ``SourceRegion``). A cluster copy's origin is ``SourceDBClusterSnapshotArn``; an instance
  copy's is ``SourceRegion``.

Instance and cluster identifiers are separate namespaces in RDS; a name configured as both is
refused by rds_backup/state/selection.py, so one derived snapshot id names one snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    INSTANCE = "instance"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class Api:
    kind: Kind
    arn_kind: str  # the ARN's resource type
    describe: str  # paginator / method name
    list_key: str
    id_field: str
    arn_field: str
    id_filter: str
    database_field: str  # the create call's database parameter
    quota: str  # DescribeAccountAttributes AccountQuotaName
    quota_label: str  # Service Quotas name, for the email
    not_found: tuple[str, ...]
    already_exists: tuple[str, ...]


INSTANCE = Api(
    kind=Kind.INSTANCE,
    arn_kind="snapshot",
    describe="describe_db_snapshots",
    list_key="DBSnapshots",
    id_field="DBSnapshotIdentifier",
    arn_field="DBSnapshotArn",
    id_filter="db-snapshot-id",
    database_field="DBInstanceIdentifier",
    quota="ManualSnapshots",
    quota_label="Manual DB instance snapshots",
    not_found=("DBSnapshotNotFound", "DBSnapshotNotFoundFault"),
    already_exists=("DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault"),
)
CLUSTER = Api(
    kind=Kind.CLUSTER,
    arn_kind="cluster-snapshot",
    describe="describe_db_cluster_snapshots",
    list_key="DBClusterSnapshots",
    id_field="DBClusterSnapshotIdentifier",
    arn_field="DBClusterSnapshotArn",
    id_filter="db-cluster-snapshot-id",
    database_field="DBClusterIdentifier",
    quota="ManualClusterSnapshots",
    quota_label="Manual DB cluster snapshots",
    not_found=("DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound"),
    already_exists=("DBClusterSnapshotAlreadyExistsFault", "DBClusterSnapshotAlreadyExists"),
)
APIS = {Kind.INSTANCE: INSTANCE, Kind.CLUSTER: CLUSTER}
KINDS = (Kind.INSTANCE, Kind.CLUSTER)


def api(kind: Kind | str) -> Api:
    return APIS[Kind(kind)]


def of_arn_kind(arn_kind: str) -> Kind:
    return Kind.CLUSTER if arn_kind == CLUSTER.arn_kind else Kind.INSTANCE


def kind_of(raw: Mapping[str, Any]) -> Kind:
    """The kind of a describe record (each family has its own identifier field)."""
    return Kind.CLUSTER if CLUSTER.id_field in raw else Kind.INSTANCE


def identifier_of(raw: Mapping[str, Any]) -> str:
    return str(raw.get(api(kind_of(raw)).id_field, ""))


def arn_of(raw: Mapping[str, Any]) -> str:
    return str(raw.get(api(kind_of(raw)).arn_field, ""))


def origin_region(raw: Mapping[str, Any]) -> str | None:
    """The region a copy was copied from, when the record says so (else None)."""
    if kind_of(raw) is Kind.CLUSTER:
        origin = raw.get("SourceDBClusterSnapshotArn")
        if isinstance(origin, str) and origin.count(":") >= 4:
            return origin.split(":")[3] or None
        return None
    origin = raw.get("SourceRegion")
    return origin if isinstance(origin, str) and origin else None


def create(rds: Any, kind: Kind, database: str, identifier: str, tags: list[Any]) -> None:
    if kind is Kind.CLUSTER:
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=database, DBClusterSnapshotIdentifier=identifier, Tags=tags
        )
    else:
        rds.create_db_snapshot(
            DBInstanceIdentifier=database, DBSnapshotIdentifier=identifier, Tags=tags
        )


def copy(rds: Any, kind: Kind, request: Mapping[str, Any]) -> None:
    """Copy into ``rds``'s region. ``request`` uses the instance names (Source/Target
    DBSnapshotIdentifier, KmsKeyId, SourceRegion, Tags, CopyTags, OptionGroupName)."""
    if kind is Kind.CLUSTER:
        key = {"KmsKeyId": request["KmsKeyId"]} if "KmsKeyId" in request else {}
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=request["SourceDBSnapshotIdentifier"],
            TargetDBClusterSnapshotIdentifier=request["TargetDBSnapshotIdentifier"],
            **key,  # none for an unencrypted source (rds_backup/state/copies.py)
            SourceRegion=request["SourceRegion"],  # boto3 presigns the cross-region request
            Tags=request["Tags"],
            CopyTags=request["CopyTags"],
        )
    else:
        rds.copy_db_snapshot(**request)


def delete(rds: Any, kind: Kind, identifier: str) -> None:
    if kind is Kind.CLUSTER:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=identifier)
    else:
        rds.delete_db_snapshot(DBSnapshotIdentifier=identifier)


def describe_one(rds: Any, kind: Kind, identifier: str) -> list[dict[str, Any]]:
    """DescribeDB[Cluster]Snapshots of one id (raises the not-found ClientError)."""
    spec = api(kind)
    found = getattr(rds, spec.describe)(**{spec.id_field: identifier})
    return [dict(item) for item in found.get(spec.list_key) or []]
