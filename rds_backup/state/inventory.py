"""Everything of ours in a region, in as few calls as possible: DescribeDBSnapshots and
DescribeDBClusterSnapshots pages (tags come in the response; never one ListTagsForResource
per snapshot) and DescribeExportTasks pages. Both kinds are listed (rds_backup/model/kinds.py):
a stack may back up DB instances and DB clusters, and the 5-export limit is shared."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import step_failed
from rds_backup.model import tags
from rds_backup.model.kinds import KINDS, Kind, api
from rds_backup.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_rds.type_defs import FilterTypeDef


def manual_snapshots(
    aws: Aws, region: str, step: str, kinds: tuple[Kind, ...] = KINDS
) -> Iterator[dict[str, Any]]:
    """Every manual DB snapshot, then every manual DB cluster snapshot, in the region, page
    by page (each record keeps its own field names: rds_backup/model/kinds.py reads them)."""
    try:
        for kind in kinds:
            spec = api(kind)
            pages = (
                aws.rds(region)
                .get_paginator(spec.describe)  # type: ignore[call-overload]
                .paginate(SnapshotType="manual", PaginationConfig={"PageSize": 100})
            )
            for page in pages:
                for snapshot in page.get(spec.list_key, []):
                    yield dict(snapshot)
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error


# DescribeDBSnapshots filter values per call (the API documents no maximum; kept modest).
IDS_PER_CALL = 50


def snapshots_by_id(
    aws: Aws,
    region: str,
    identifiers: Sequence[str],
    step: str,
    kinds: tuple[Kind, ...] = KINDS,
) -> Iterator[dict[str, Any]]:
    """The manual snapshots (both kinds) among ``identifiers`` (a ``db-snapshot-id`` /
    ``db-cluster-snapshot-id`` filter, a few ids a call): what an event needs, without
    listing every snapshot retention keeps."""
    for kind in kinds:
        yield from _filtered(aws, region, kind, api(kind).id_filter, identifiers, step)


# DescribeDBSnapshots / DescribeDBClusterSnapshots filters (RDS API Reference): db-instance-id
# "Accepts DB instance identifiers and DB instance Amazon Resource Names (ARNs)";
# db-cluster-id "Accepts DB cluster identifiers and DB cluster Amazon Resource Names (ARNs)".
DATABASE_FILTER = {Kind.INSTANCE: "db-instance-id", Kind.CLUSTER: "db-cluster-id"}


def snapshots_of(
    aws: Aws, region: str, databases: Sequence[str], step: str, kind: Kind
) -> Iterator[dict[str, Any]]:
    """The manual snapshots of ``kind`` of these databases, a few databases a call: what a
    fill needs of the source region, whatever other databases keep there."""
    return _filtered(aws, region, kind, DATABASE_FILTER[kind], databases, step)


def _filtered(
    aws: Aws, region: str, kind: Kind, name: str, values: Sequence[str], step: str
) -> Iterator[dict[str, Any]]:
    spec = api(kind)
    rds = aws.rds(region)
    try:
        for start in range(0, len(values), IDS_PER_CALL):
            batch = list(values[start : start + IDS_PER_CALL])
            pages = rds.get_paginator(spec.describe).paginate(  # type: ignore[call-overload]
                SnapshotType="manual",
                Filters=[{"Name": name, "Values": batch}],
                PaginationConfig={"PageSize": 100},
            )
            for page in pages:
                for snapshot in page.get(spec.list_key, []):
                    yield dict(snapshot)
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error


def owned_snapshots(settings: Settings, aws: Aws, region: str, step: str) -> Iterator[tags.Owned]:
    for snapshot in manual_snapshots(aws, region, step):
        owned = tags.owned(settings, snapshot, region)
        if owned is not None:
            yield owned


def export_tasks(aws: Aws, region: str, step: str) -> list[dict[str, Any]]:
    """Every export task in the region (RDS keeps them after completion: a history that
    grows every night; the slot fillers ask for less, below)."""
    return _export_tasks(aws, region, step, [])


# DescribeExportTasks filters (RDS API Reference, DescribeExportTasks): ``status`` takes
# lower-case values (canceled, canceling, complete, failed, in_progress, starting);
# ``source-arn`` the exported snapshot's ARN.
IN_FLIGHT_STATUSES = ("starting", "in_progress", "canceling")


def export_tasks_in_flight(aws: Aws, region: str, step: str) -> list[dict[str, Any]]:
    """The export tasks in progress in the region (what counts against the 5-export limit):
    a ``status`` filter, so the answer stays small however long the history."""
    tasks = _export_tasks(
        aws, region, step, [{"Name": "status", "Values": list(IN_FLIGHT_STATUSES)}]
    )
    # Checked here too: an implementation that ignores the filter must not inflate the count.
    return [t for t in tasks if str(t.get("Status", "")).lower() in IN_FLIGHT_STATUSES]


def export_tasks_of(
    aws: Aws, region: str, snapshot_arns: Sequence[str], step: str
) -> list[dict[str, Any]]:
    """Every export task of these snapshots (a ``source-arn`` filter, a few ARNs a call)."""
    found: list[dict[str, Any]] = []
    wanted = set(snapshot_arns)
    for start in range(0, len(snapshot_arns), IDS_PER_CALL):
        batch = list(snapshot_arns[start : start + IDS_PER_CALL])
        tasks = _export_tasks(aws, region, step, [{"Name": "source-arn", "Values": batch}])
        found.extend(t for t in tasks if t.get("SourceArn") in wanted)
    return found


def _export_tasks(
    aws: Aws, region: str, step: str, filters: list[FilterTypeDef]
) -> list[dict[str, Any]]:
    try:
        paginator = aws.rds(region).get_paginator("describe_export_tasks")
        pages = paginator.paginate(Filters=filters) if filters else paginator.paginate()
        return [dict(task) for page in pages for task in page.get("ExportTasks", [])]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error
