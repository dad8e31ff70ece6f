"""The project's own "Backup Requested" event: a person or tool asks for a run now."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventBridgeEvent
from rds_backup.settings import DbId

SOURCE = "rds-backup"
DETAIL_TYPE = "Backup Requested"


class BackupRequestedDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # None: every configured database. A name not configured is refused by start_backup.
    databases: list[DbId] | None = Field(default=None, min_length=1, max_length=500)
    requested_by: str | None = Field(default=None, max_length=256)
    reason: str | None = Field(default=None, max_length=1024)


class BackupRequestedEvent(EventBridgeEvent[BackupRequestedDetail]):
    source: Literal["rds-backup"]
    detail_type: Literal["Backup Requested"] = Field(alias="detail-type")
