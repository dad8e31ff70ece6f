"""ARN parsing. Region and account always come from the ARN, never from an envelope."""

from __future__ import annotations

import re
from dataclasses import dataclass

SNAPSHOT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>snapshot|cluster-snapshot):(?P<identifier>[A-Za-z0-9:-]{1,255})$"
)
KMS_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<resource>key/[A-Za-z0-9-]+|alias/[\w/-]+)$"
)


@dataclass(frozen=True)
class SnapshotArn:
    partition: str
    region: str
    account: str
    kind: str  # "snapshot" or "cluster-snapshot"
    identifier: str

    @property
    def is_cluster(self) -> bool:
        return self.kind == "cluster-snapshot"

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:rds:{self.region}:{self.account}:{self.kind}:{self.identifier}"
        )

    def in_region(self, region: str) -> SnapshotArn:
        """The ARN of the same-named snapshot in another region (our copies keep the id)."""
        return SnapshotArn(self.partition, region, self.account, self.kind, self.identifier)


def parse_snapshot_arn(value: str) -> SnapshotArn:
    match = SNAPSHOT_ARN.match(value)
    if match is None:
        raise ValueError("not an RDS snapshot or cluster snapshot ARN")
    return SnapshotArn(**match.groupdict())


DATABASE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>db|cluster):(?P<identifier>[A-Za-z][A-Za-z0-9-]{0,62})$"
)


@dataclass(frozen=True)
class DatabaseArn:
    """A DB instance (``db``) or DB cluster (``cluster``) ARN."""

    partition: str
    region: str
    account: str
    kind: str
    identifier: str

    @property
    def is_cluster(self) -> bool:
        return self.kind == "cluster"

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:rds:{self.region}:{self.account}:{self.kind}:{self.identifier}"
        )


def parse_database_arn(value: str) -> DatabaseArn:
    match = DATABASE_ARN.match(value)
    if match is None:
        raise ValueError("not an RDS DB instance or DB cluster ARN")
    return DatabaseArn(**match.groupdict())


@dataclass(frozen=True)
class KmsArn:
    partition: str
    region: str
    account: str
    resource: str

    @property
    def multi_region(self) -> bool:
        return self.resource.startswith("key/mrk-")

    def in_region(self, region: str) -> str:
        return f"arn:{self.partition}:kms:{region}:{self.account}:{self.resource}"


def parse_kms_arn(value: str) -> KmsArn | None:
    match = KMS_ARN.match(value)
    return KmsArn(**match.groupdict()) if match else None
