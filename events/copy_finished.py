"""The project's own cluster copy events: RDS emits no event when a CopyDBClusterSnapshot
finishes (Aurora User Guide, "DB cluster snapshot events": only 0074/0075 creation, 0168/0169
automated, 0162/0163/0164 export), so the chain observes the copy itself
(rds_backup/steps/check_copy.py) and says what it saw on the default bus.

- "Cluster Copy Check Due" (source rds-backup): put by a one-time EventBridge Scheduler
  schedule that the copy step arranged; check_copy looks at the copy.
- "Cluster Copy Finished" (source rds-backup): check_copy saw the copy end. ``Outcome``
  available → export_snapshot runs exactly as for RDS-EVENT-0060 and notify releases the
  source; failed / vanished → notify emails the failure once.

Both details name the copy by ``SourceArn`` (target region), like RDS events do, so the
chain's helpers (region and account from the ARN, ownership from tags) apply unchanged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.envelope import EventBridgeEvent, UtcDatetime
from events.rds import RdsEventKind
from rds_backup.arns import SnapshotArn, parse_snapshot_arn

SOURCE = "rds-backup"
CHECK_DUE = "Cluster Copy Check Due"
COPY_FINISHED = "Cluster Copy Finished"
Outcome = Literal["available", "failed", "vanished"]


class _ClusterCopy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    source_arn: str = Field(alias="SourceArn", max_length=2048)  # the copy, target region
    started: UtcDatetime = Field(alias="Started")  # when the copy was requested

    @field_validator("source_arn")
    @classmethod
    def _is_cluster_snapshot_arn(cls, value: str) -> str:
        if not parse_snapshot_arn(value).is_cluster:
            raise ValueError("not a DB cluster snapshot ARN")
        return value

    @property
    def snapshot(self) -> SnapshotArn:
        return parse_snapshot_arn(self.source_arn)


class CheckDueDetail(_ClusterCopy):
    attempt: int = Field(alias="Attempt", ge=1, le=1000)


class CopyFinishedDetail(_ClusterCopy):
    outcome: Outcome = Field(alias="Outcome")
    status: str = Field(default="", alias="Status", max_length=64)  # the copy's last status
    checks: int = Field(default=1, alias="Checks", ge=1, le=1000)


class CopyCheckDueEvent(EventBridgeEvent[CheckDueDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Cluster Copy Check Due"] = Field(alias="detail-type")

    @property
    def snapshot(self) -> SnapshotArn:
        return self.detail.snapshot


class CopyFinishedEvent(EventBridgeEvent[CopyFinishedDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Cluster Copy Finished"] = Field(alias="detail-type")

    @property
    def snapshot(self) -> SnapshotArn:
        return self.detail.snapshot

    @property
    def kind(self) -> RdsEventKind:
        """What the RDS event would have said: a finished copy, or (failed, vanished) none."""
        if self.detail.outcome == "available":
            return RdsEventKind.COPY_FINISHED
        return RdsEventKind.OTHER
