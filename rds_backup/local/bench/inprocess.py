"""An in-process moto (``mock_aws``) world for the scale figures, seeded straight into
moto's backend objects (thousands of snapshots in a second, not thousands of API calls)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import boto3
from moto import mock_aws
from moto.rds.models import DBSnapshot, rds_backends

from rds_backup.aws import Aws
from rds_backup.local.seed import ACCOUNT, create_database
from rds_backup.model import tags
from rds_backup.settings import Settings, parse_settings

SOURCE, TARGET = "us-east-1", "us-west-2"
TARGET_BUCKET = "acme-rds-backup-usw2"


@contextmanager
def moto_in_process() -> Iterator[Aws]:
    with mock_aws():
        yield Aws(boto3.Session())


def settings_for(databases: Sequence[str]) -> Settings:
    return parse_settings(
        {
            "SOURCE_REGION": SOURCE,
            "TARGET_REGION": TARGET,
            "DB_IDENTIFIER": ",".join(databases),
            "SOURCE_BUCKET": "acme-rds-backup-use1",
            "TARGET_BUCKET": TARGET_BUCKET,
            "KMS_KEY_ID": f"arn:aws:kms:{TARGET}:{ACCOUNT}:key/{uuid.uuid4()}",
            "EXPORT_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/rds-backup-export",
            "ADMIN_EMAIL": "dba@example.com",
            "STACK_NAME": "rds-backup",
        }
    )


def create_databases(aws: Aws, databases: Sequence[str]) -> None:
    """The databases, and the target bucket start_backup writes restore manifests into (a
    deployment has it: infra/resources creates both export buckets)."""
    for database in databases:
        create_database(aws, SOURCE, database)
    aws.s3(TARGET).create_bucket(
        Bucket=TARGET_BUCKET,
        CreateBucketConfiguration={"LocationConstraint": TARGET},  # type: ignore[typeddict-item]
    )


def inject_snapshot(
    region: str,
    database: str,
    identifier: str,
    created: datetime,
    tag_map: dict[str, str],
) -> None:
    """Put a manual snapshot of ``database`` into moto's ``region`` backend directly."""
    source = rds_backends[ACCOUNT][SOURCE]
    backend = rds_backends[ACCOUNT][region]
    snapshot = DBSnapshot(
        backend,
        source.databases[database],
        identifier,
        "manual",
        tags=list(tags.as_list(tag_map)) or None,  # type: ignore[arg-type]
    )
    snapshot.created = created
    backend.database_snapshots[snapshot.db_snapshot_identifier] = snapshot


def delete_in_backend(region: str, params: dict[str, Any]) -> dict[str, Any]:
    """DeleteDBSnapshot's effect and answer, without moto's request/response round trip."""
    identifier = str(params["DBSnapshotIdentifier"]).lower()
    snapshots = rds_backends[ACCOUNT][region].database_snapshots
    if identifier not in snapshots:
        raise KeyError(f"bench: no snapshot {identifier} in {region}")
    del snapshots[identifier]
    return {"DBSnapshot": {"DBSnapshotIdentifier": identifier, "Status": "deleted"}}
