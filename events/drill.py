"""Restore drill events (docs/RECOVERY.md; rds_backup/drills/).

- **RDS DB Instance Event / RDS DB Cluster Event** (source aws.rds), for our drill instances
  and clusters in the target region, forwarded to the source region's bus: RDS-EVENT-0043
  "Restored from snapshot", 0005 "DB instance created", 0003 "DB instance deleted", 0016
  "Reset master credentials" (instances and clusters), 0170 "DB cluster created" (RDS User
  Guide, "Amazon RDS event categories and event messages": DB instance events, DB cluster
  events). Events are best effort: each one only asks check_drill to look at the drill
  again, and the drill's state on AWS decides; the event's time is used as the moment the
  restore finished when it is a "restored" or "created" event.
- **"Drill Check Due"** (source rds-backup): put by a one-time EventBridge Scheduler schedule
  the drill arranged, as for cluster copies (rds_backup/state/schedules.py): the drill is
  looked at even when every RDS event is lost.
- **"Drill Finished"** (source rds-backup): check_drill saw the drill end (checked and its
  instance gone): its result, which notify tells once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventBridgeEvent
from rds_backup.arns import DatabaseArn, parse_database_arn

SOURCE = "rds-backup"
DRILL_CHECK_DUE = "Drill Check Due"
DRILL_FINISHED = "Drill Finished"
INSTANCE_EVENT = "RDS DB Instance Event"
CLUSTER_EVENT = "RDS DB Cluster Event"
# The events whose time is the end of the restore (the instance or cluster exists, restored).
RESTORED_IDS = frozenset({"RDS-EVENT-0043", "RDS-EVENT-0005", "RDS-EVENT-0170"})


class DatabaseEventDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    event_categories: list[str] = Field(default_factory=list, alias="EventCategories")
    source_type: Literal["DB_INSTANCE", "CLUSTER"] = Field(alias="SourceType")
    source_arn: str = Field(alias="SourceArn", max_length=2048)
    source_identifier: str = Field(default="", alias="SourceIdentifier", max_length=255)
    message: str = Field(default="", alias="Message", max_length=4096)
    event_id: str = Field(default="", alias="EventID", max_length=32)
    # When RDS recorded the event (ISO 8601, e.g. 2026-11-25T09:14:36.518Z); the envelope's
    # ``time`` is the bus's, and a forwarding rule may stamp its own.
    date: datetime | None = Field(default=None, alias="Date")


class RdsDatabaseEvent(EventBridgeEvent[DatabaseEventDetail]):
    """An RDS event about a DB instance or a DB cluster."""

    source: Literal["aws.rds"]
    detail_type: Literal["RDS DB Instance Event", "RDS DB Cluster Event"] = Field(
        alias="detail-type"
    )

    @property
    def database(self) -> DatabaseArn:
        return parse_database_arn(self.detail.source_arn)

    @property
    def restored(self) -> bool:
        return self.detail.event_id in RESTORED_IDS

    @property
    def happened(self) -> datetime:
        """When RDS says the event happened: the detail's ``Date``, else the envelope's
        ``time`` (the event reaches the source bus through the target stack's forwarder)."""
        return self.detail.date or self.time


class DrillCheckDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    drill_id: str = Field(alias="DrillId", min_length=1, max_length=63)
    database: str = Field(alias="Database", min_length=1, max_length=63)
    day: date = Field(alias="Day")
    phase: Literal["restore", "credentials", "delete"] = Field(default="restore", alias="Phase")
    attempt: int = Field(default=1, alias="Attempt", ge=1, le=1000)


class DrillCheckDueEvent(EventBridgeEvent[DrillCheckDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Drill Check Due"] = Field(alias="detail-type")


class DrillFinishedDetail(BaseModel):
    """The drill's result (rds_backup/model/drills.py ``DrillResult``, as JSON)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    drill_id: str = Field(alias="drill_id", min_length=1, max_length=63)
    database: str = Field(min_length=1, max_length=63)
    result: dict[str, Any]


class DrillFinishedEvent(EventBridgeEvent[DrillFinishedDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Drill Finished"] = Field(alias="detail-type")
