"""The EventBridge schedule that starts the nightly chain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from events.envelope import EventBridgeEvent


class ScheduledEvent(EventBridgeEvent[dict[str, Any]]):
    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
