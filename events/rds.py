"""RDS snapshot and export events (DB and DB cluster snapshots).

Classified by ``EventID``; archived or hand-made events without one fall back to the
``Message`` text. The snapshot, its region and account come from ``SourceArn``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.envelope import EventBridgeEvent, UtcDatetime
from rds_backup.arns import SnapshotArn, parse_snapshot_arn

SOURCE = "aws.rds"
DB_SNAPSHOT_EVENT = "RDS DB Snapshot Event"
DB_CLUSTER_SNAPSHOT_EVENT = "RDS DB Cluster Snapshot Event"


class RdsEventKind(StrEnum):
    SNAPSHOT_CREATING = "snapshot-creating"
    SNAPSHOT_CREATED = "snapshot-created"
    AUTOMATED_SNAPSHOT_CREATED = "automated-snapshot-created"
    SNAPSHOT_DELETED = "snapshot-deleted"
    COPY_STARTED = "copy-started"
    COPY_FINISHED = "copy-finished"
    COPY_CANCELED = "copy-canceled"
    EXPORT_FAILED = "export-failed"
    EXPORT_CANCELED = "export-canceled"
    EXPORT_COMPLETED = "export-completed"
    OTHER = "other"


EVENT_IDS: dict[str, RdsEventKind] = {
    # DB instance snapshots
    "RDS-EVENT-0040": RdsEventKind.SNAPSHOT_CREATING,
    "RDS-EVENT-0041": RdsEventKind.SNAPSHOT_DELETED,
    "RDS-EVENT-0042": RdsEventKind.SNAPSHOT_CREATED,
    "RDS-EVENT-0091": RdsEventKind.AUTOMATED_SNAPSHOT_CREATED,
    "RDS-EVENT-0059": RdsEventKind.COPY_STARTED,
    "RDS-EVENT-0060": RdsEventKind.COPY_FINISHED,
    "RDS-EVENT-0061": RdsEventKind.COPY_CANCELED,
    "RDS-EVENT-0159": RdsEventKind.EXPORT_FAILED,
    "RDS-EVENT-0160": RdsEventKind.EXPORT_CANCELED,
    "RDS-EVENT-0161": RdsEventKind.EXPORT_COMPLETED,
    # DB cluster snapshots (Aurora)
    "RDS-EVENT-0074": RdsEventKind.SNAPSHOT_CREATING,
    "RDS-EVENT-0075": RdsEventKind.SNAPSHOT_CREATED,
    "RDS-EVENT-0162": RdsEventKind.EXPORT_FAILED,
    "RDS-EVENT-0163": RdsEventKind.EXPORT_CANCELED,
    "RDS-EVENT-0164": RdsEventKind.EXPORT_COMPLETED,
}

# The Message when EventID is absent (archived or hand-made events), most specific first.
# Texts of the RDS User Guide's event tables ("Amazon RDS event categories and event
# messages": DB snapshot events; Aurora: DB cluster snapshot events), e.g. 0041 "Deleted user
# snapshot.", 0060 "Finished copy of snapshot <name> from region <name> in <n> minutes.", 0061
# "Canceled snapshot copy request of <name> from region <name>.", 0160 "The snapshot export
# task was canceled."; older and shorter variants seen in captured events ("Snapshot export
# task canceled.", "Finished copy of snapshot <name>", "Canceled cross region copy of
# snapshot <name>", "Deleted manual snapshot") are accepted too. A copy "in region" is a
# local (same-region) copy, 0190/0196/0197: not ours to follow.
MESSAGES: tuple[tuple[re.Pattern[str], RdsEventKind], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"export task (?:has )?failed", RdsEventKind.EXPORT_FAILED),
        (r"export task (?:was )?cancell?ed", RdsEventKind.EXPORT_CANCELED),
        (r"export task (?:has )?completed", RdsEventKind.EXPORT_COMPLETED),
        (r"copy (?:request )?of (?:snapshot )?\S+ in region", RdsEventKind.OTHER),
        (r"finished (?:cross[- ]region )?copy of snapshot", RdsEventKind.COPY_FINISHED),
        (r"cancell?ed (?:cross[- ]region copy|snapshot copy request)", RdsEventKind.COPY_CANCELED),
        (r"started (?:cross[- ]region )?copy of snapshot", RdsEventKind.COPY_STARTED),
        (r"automated (?:cluster )?snapshot created", RdsEventKind.AUTOMATED_SNAPSHOT_CREATED),
        (r"manual (?:cluster )?snapshot created", RdsEventKind.SNAPSHOT_CREATED),
        (r"creating manual", RdsEventKind.SNAPSHOT_CREATING),
        (r"deleted (?:manual|user) (?:cluster )?snapshot", RdsEventKind.SNAPSHOT_DELETED),
    )
)


class RdsSnapshotDetail(BaseModel):
    """``detail`` of "RDS DB Snapshot Event" and "RDS DB Cluster Snapshot Event"."""

    model_config = ConfigDict(frozen=True)

    event_categories: list[str] = Field(default_factory=list, alias="EventCategories")
    source_type: Literal["SNAPSHOT", "CLUSTER_SNAPSHOT"] = Field(alias="SourceType")
    source_arn: str = Field(alias="SourceArn", max_length=2048)
    source_identifier: str = Field(alias="SourceIdentifier", min_length=1, max_length=255)
    date: UtcDatetime = Field(alias="Date")
    message: str = Field(default="", alias="Message", max_length=4096)
    event_id: str | None = Field(default=None, alias="EventID", pattern=r"^RDS-EVENT-\d{4}$")

    @field_validator("source_arn")
    @classmethod
    def _is_snapshot_arn(cls, value: str) -> str:
        parse_snapshot_arn(value)
        return value

    @property
    def snapshot(self) -> SnapshotArn:
        return parse_snapshot_arn(self.source_arn)

    @property
    def kind(self) -> RdsEventKind:
        if self.event_id is not None:
            return EVENT_IDS.get(self.event_id, RdsEventKind.OTHER)
        message = self.message.lower()
        for pattern, kind in MESSAGES:
            if pattern.search(message):
                return kind
        return RdsEventKind.OTHER


class RdsSnapshotEvent(EventBridgeEvent[RdsSnapshotDetail]):
    source: Literal["aws.rds"]
    detail_type: Literal["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"] = Field(
        alias="detail-type"
    )

    @property
    def kind(self) -> RdsEventKind:
        return self.detail.kind

    @property
    def snapshot(self) -> SnapshotArn:
        return self.detail.snapshot
