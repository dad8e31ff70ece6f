"""Filling free slots: start the oldest waiting steps while slots are free.

The event that frees a slot fills it at once: a copy ending (0060/0061) → copy_snapshot
fills the copy slots of that copy's kind (DB or DB cluster snapshot); an export ending
(0159/0160/0161) or a copy becoming ready (0060) → export_snapshot fills export slots.
Reconcile fills both every hour (lost events). A filler counts the free slots from the
reads it made (rds_backup/limits/view.py) and starts at most that many, oldest first
(rds_backup/limits/queue.py); a refusal for the limit stops the fill and the rest keep
waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import EXPORT_LIMIT_CODE, SNAPSHOT_QUOTA_CODE, StepFailed, step_failed
from rds_backup.limits.queue import (
    COPY_CANCELED,
    RETRY_EXPORT,
    Labelled,
    Slot,
    Waiting,
    labels,
    waiting_copies,
    waiting_exports,
)
from rds_backup.limits.quota import QuotaReached, quota_reached, report_quota
from rds_backup.limits.view import (
    CLUSTER_COPY_SLOTS,
    COPY_SLOTS,
    EXPORT_SLOTS,
    View,
    count_in_flight,
    read_in_flight,
    work_view,
)
from rds_backup.model.kinds import Kind
from rds_backup.model.naming import export_id
from rds_backup.model.tags import Owned
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.copies import copy_to_target
from rds_backup.state.exports import begin_export

Item = TypeVar("Item", bound=Labelled)


@dataclass
class Filled:
    slot: Slot
    free_before: int
    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # a racing filler started it first
    waiting: list[str] = field(default_factory=list)  # still waiting, in queue order
    refused: int = 0
    quota: QuotaReached | None = None

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "free": self.free_before,
            "started": self.started,
            "waiting": len(self.waiting),
        }
        if self.already:
            result["already"] = self.already
        if self.refused:
            result["refused"] = self.refused
        if self.quota:
            result["quota"] = self.quota.as_detail()
        return result


def fill_copies(
    settings: Settings,
    aws: Aws,
    step: str,
    view: View,
    redrive: Collection[str] = (),
) -> Filled:
    """Start the oldest waiting copies while the target region has copy slots free: DB
    snapshot copies and DB cluster snapshot copies each within their own limit."""
    waiting = waiting_copies(settings, view, {r.lower() for r in redrive})
    filled = _fill_copies_of(
        settings,
        aws,
        [w for w in waiting if not w.snapshot.cluster],
        COPY_SLOTS - view.copies_in_flight,
        Kind.INSTANCE,
    )
    clusters = [w for w in waiting if w.snapshot.cluster]
    if clusters:
        more = _fill_copies_of(
            settings,
            aws,
            clusters,
            CLUSTER_COPY_SLOTS - view.cluster_copies_in_flight,
            Kind.CLUSTER,
        )
        filled.free_before += more.free_before
        filled.started += more.started
        filled.already += more.already
        filled.waiting += more.waiting
        filled.refused += more.refused
        filled.quota = filled.quota or more.quota
    return filled


def _fill_copies_of(
    settings: Settings,
    aws: Aws,
    waiting: Sequence[Waiting],
    free: int,
    kind: Kind,
) -> Filled:
    filled = Filled(Slot.COPY, free)

    def refused(failure: StepFailed, rest: Sequence[Waiting]) -> None:
        # SnapshotQuotaExceeded: the copy limit (wait) or the manual snapshot quota (tell).
        reached = quota_reached(
            settings, aws, settings.target_region, failure.cause, rest[0].snapshot.run, kind
        )
        if reached is None:
            logger.info("copy waits for a slot", snapshot=rest[0].label, kind=kind.value)
            return
        reached.databases = [w.snapshot.database for w in rest]
        reached.needed = len(reached.databases)
        filled.quota = reached
        report_quota(settings, aws, reached)

    def start(item: Waiting) -> str:
        return copy_to_target(settings, aws, item.snapshot)

    fill_slots(filled, waiting, start, SNAPSHOT_QUOTA_CODE, refused)
    return filled


def fill_slots(
    filled: Filled,
    waiting: Sequence[Item],
    start: Callable[[Item], str],
    limit_code: str,
    refused: Callable[[StepFailed, Sequence[Item]], None] | None = None,
) -> None:
    """Start waiting steps, oldest first, while slots are free. A refusal with the limit's
    code stops the fill (the rest keep waiting); any other failure is raised. ``start``
    answers "started" or, when a racing or duplicated call made it first, anything else.
    The vault's copies are filled by the same loop (rds_backup/vault/copy.py)."""
    free = filled.free_before
    for position, item in enumerate(waiting):
        if free <= 0:
            filled.waiting = labels(waiting[position:])
            break
        try:
            outcome = start(item)
        except StepFailed as failure:
            if failure.code != limit_code:
                raise
            filled.refused += 1
            count("StepRefused")
            filled.waiting = labels(waiting[position:])
            if refused is not None:
                refused(failure, waiting[position:])
            break
        (filled.started if outcome == "started" else filled.already).append(item.label)
        free -= 1
    _log(filled)


def fill_exports_on_event(
    settings: Settings,
    aws: Aws,
    step: str,
    redrive: Collection[str] = (),
    check: Callable[[View], str | None] | None = None,
) -> Filled | str:
    """An event's fill: count the slots first (export tasks only); with none free and no
    re-drive to remember, stop there; else read the queue (the sources, the copies of
    those sources by id) and fill. ``check``: what the event must prove before anything
    starts, asked of the view just read (it reuses the view's records): a reason to skip
    is returned as is, and nothing is started."""
    running = read_in_flight(settings, aws, step)
    in_flight = count_in_flight(running)
    if in_flight >= EXPORT_SLOTS and not redrive:
        logger.info("no export slot free; the queue stays as it is", in_flight=in_flight)
        return Filled(Slot.EXPORT, EXPORT_SLOTS - in_flight)
    view = work_view(settings, aws, step, extra_ids=redrive, running=running)
    if check is not None and (skipped := check(view)) is not None:
        return skipped
    return fill_exports(settings, aws, step, view, redrive)


def fill_exports(
    settings: Settings,
    aws: Aws,
    step: str,
    view: View,
    redrive: Collection[str] = (),
) -> Filled:
    """Start the oldest waiting exports while the account has export slots free."""
    waiting = waiting_exports(settings, view, {r.lower() for r in redrive})
    filled = Filled(Slot.EXPORT, EXPORT_SLOTS - view.exports_in_flight)

    def start(item: Waiting) -> str:
        return begin_export(settings, aws, item.snapshot, item.attempt)

    fill_slots(filled, waiting, start, EXPORT_LIMIT_CODE)
    _remember_redrives(settings, aws, filled, waiting, redrive)
    return filled


def _remember_redrives(
    settings: Settings,
    aws: Aws,
    filled: Filled,
    waiting: Sequence[Waiting],
    redrive: Collection[str],
) -> None:
    """A re-drive that found no free slot is tagged on the snapshot, so it stays waiting."""
    wanted = {r.lower() for r in redrive}
    for item in waiting:
        if item.snapshot.identifier.lower() not in wanted or item.attempt == 1:
            continue
        if item.label in filled.started or item.label in filled.already:
            continue
        failed_id = _export_id(item.snapshot, item.attempt - 1)
        if item.snapshot.tags.get(RETRY_EXPORT) == failed_id:
            continue
        try:
            aws.rds(item.region).add_tags_to_resource(
                ResourceName=item.snapshot.arn, Tags=[{"Key": RETRY_EXPORT, "Value": failed_id}]
            )
        except (ClientError, BotoCoreError) as error:
            raise step_failed(
                Slot.EXPORT.value, error, snapshot=item.snapshot.identifier, region=item.region
            ) from error
        logger.info("re-driven export waits for a slot", snapshot=item.label)


def mark_copy_canceled(settings: Settings, aws: Aws, identifier: str, step: str) -> bool:
    """RDS-EVENT-0061: tag our source so the queue does not copy it again by itself (a
    replayed 0042 does). False if there is no source of ours (released, or foreign)."""
    view = work_view(settings, aws, step, exports=False)
    source = view.sources.get(identifier.lower())
    if source is None or COPY_CANCELED in source.tags:
        return False
    try:
        aws.rds(settings.source_region).add_tags_to_resource(
            ResourceName=source.arn, Tags=[{"Key": COPY_CANCELED, "Value": "true"}]
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            step, error, snapshot=identifier, region=settings.source_region
        ) from error
    logger.warning("copy canceled; the source waits for a re-drive", snapshot=identifier)
    return True


def _export_id(snapshot: Owned, attempt: int) -> str:
    return export_id(snapshot.identifier, snapshot.region, attempt)


def _log(filled: Filled) -> None:
    if filled.started or filled.waiting or filled.refused:
        logger.info(
            "slots filled",
            slot=filled.slot.value,
            free=filled.free_before,
            started=len(filled.started),
            waiting=len(filled.waiting),
            refused=filled.refused,
        )
    if filled.started:
        count(f"{filled.slot.value.title()}SlotFilled", len(filled.started))
