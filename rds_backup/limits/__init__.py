"""AWS's limits, in one place: every copy and export of the chain is started through this
package, and start_backup checks the manual snapshot quota here. Callers import from here.

| module   | concern                                                                  |
|----------|--------------------------------------------------------------------------|
| view     | what a filler decides from: our snapshots, copies and exports in flight  |
| queue    | the waiting steps, derived from that view, in their fair order           |
| fill     | starting the oldest waiting steps while slots are free                   |
| quota    | the manual snapshot quota (does not drain): usage, headroom, the report  |

Concurrency limits (they drain by themselves; docs/ARCHITECTURE.md, "AWS facts")
  exports  at most 5 in progress per account, all regions together ("You can have up to
           five concurrent DB snapshot export tasks in progress per AWS account", RDS/Aurora
           User Guide, "Creating snapshot export tasks"); refusal ExportTaskLimitReachedFault.
  copies   at most 20 cross-region copy requests in progress per destination region (RDS
           User Guide, "Copying a DB snapshot"); refusal SnapshotQuotaExceeded, "Cannot copy
           more than 20 snapshots across regions".
  cluster copies  "You can have up to five snapshot copy requests in progress to a single
           destination Region per account" (Aurora User Guide, "Copying a DB cluster
           snapshot", Limitations). Whether DB and DB cluster copies share one budget is not
           documented: each kind is counted against its own limit here, and a refusal by RDS
           (SnapshotQuotaExceeded) makes the copy wait either way.
  The export limit is one for both kinds (StartExportTask takes a DB snapshot or a DB
  cluster snapshot ARN, "Exporting DB cluster snapshot data to Amazon S3").
A step refused for one of these is *waiting*, never failed (docs/ARCHITECTURE.md,
principle 7).

No double start, and no counter of our own: every step's resource id is derived, so RDS
refuses a second start of the same step (``*AlreadyExists*``), atomically; and RDS enforces
each limit itself, atomically. Two fillers racing (concurrent or duplicated events) find
each other's start as AlreadyExists, count it as a slot used, and can at worst spend one
refused call, after which the step is still waiting. A semaphore item of our own (a
DynamoDB conditional counter) would be a second truth that drifts each time an ending event
is lost, which RDS allows (best effort), and would need reconcile to repair it.
"""

from rds_backup.limits.fill import (
    Filled,
    fill_copies,
    fill_exports,
    fill_exports_on_event,
    fill_slots,
    mark_copy_canceled,
)
from rds_backup.limits.queue import (
    COPY_CANCELED,
    RETRY_EXPORT,
    Slot,
    Waiting,
    expected_hours,
    hours_per_gib,
    order_key,
    queue,
    waiting_copies,
    waiting_exports,
)
from rds_backup.limits.quota import (
    COPY_LIMIT_TEXT,
    MANUAL_QUOTA_TEXT,
    QuotaReached,
    Usage,
    headroom,
    manual_snapshot_usage,
    quota_reached,
    report_quota,
)
from rds_backup.limits.view import (
    CLUSTER_COPY_SLOTS,
    COPY_SLOTS,
    EXPORT_SLOTS,
    View,
    full_view,
    work_view,
)

__all__ = [
    "CLUSTER_COPY_SLOTS",
    "COPY_CANCELED",
    "COPY_LIMIT_TEXT",
    "COPY_SLOTS",
    "EXPORT_SLOTS",
    "MANUAL_QUOTA_TEXT",
    "RETRY_EXPORT",
    "Filled",
    "QuotaReached",
    "Slot",
    "Usage",
    "View",
    "Waiting",
    "expected_hours",
    "fill_copies",
    "fill_exports",
    "fill_exports_on_event",
    "fill_slots",
    "full_view",
    "headroom",
    "hours_per_gib",
    "manual_snapshot_usage",
    "mark_copy_canceled",
    "order_key",
    "queue",
    "quota_reached",
    "report_quota",
    "waiting_copies",
    "waiting_exports",
    "work_view",
]
