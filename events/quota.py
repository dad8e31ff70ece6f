"""The project's own "Snapshot Quota Reached" event: the manual snapshot quota (a limit that
does not drain by itself) stopped part of a run. Put by start_backup (before snapshotting,
from DescribeAccountAttributes) or by a copy refused with SnapshotQuotaExceeded whose text
or Used/Max says it is the quota (rds_backup/limits/); notify emails it once per run and
region with the numbers and the fix."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventBridgeEvent
from rds_backup.settings import REGION

SOURCE = "rds-backup"
DETAIL_TYPE = "Snapshot Quota Reached"


class SnapshotQuotaDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    region: str = Field(pattern=REGION.pattern)
    used: int = Field(ge=0)
    max: int = Field(ge=0)
    needed: int = Field(ge=0)  # manual snapshots tonight's run needs in that region
    run: str = Field(pattern=r"^\d{8}-\d{4}$")
    step: str = Field(max_length=32)  # "snapshot" (start_backup) or "copy"
    databases: list[str] = Field(default_factory=list, max_length=500)  # not backed up
    # Which quota: DB snapshots or DB cluster snapshots (absent in older events: DB snapshots)
    quota: Literal["ManualSnapshots", "ManualClusterSnapshots"] = "ManualSnapshots"


class SnapshotQuotaEvent(EventBridgeEvent[SnapshotQuotaDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Snapshot Quota Reached"] = Field(alias="detail-type")
