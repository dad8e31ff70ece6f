"""AWS's RDS limits, enforced in moto (the moto server and in-process ``mock_aws`` share
moto's classes, so one ``install()`` covers both; it is idempotent).

- export tasks in progress (STARTING, IN_PROGRESS, CANCELING) per **account**, across all
  regions: 5. Refusal ``ExportTaskLimitReachedFault``, "You have reached the limit of 5
  concurrent export tasks".
- cross-region copies in progress per **destination** region: 20. Refusal
  ``SnapshotQuotaExceeded``, "Cannot copy more than 20 snapshots across regions".
- manual DB snapshots per region (automated ones do not count): 100. Refusal
  ``SnapshotQuotaExceeded``, "Cannot create more than 100 manual snapshots".
- manual DB cluster snapshots per region: 100, the same way ("... manual cluster snapshots").
- DB instances per region: 40 (restores and drills count like any instance, cluster members
  too). Refusal ``InstanceQuotaExceeded``, "DB Instance quota exceeded" (the code is
  botocore's InstanceQuotaExceededFault; the text is RDS's as seen in the field, e.g.
  hashicorp/terraform-provider-aws#25768). A local AWS seeded with more source databases than
  that raises its source region's quota to fit them, as such an account has done.
- cross-region DB cluster snapshot copies in progress per destination region: 5 ("You can
  have up to five snapshot copy requests in progress to a single destination Region per
  account", Aurora User Guide, "Copying a DB cluster snapshot"); refusal
  ``SnapshotQuotaExceeded``, "Cannot copy more than 5 snapshots across regions".

- DB cluster snapshot identifiers of more than 63 characters are refused
  (``InvalidParameterValue``), and so is a ``KmsKeyId`` on the copy of an unencrypted DB
  cluster snapshot (``InvalidParameterCombination``): moto accepts both, AWS does not
  (CopyDBClusterSnapshot / CreateDBClusterSnapshot, RDS API Reference).

All refusals are HTTP 400 query-protocol XML errors, like moto's own RDS errors.

Sources: Aurora/RDS User Guides ("Creating snapshot export tasks": "up to five concurrent DB
snapshot export tasks in progress per AWS account"; "Quotas in Amazon RDS": manual
snapshots 100 per region; "Copying a DB snapshot": 20 cross-region copies in progress per
destination region). The export refusal's code and text are from field reports (not in
botocore's error list). Quotas are adjustable: ``set_quota(region, manual_snapshots=...)``.

An export task whose role RDS's export service cannot assume or that lacks an S3 action ends
FAILED with the FailureCause AWS documents (export_access.py).

Also: ``DescribeExportTasks`` honors ``SourceArn`` and ``Filters`` (moto returns every
task of the region); ``DescribeAccountAttributes`` (moto lacks it) answers ``AccountQuotas`` with
ManualSnapshots, ManualClusterSnapshots and DBInstances (Used/Max) for the region; and
``observe(fn)`` lets the timed emulator see each new snapshot, copy and export task before
any other request can, to give it its in-progress state and due time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from rds_backup.local import export_access

EXPORT_LIMIT_CODE = "ExportTaskLimitReachedFault"
INSTANCE_QUOTA_CODE = "InstanceQuotaExceeded"
SNAPSHOT_QUOTA_CODE = "SnapshotQuotaExceeded"
REFUSAL_CODES = frozenset({EXPORT_LIMIT_CODE, SNAPSHOT_QUOTA_CODE})
ACTIVE_EXPORT = frozenset({"starting", "in_progress", "canceling"})
DB_INSTANCES_MAX = 40  # "Quotas in Amazon RDS": DB instances per region (default)
Observer = Callable[[str, Any, Any], None]  # (kind: snapshot|copy|export, backend, resource)


@dataclass(frozen=True)
class Quotas:
    manual_snapshots: int = 100
    manual_cluster_snapshots: int = 100
    copies: int = 20  # cross-region copies in progress per destination region
    cluster_copies: int = 5  # cross-region cluster snapshot copies, per destination region
    exports: int = 5  # export tasks in progress per account (read from the default quotas)
    db_instances: int = DB_INSTANCES_MAX  # DB instances per region, cluster members included


_default = Quotas()
_regions: dict[str, Quotas] = {}
_observers: list[Observer] = []
_originals: dict[tuple[type, str], Any] = {}


class ExportTaskLimitReached(RDSClientError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            EXPORT_LIMIT_CODE, f"You have reached the limit of {limit} concurrent export tasks"
        )


class SnapshotQuota(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__(SNAPSHOT_QUOTA_CODE, message)


class InstanceQuota(RDSClientError):
    def __init__(self) -> None:
        super().__init__(INSTANCE_QUOTA_CODE, "DB Instance quota exceeded")


def set_quota(region: str | None = None, **values: int) -> None:
    """Change quotas for ``region`` (None: the defaults of every region, and the account's
    export limit). Unknown names raise."""
    global _default
    known = {f.name for f in fields(Quotas)}
    if unknown := set(values) - known:
        raise TypeError(f"unknown quota(s) {sorted(unknown)}; known: {sorted(known)}")
    if region is None:
        # every region: those with a quota of their own set earlier (e.g. the DB instances
        # quota the harness raises to fit a large fleet) take the new values too
        _default = replace(_default, **values)
        for name, own in _regions.items():
            _regions[name] = replace(own, **values)
    else:
        _regions[region] = replace(_regions.get(region, _default), **values)


def reset_quotas() -> None:
    """AWS's defaults everywhere again."""
    global _default
    _default = Quotas()
    _regions.clear()


def quotas(region: str | None = None) -> Quotas:
    return _default if region is None else _regions.get(region, _default)


def observe(observer: Observer) -> None:
    if observer not in _observers:
        _observers.append(observer)


def unobserve(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _notify(kind: str, backend: Any, resource: Any) -> None:
    for observer in list(_observers):
        observer(kind, backend, resource)


# -- counting --------------------------------------------------------------------------------


def manual_snapshots(backend: Any) -> int:
    """Manual DB snapshots in the backend's region, including ones being created/copied."""
    return sum(1 for s in backend.database_snapshots.values() if s.snapshot_type == "manual")


def manual_cluster_snapshots(backend: Any) -> int:
    return sum(1 for s in backend.cluster_snapshots.values() if s.snapshot_type == "manual")


def copies_in_progress(backend: Any) -> int:
    """Cross-region copies into the backend's region that are still ``creating``."""
    active = _tracked(backend, "_local_copies")
    for identifier in list(active):
        snapshot = backend.database_snapshots.get(identifier)
        if snapshot is None or snapshot.status != "creating":
            active.discard(identifier)
    return len(active)


def cluster_copies_in_progress(backend: Any) -> int:
    """Cross-region cluster snapshot copies into the backend's region still ``copying``."""
    active = _tracked(backend, "_local_cluster_copies")
    for identifier in list(active):
        snapshot = backend.cluster_snapshots.get(identifier)
        if snapshot is None or snapshot.status not in ("copying", "creating"):
            active.discard(identifier)
    return len(active)


def exports_in_progress(account_id: str) -> int:
    """Export tasks STARTING, IN_PROGRESS or CANCELING in every region of the account."""
    total = 0
    for backend in list(dict.values(rds_backends[account_id])):
        active = _tracked(backend, "_local_exports")
        for identifier in list(active):
            task = backend.export_tasks.get(identifier)
            if task is None or str(task.status).lower() not in ACTIVE_EXPORT:
                active.discard(identifier)
        total += len(active)
    return total


def _tracked(backend: Any, name: str) -> set[str]:
    """Ids that may still be in progress (pruned when counted: O(in progress), not O(all))."""
    found: set[str] | None = backend.__dict__.get(name)
    if found is None:
        found = set()
        setattr(backend, name, found)
    return found


# -- the patched moto methods --------------------------------------------------------------


def _create_db_snapshot(
    self: Any,
    db_instance_identifier: str,
    db_snapshot_identifier: str,
    snapshot_type: str = "manual",
    *args: Any,
    **kwargs: Any,
) -> Any:
    original = _originals[(RDSBackend, "create_db_snapshot")]
    fresh = db_snapshot_identifier.lower() not in self.database_snapshots
    if fresh and snapshot_type == "manual":
        _check_manual_quota(self)
    snapshot = original(
        self, db_instance_identifier, db_snapshot_identifier, snapshot_type, *args, **kwargs
    )
    if snapshot_type == "manual":
        _notify("snapshot", self, snapshot)
    return snapshot


def _copy_db_snapshot(
    self: Any,
    source_db_snapshot_identifier: str,
    target_db_snapshot_identifier: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    original = _originals[(RDSBackend, "copy_db_snapshot")]
    source_region = _arn_region(source_db_snapshot_identifier) or self.region_name
    cross_region = source_region != self.region_name
    if target_db_snapshot_identifier.lower() not in self.database_snapshots:
        _check_manual_quota(self)
        limits = quotas(self.region_name)
        if cross_region and copies_in_progress(self) >= limits.copies:
            raise SnapshotQuota(f"Cannot copy more than {limits.copies} snapshots across regions")
    snapshot = original(
        self, source_db_snapshot_identifier, target_db_snapshot_identifier, *args, **kwargs
    )
    snapshot.local_copy_source_region = source_region
    _notify("copy", self, snapshot)
    if cross_region and snapshot.status == "creating":
        _tracked(self, "_local_copies").add(snapshot.db_snapshot_identifier)
    return snapshot


def _start_export_task(self: Any, kwargs: dict[str, Any]) -> Any:
    original = _originals[(RDSBackend, "start_export_task")]
    if kwargs.get("export_task_identifier") not in self.export_tasks:
        limit = quotas().exports
        if exports_in_progress(self.account_id) >= limit:
            raise ExportTaskLimitReached(limit)
    task = original(self, kwargs)
    # What RDS's export checks of the role (export_access.py): a task that will fail.
    task.local_failure_cause = export_access.failure_cause(task)
    _notify("export", self, task)
    if str(task.status).lower() in ACTIVE_EXPORT:
        _tracked(self, "_local_exports").add(task.export_task_identifier)
    return task


def _create_db_cluster_snapshot(
    self: Any,
    db_cluster_identifier: str,
    db_cluster_snapshot_identifier: str,
    snapshot_type: str = "manual",
    *args: Any,
    **kwargs: Any,
) -> Any:
    original = _originals[(RDSBackend, "create_db_cluster_snapshot")]
    if snapshot_type == "manual":  # moto names its automated ones itself
        _check_cluster_snapshot_id(db_cluster_snapshot_identifier)
    if snapshot_type == "manual" and db_cluster_snapshot_identifier not in self.cluster_snapshots:
        _check_cluster_quota(self)
    snapshot = original(
        self, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, *args, **kwargs
    )
    if snapshot_type == "manual":
        _notify("cluster-snapshot", self, snapshot)
    return snapshot


def _copy_db_cluster_snapshot(
    self: Any,
    source_db_cluster_snapshot_identifier: str,
    target_db_cluster_snapshot_identifier: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    original = _originals[(RDSBackend, "copy_db_cluster_snapshot")]
    _check_cluster_snapshot_id(target_db_cluster_snapshot_identifier)
    source_region = _arn_region(source_db_cluster_snapshot_identifier) or self.region_name
    cross_region = source_region != self.region_name
    if kwargs.get("kms_key_id") and not _source_encrypted(
        self, source_region, source_db_cluster_snapshot_identifier
    ):
        # CopyDBClusterSnapshot, KmsKeyId: "If you copy an unencrypted DB cluster snapshot
        # and specify a value for the KmsKeyId parameter, an error is returned." The code is
        # not documented: the local AWS answers InvalidParameterCombination.
        raise RDSClientError(
            "InvalidParameterCombination",
            "KmsKeyId cannot be specified when copying an unencrypted DB cluster snapshot",
        )
    if target_db_cluster_snapshot_identifier.lower() not in self.cluster_snapshots:
        _check_cluster_quota(self)
        limit = quotas(self.region_name).cluster_copies
        if cross_region and cluster_copies_in_progress(self) >= limit:
            raise SnapshotQuota(f"Cannot copy more than {limit} snapshots across regions")
    snapshot = original(
        self,
        source_db_cluster_snapshot_identifier,
        target_db_cluster_snapshot_identifier,
        *args,
        **kwargs,
    )
    # moto's copy keeps no origin; RDS answers SourceDBClusterSnapshotArn (see kinds.py).
    snapshot.local_copy_source_arn = source_db_cluster_snapshot_identifier
    _notify("cluster-copy", self, snapshot)
    if cross_region and snapshot.status in ("copying", "creating"):
        _tracked(self, "_local_cluster_copies").add(snapshot.db_cluster_snapshot_identifier)
    return snapshot


# CreateDBClusterSnapshot / CopyDBClusterSnapshot (RDS API Reference): the identifier "Must
# contain from 1 to 63 letters, numbers, or hyphens"; moto takes any length. The code is not
# documented for this case: the local AWS answers InvalidParameterValue (a common error).
CLUSTER_SNAPSHOT_ID_MAX = 63


def _check_cluster_snapshot_id(identifier: str) -> None:
    if len(identifier) > CLUSTER_SNAPSHOT_ID_MAX:
        raise RDSClientError(
            "InvalidParameterValue",
            f"The parameter DBClusterSnapshotIdentifier is not a valid identifier: it is "
            f"{len(identifier)} characters long (at most {CLUSTER_SNAPSHOT_ID_MAX})",
        )


def _source_encrypted(backend: Any, region: str, identifier: str) -> bool:
    """Whether the cluster snapshot ``identifier`` (id or ARN) is encrypted; True when it is
    not found (moto's own copy then answers its not-found error)."""
    name = identifier.rsplit(":", 1)[-1].lower()
    source = rds_backends[backend.account_id][region]
    snapshot = source.cluster_snapshots.get(name)
    if snapshot is None:
        return True
    return bool(getattr(snapshot.cluster, "storage_encrypted", True))


def _check_manual_quota(backend: Any) -> None:
    limit = quotas(backend.region_name).manual_snapshots
    if manual_snapshots(backend) >= limit:
        raise SnapshotQuota(f"Cannot create more than {limit} manual snapshots")


def _create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
    """Every new DB instance (moto's restores create theirs here too) counts against the
    region's DB instances quota."""
    if len(self.databases) >= quotas(self.region_name).db_instances:
        raise InstanceQuota()
    return _originals[(RDSBackend, "create_db_instance")](self, db_kwargs)


def _check_cluster_quota(backend: Any) -> None:
    limit = quotas(backend.region_name).manual_cluster_snapshots
    if manual_cluster_snapshots(backend) >= limit:
        raise SnapshotQuota(f"Cannot create more than {limit} manual cluster snapshots")


def account_quotas(backend: Any) -> list[dict[str, Any]]:
    """What DescribeAccountAttributes answers for the backend's region."""
    limits = quotas(backend.region_name)
    return [
        {"AccountQuotaName": "DBInstances", "Used": len(backend.databases),
         "Max": limits.db_instances},
        {"AccountQuotaName": "ManualSnapshots", "Used": manual_snapshots(backend),
         "Max": limits.manual_snapshots},
        {"AccountQuotaName": "ManualClusterSnapshots", "Used": manual_cluster_snapshots(backend),
         "Max": limits.manual_cluster_snapshots},
    ]  # fmt: skip


def _describe_export_tasks(self: Any) -> ActionResult:
    """moto ignores ``SourceArn`` and ``Filters`` (every task of the region, each call):
    honor them as RDS does (filters export-task-identifier, s3-bucket, source-arn, status)."""
    tasks = list(self.backend.describe_export_tasks(self.params.get("ExportTaskIdentifier")))
    wanted = {f["Name"]: set(f.get("Values", [])) for f in self.params.get("Filters", [])}
    if self.params.get("SourceArn"):
        wanted.setdefault("source-arn", set()).add(self.params["SourceArn"])
    fields: dict[str, Callable[[Any], Any]] = {
        "export-task-identifier": lambda t: t.export_task_identifier,
        "s3-bucket": lambda t: t.s3_bucket,
        "source-arn": lambda t: t.source_arn,
        "status": lambda t: str(t.status).lower(),
    }
    for name, values in wanted.items():
        if name in fields:
            if name == "status":
                values = {v.lower() for v in values}
            tasks = [t for t in tasks if fields[name](t) in values]
    return _page(self, "ExportTasks", tasks)


# DescribeDBSnapshots, DescribeDBClusterSnapshots, DescribeExportTasks (RDS API Reference):
# MaxRecords "Default: 100. Constraints: Minimum 20, maximum 100"; more records than that
# come with a Marker for the next request. moto answers every record at once, so a listing
# would cost one call however many snapshots the region holds: paged here as RDS pages.
PAGE_DEFAULT, PAGE_MIN, PAGE_MAX = 100, 20, 100


def _page(self: Any, key: str, found: list[Any]) -> ActionResult:
    """One page of ``found`` as RDS answers it (MaxRecords, Marker)."""
    size = int(self.params.get("MaxRecords") or PAGE_DEFAULT)
    if not PAGE_MIN <= size <= PAGE_MAX:
        raise RDSClientError(
            "InvalidParameterValue",
            f"Invalid value {size} for MaxRecords. Must be between {PAGE_MIN} and {PAGE_MAX}",
        )
    start = int(self.params.get("Marker") or 0)
    result: dict[str, Any] = {key: found[start : start + size]}
    if start + size < len(found):
        result["Marker"] = str(start + size)
    return ActionResult(result)


def _paged(name: str, key: str) -> Callable[[Any], ActionResult]:
    def describe(self: Any) -> ActionResult:
        answer = _originals[(RDSResponse, name)](self)
        return _page(self, key, list(answer.result.get(key, [])))

    return describe


def _describe_account_attributes(self: Any) -> ActionResult:
    return ActionResult({"AccountQuotas": account_quotas(self.backend)})


_PATCHES: Iterable[tuple[type, str, Any]] = (
    (RDSBackend, "create_db_instance", _create_db_instance),
    (RDSBackend, "create_db_snapshot", _create_db_snapshot),
    (RDSBackend, "copy_db_snapshot", _copy_db_snapshot),
    (RDSBackend, "start_export_task", _start_export_task),
    (RDSBackend, "create_db_cluster_snapshot", _create_db_cluster_snapshot),
    (RDSBackend, "copy_db_cluster_snapshot", _copy_db_cluster_snapshot),
    # moto's own crude check (every snapshot, automated ones too): replaced by the above
    (RDSBackend, "SNAPSHOT_QUOTA", property(lambda self: 1 << 62)),
    (RDSResponse, "describe_account_attributes", _describe_account_attributes),
    (RDSResponse, "describe_export_tasks", _describe_export_tasks),
)
_PAGED: Iterable[tuple[str, str]] = (
    ("describe_db_snapshots", "DBSnapshots"),
    ("describe_db_cluster_snapshots", "DBClusterSnapshots"),
)


def install() -> None:
    """Patch moto's RDS classes (once per process; later calls do nothing)."""
    warnings.filterwarnings("ignore", message=rf".*code {EXPORT_LIMIT_CODE} does not match")
    warnings.filterwarnings("ignore", message=rf".*code {INSTANCE_QUOTA_CODE} does not match")
    for owner, name, replacement in _PATCHES:
        if (owner, name) not in _originals:
            _originals[(owner, name)] = owner.__dict__.get(name)
            setattr(owner, name, replacement)
    for name, key in _PAGED:
        if (RDSResponse, name) not in _originals:
            _originals[(RDSResponse, name)] = RDSResponse.__dict__.get(name)
            setattr(RDSResponse, name, _paged(name, key))


def installed() -> bool:
    return bool(_originals)


def _arn_region(identifier: str) -> str | None:
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        return parts[3] if len(parts) > 3 else None
    return None
