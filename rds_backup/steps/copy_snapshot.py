"""Second link: copies into the target region, started through the copy slots.

- RDS-EVENT-0042 (our source snapshot created, source region): check that the event's
  snapshot is ours and available (an early event is retried), then fill the copy slots,
  oldest waiting copy first (and the export slots for source exports, STORE_TO_SOURCE_S3).
- RDS-EVENT-0060 / 0061 (a copy into the target region finished / was canceled): a copy
  slot is free, so fill the copy slots. A canceled copy's source is tagged so it is not
  copied again by itself: a replayed 0042 re-drives it.

Which copy starts when is decided by :mod:`rds_backup.limits`; the call is
:func:`rds_backup.state.copies.copy_to_target`.
"""

from __future__ import annotations

from typing import Any

from events.copy_finished import CopyFinishedEvent
from events.rds import RdsEventKind, RdsSnapshotEvent
from rds_backup.aws import Aws
from rds_backup.limits import View, fill_copies, fill_exports, mark_copy_canceled, work_view
from rds_backup.model import tags
from rds_backup.model.kinds import KINDS, of_arn_kind
from rds_backup.model.scope import out_of_scope
from rds_backup.settings import Settings
from rds_backup.state.snapshots import event_snapshot

STEP = "copy"


def on_snapshot_created(settings: Settings, aws: Aws, event: RdsSnapshotEvent) -> dict[str, Any]:
    if skipped := out_of_scope(settings, event.snapshot, [settings.source_region]):
        return {"skipped": skipped}
    # The sources are both queues; their copies are read by id (limits.work_view). A copy
    # slot is per snapshot kind; the export slots are shared by both kinds. The event's own
    # source is among the sources the fill reads: it is taken from there, not described
    # again (one call fewer per snapshot); a source the view does not hold (a database no
    # longer selected by name) is described.
    view: View | None = None
    if not settings.store_to_source_s3:
        view = work_view(
            settings, aws, STEP, kinds=(of_arn_kind(event.snapshot.kind),), exports=False
        )
    source = event_snapshot(
        settings,
        aws,
        event,
        region=settings.source_region,
        role=tags.Role.SOURCE,
        step=STEP,
        known=view.sources if view is not None else None,
    )
    if isinstance(source, str):
        return {"skipped": source}
    source_exports = "source" in source.exports
    if view is None or source_exports:
        kinds = KINDS if source_exports else (of_arn_kind(event.snapshot.kind),)
        view = work_view(settings, aws, STEP, kinds=kinds, exports=source_exports)
    redrive = {source.identifier} if event.is_replay else set()
    copies = fill_copies(settings, aws, STEP, view, redrive=redrive)
    result: dict[str, Any] = {"copies": copies.as_dict()}
    if source_exports:
        filled = fill_exports(settings, aws, STEP, view, redrive=redrive)
        result["exports"] = filled.as_dict()
    return result


def on_copy_ended(
    settings: Settings, aws: Aws, event: RdsSnapshotEvent | CopyFinishedEvent
) -> dict[str, Any]:
    """A copy into the target region finished or was canceled: its slot is free."""
    if skipped := out_of_scope(settings, event.snapshot, [settings.target_region]):
        return {"skipped": skipped}
    result: dict[str, Any] = {}
    if event.kind is RdsEventKind.COPY_CANCELED:
        result["marked_canceled"] = mark_copy_canceled(
            settings, aws, event.snapshot.identifier, STEP
        )
    # The copy slot freed is of this copy's kind (each kind has its own limit; if RDS shared
    # one, the other kind's waiting copies start at the next event of theirs or reconcile).
    view = work_view(settings, aws, STEP, kinds=(of_arn_kind(event.snapshot.kind),), exports=False)
    result["copies"] = fill_copies(settings, aws, STEP, view).as_dict()
    return result
