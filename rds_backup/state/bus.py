"""Putting the chain's own facts on a bus ("Snapshot Quota Reached", "Cluster Copy
Finished", … on the default bus; "Snapshot Shared With Vault" on the vault's, by its ARN):
one PutEvents entry, and a failed entry is an error a person must see
(PutEvents answers 200 with ``FailedEntryCount`` when an entry was refused)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, step_failed
from rds_backup.settings import Settings


def put_event(
    settings: Settings,
    aws: Aws,
    step: str,
    *,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    resources: Sequence[str] = (),
) -> None:
    """Put one event on the source region's default bus; raise StepFailed if it was not."""
    put_event_on(
        aws,
        settings.source_region,
        step,
        source=source,
        detail_type=detail_type,
        detail=detail,
        resources=resources,
    )


def put_event_on(
    aws: Aws,
    region: str,
    step: str,
    *,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    resources: Sequence[str] = (),
    bus_arn: str | None = None,
) -> None:
    """Put one event on ``bus_arn`` (another account's bus, by its ARN: EventBridge User
    Guide, "Sending and receiving events between AWS accounts"), else ``region``'s default
    bus; raise StepFailed if it was not put."""
    entry: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": list(resources),
    }
    if bus_arn is not None:
        entry["EventBusName"] = bus_arn
        region = bus_arn.split(":")[3]
    try:
        answer = aws.events(region).put_events(Entries=[entry])  # type: ignore[list-item]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error
    if answer.get("FailedEntryCount"):
        failed = answer.get("Entries", [{}])[0]
        raise StepFailed(
            step,
            f"could not put the {detail_type} event"
            + (f" on {bus_arn}" if bus_arn else "")
            + ": "
            + " ".join(
                str(part) for part in (failed.get("ErrorCode"), failed.get("ErrorMessage")) if part
            ),
            region=region,
            code="PutEventsFailed",
        )
