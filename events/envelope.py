"""The EventBridge envelope every event arrives in (after powertools' EventBridgeModel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DetailT = TypeVar("DetailT")


def _as_utc(value: datetime) -> datetime:
    """EventBridge and RDS write UTC (ISO 8601 with ``Z``); a time without a zone (a
    hand-made or replayed event) is taken as UTC, so every later comparison works."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class EventBridgeEvent(BaseModel, Generic[DetailT]):
    """An EventBridge event. ``region`` and ``account`` are kept for logs only: the chain
    takes both from the resource ARN, because forwarding rewrites the envelope."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    version: str = Field(max_length=16)
    id: str = Field(min_length=1, max_length=128)
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    # moto drops `account` on SQS delivery; the chain never reads it.
    account: str = Field(default="", max_length=12)
    time: UtcDatetime
    region: str = Field(default="", max_length=32)
    resources: list[str] = Field(default_factory=list, max_length=100)
    detail: DetailT
    replay_name: str | None = Field(default=None, alias="replay-name", max_length=256)

    @property
    def is_replay(self) -> bool:
        return self.replay_name is not None
