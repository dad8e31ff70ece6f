"""Third link: exports to S3, started through the export slots (5 per account).

- RDS-EVENT-0060 (our copy is available in the target region; forwarded): check that the
  copy is ours and available, then fill the export slots, oldest waiting export first. A
  replayed 0060 re-drives a failed export of that copy (a new attempt, -a2, -a3, ...).
- RDS-EVENT-0159 / 0160 / 0161 (an export ended, either region): a slot is free, so fill.

Which export starts when is decided by :mod:`rds_backup.limits`; the call is
:func:`rds_backup.state.exports.begin_export`.
"""

from __future__ import annotations

from typing import Any

from events.copy_finished import CopyFinishedEvent
from events.rds import RdsSnapshotEvent
from rds_backup.aws import Aws
from rds_backup.limits import View, fill_exports_on_event
from rds_backup.model import tags
from rds_backup.model.scope import out_of_scope
from rds_backup.settings import Settings
from rds_backup.state.snapshots import event_snapshot

STEP = "export"


def on_copy_finished(
    settings: Settings, aws: Aws, event: RdsSnapshotEvent | CopyFinishedEvent
) -> dict[str, Any]:
    # Emitted in the target region; the envelope of a forwarded event says the source's.
    if skipped := out_of_scope(settings, event.snapshot, [settings.target_region]):
        return {"skipped": skipped}
    redrive = {event.snapshot.identifier} if event.is_replay else set()

    def ours_and_available(view: View) -> str | None:
        # The copy is checked in the view the fill just read (its copies by id), so it is
        # not described again; with no export slot free nothing starts, and nothing is
        # checked: the copy waits in the queue the next fill derives.
        copy = event_snapshot(
            settings,
            aws,
            event,
            region=settings.target_region,
            role=tags.Role.COPY,
            step=STEP,
            known=view.copies,
        )
        return copy if isinstance(copy, str) else None

    filled = fill_exports_on_event(settings, aws, STEP, redrive, check=ours_and_available)
    if isinstance(filled, str):
        return {"skipped": filled}
    return {"exports": filled.as_dict()}


def on_export_ended(settings: Settings, aws: Aws, event: RdsSnapshotEvent) -> dict[str, Any]:
    """An export ended (completed, failed or canceled): its slot is free."""
    regions = [settings.source_region, settings.target_region]
    if skipped := out_of_scope(settings, event.snapshot, regions):
        return {"skipped": skipped}
    filled = fill_exports_on_event(settings, aws, STEP)
    assert not isinstance(filled, str)  # no check: never skipped
    return {"exports": filled.as_dict()}
