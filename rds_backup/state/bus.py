"""Putting the chain's own facts on the default bus ("Snapshot Quota Reached", "Cluster
Copy Finished", …): one PutEvents entry, and a failed entry is an error a person must see
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
    try:
        answer = aws.events(settings.source_region).put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "Resources": list(resources),
                }
            ]
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=settings.source_region) from error
    if answer.get("FailedEntryCount"):
        raise StepFailed(
            step,
            f"could not put the {detail_type} event: "
            + str(answer.get("Entries", [{}])[0].get("ErrorMessage", "")),
            region=settings.source_region,
            code="PutEventsFailed",
        )
