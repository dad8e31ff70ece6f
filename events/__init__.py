"""Event contracts: one pydantic model per event the chain reacts to, and its sample JSON.

| event                              | model                    | sample (events/samples/)         |
|------------------------------------|--------------------------|----------------------------------|
| schedule                           | ScheduledEvent           | scheduled.json                   |
| "Backup Requested"                 | BackupRequestedEvent     | backup-requested.json            |
| RDS-EVENT-0042 manual snapshot     | RdsSnapshotEvent         | rds-0042-snapshot-created.json   |
| RDS-EVENT-0060 copy finished       | RdsSnapshotEvent         | rds-0060-copy-finished.json      |
| RDS-EVENT-0061 copy canceled       | RdsSnapshotEvent         | rds-0061-copy-canceled.json      |
| RDS-EVENT-0159/0160/0161 export    | RdsSnapshotEvent         | rds-0159/0160/0161-export-*.json |
| Lambda on-failure destination      | LambdaFailureEvent       | lambda-invocation-failure.json   |
|   the same, source "aws.lambda"    | LambdaFailureEvent       | lambda-invocation-failure-aws-…  |
| "Snapshot Quota Reached"           | SnapshotQuotaEvent       | snapshot-quota-reached.json      |
| RDS-EVENT-0075 cluster snapshot    | RdsSnapshotEvent         | rds-cluster-0075-*.json          |
| RDS-EVENT-0162/0163/0164 (cluster) | RdsSnapshotEvent         | rds-cluster-0164-*.json          |
| "Cluster Copy Check Due"           | CopyCheckDueEvent        | cluster-copy-check-due.json      |
| "Cluster Copy Finished"            | CopyFinishedEvent        | cluster-copy-finished.json       |
| "Snapshot Shared With Vault"       | SharedWithVaultEvent     | snapshot-shared-with-vault.json  |
| "Vault Copy Finished"              | VaultCopyFinishedEvent   | vault-copy-finished.json         |
"""

from events.backup_requested import BackupRequestedEvent
from events.copy_finished import CopyCheckDueEvent, CopyFinishedEvent
from events.envelope import EventBridgeEvent
from events.lambda_failure import LambdaFailureEvent
from events.quota import SnapshotQuotaEvent
from events.rds import RdsEventKind, RdsSnapshotEvent
from events.samples import load_sample, sample_names
from events.schedule import ScheduledEvent

__all__ = [
    "BackupRequestedEvent",
    "CopyCheckDueEvent",
    "CopyFinishedEvent",
    "EventBridgeEvent",
    "LambdaFailureEvent",
    "RdsEventKind",
    "RdsSnapshotEvent",
    "ScheduledEvent",
    "SnapshotQuotaEvent",
    "load_sample",
    "sample_names",
]
