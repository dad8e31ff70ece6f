"""check_copy: a cluster copy's end, observed without a polling loop (RDS emits no event
when a CopyDBClusterSnapshot finishes). When a cluster copy starts, the copy step arranges
one later check (rds_backup/state/copy_checks.py: a one-time EventBridge Scheduler schedule
that puts "Cluster Copy Check Due" on the default bus). The check looks at the copy once and
then either

- puts "Cluster Copy Finished" (Outcome ``available``) on the bus: export_snapshot runs
  exactly as for RDS-EVENT-0060, copy_snapshot fills the freed cluster copy slot, and notify
  releases the source;
- puts "Cluster Copy Finished" (Outcome ``failed``, or ``vanished``: the copy is gone while
  its source is still there, which is how a cluster copy is canceled) → notify emails the
  failure once;
- or, still ``copying``/``creating``, arranges the next check with a longer delay
  (``copy_checks.BACKOFF``), until STEP_DEADLINE_HOURS from the copy's start; past it no
  check is arranged and reconcile reports the copy stuck.

A duplicated or replayed check finds the copy as it is, and the "finished" facts it puts are
idempotent downstream (the export id is derived; notify sends each email once). A replayed
check of a run whose snapshots are both gone (retention) does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from events.copy_finished import COPY_FINISHED, SOURCE, CopyCheckDueEvent
from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.model.kinds import Kind
from rds_backup.model.scope import out_of_scope
from rds_backup.model.tags import owned
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state.bus import put_event
from rds_backup.state.copy_checks import STEP, arrange_check
from rds_backup.state.snapshots import describe_snapshot

IN_PROGRESS = frozenset({"copying", "creating"})


def check_copy(settings: Settings, aws: Aws, event: CopyCheckDueEvent) -> dict[str, Any]:
    """Look at the copy once; say it finished, failed or vanished, or check again later."""
    arn = event.snapshot
    attempt = event.detail.attempt
    logger.append_keys(snapshot=arn.identifier, region=arn.region, attempt=attempt)
    if skipped := out_of_scope(settings, arn, [settings.target_region]):
        return {"skipped": skipped}
    raw = describe_snapshot(aws, arn.region, arn.identifier, STEP, Kind.CLUSTER)
    copy = owned(settings, raw, arn.region) if raw else None
    if raw is not None and copy is None:
        logger.info("ignored: not made by this stack")
        return {"skipped": "not ours"}
    if copy is None:
        source = describe_snapshot(aws, settings.source_region, arn.identifier, STEP, Kind.CLUSTER)
        if source is None or owned(settings, source, settings.source_region) is None:
            logger.info("ignored: neither the copy nor its source exists any more")
            return {"skipped": "run gone"}
        return {"outcome": _finished(settings, aws, event, "vanished", "")}
    status = copy.status.lower()
    if status in IN_PROGRESS:
        if clock.now() - event.detail.started > timedelta(hours=settings.step_deadline_hours):
            logger.warning(
                "cluster copy still running past STEP_DEADLINE_HOURS; reconcile reports it",
                status=status,
            )
            return {"outcome": "overdue", "status": status}
        return {
            "outcome": "copying",
            "next_check": arrange_check(settings, aws, str(arn), event.detail.started, attempt + 1),
        }
    outcome = "available" if status == "available" else "failed"
    return {"outcome": _finished(settings, aws, event, outcome, status)}


def _finished(
    settings: Settings, aws: Aws, event: CopyCheckDueEvent, outcome: str, status: str
) -> str:
    """Put "Cluster Copy Finished" on the default bus (raises if it cannot be put)."""
    detail = {
        "SourceArn": event.detail.source_arn,
        "Started": event.detail.started.isoformat(),
        "Outcome": outcome,
        "Status": status,
        "Checks": event.detail.attempt,
    }
    put_event(
        settings,
        aws,
        STEP,
        source=SOURCE,
        detail_type=COPY_FINISHED,
        detail=detail,
        resources=[event.detail.source_arn],
    )
    log = logger.info if outcome == "available" else logger.error
    log("cluster copy ended", outcome=outcome, status=status, checks=event.detail.attempt)
    count("ClusterCopyEnded")
    return outcome
