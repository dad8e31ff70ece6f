"""What the vault does next, decided from what AWS says (pure; no AWS call here).

The queue is never stored: a shared snapshot of the source account with no vault copy of
the same id is waiting, so a lost, duplicated or replayed "shared" event changes nothing
(the reconcile schedule runs the same pass). Limits, as the main chain's
(rds_backup/limits/): copies in progress per destination region (20 DB snapshot copies, 5 DB
cluster snapshot copies, ``COPY_SLOTS``/``CLUSTER_COPY_SLOTS``) and the manual snapshot
quota (its free count, read from DescribeAccountAttributes); a copy that does not fit waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rds_backup.limits import CLUSTER_COPY_SLOTS, COPY_SLOTS
from rds_backup.model.kinds import Kind

IN_FLIGHT = frozenset({"creating", "copying", "pending"})
FAILED = frozenset({"failed", "incompatible-restore", "incompatible-parameters"})
SLOTS = {Kind.INSTANCE: COPY_SLOTS, Kind.CLUSTER: CLUSTER_COPY_SLOTS}
NAMESPACE = "rds-backup:"
VAULT_TAG = f"{NAMESPACE}vault"  # the vault stack's name: the copy is the vault's own
SOURCE_TAG = f"{NAMESPACE}vault-source"  # the shared snapshot's ARN it was copied from
DATABASE_TAG = f"{NAMESPACE}database"
RUN_TAG = f"{NAMESPACE}run"


@dataclass(frozen=True)
class Shared:
    """A snapshot the source account shares with the vault (DescribeDB[Cluster]Snapshots,
    SnapshotType shared): named by its ARN, as a copy of it must be."""

    arn: str
    identifier: str
    kind: Kind
    status: str
    database: str
    run: str

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.identifier.lower())

    @property
    def label(self) -> str:
        return f"vault-copy {self.identifier}"


@dataclass(frozen=True)
class Held:
    """One of the vault's own copies (tagged VAULT_TAG with this stack's name)."""

    arn: str
    identifier: str
    kind: Kind
    status: str
    source_arn: str
    created: datetime | None
    key_id: str | None

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.identifier.lower())


@dataclass
class Plan:
    waiting: dict[Kind, list[Shared]] = field(default_factory=dict)  # oldest run first
    free: dict[Kind, int] = field(default_factory=dict)  # copies that may start now
    in_flight: dict[Kind, int] = field(default_factory=dict)
    finished: list[tuple[Shared, Held]] = field(default_factory=list)  # report: available
    failed: list[tuple[Shared, Held]] = field(default_factory=list)  # report: failed

    @property
    def waiting_count(self) -> int:
        return sum(len(items) for items in self.waiting.values())


def plan(
    shared: Iterable[Shared],
    held: Iterable[Held],
    quota_free: Mapping[Kind, int] | None = None,
) -> Plan:
    """``quota_free``: free manual snapshots per kind in the vault region (None: not read,
    because nothing waits)."""
    mine = {copy.key: copy for copy in held}
    result = Plan()
    for kind in SLOTS:
        result.in_flight[kind] = sum(
            1 for c in mine.values() if c.kind is kind and c.status.lower() in IN_FLIGHT
        )
        result.waiting[kind] = []
    for item in shared:
        copy = mine.get(item.key)
        if copy is None:
            if item.status.lower() == "available":
                result.waiting[item.kind].append(item)
        elif copy.status.lower() == "available":
            result.finished.append((item, copy))
        elif copy.status.lower() in FAILED:
            result.failed.append((item, copy))
    for kind, items in result.waiting.items():
        items.sort(key=lambda s: (s.run, s.identifier.lower()))
        free = SLOTS[kind] - result.in_flight[kind]
        if quota_free is not None:
            free = min(free, quota_free.get(kind, 0))
        result.free[kind] = max(0, free)
    return result


def to_start(result: Plan, kind: Kind) -> Sequence[Shared]:
    """The copies of ``kind`` that start in this pass, oldest first."""
    return result.waiting[kind][: result.free[kind]]
