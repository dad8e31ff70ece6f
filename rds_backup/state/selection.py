"""Which databases a run backs up, resolved from RDS at each run.

Two ways to select, used together (their union):

- **by name**, ``DB_IDENTIFIER`` (comma list): each name is looked up among the DB
  instances (DescribeDBInstances) and the DB clusters (DescribeDBClusters). Instance and
  cluster identifiers are separate namespaces in RDS, so a name can be neither, one, or
  both; only "exactly one" is usable. A name that is neither, both (ambiguous), or an
  instance that is a member of a cluster (Aurora or Multi-AZ DB cluster: RDS refuses
  CreateDBSnapshot on those; the cluster is what gets snapshotted) is a :class:`Problem`
  naming the identifier. So is a Multi-AZ DB cluster (not Aurora): AWS cannot copy its
  snapshots to another region, the one thing this stack is for.
- **by tag**, ``DB_SELECT_TAG=key=value``: every DB instance and DB cluster of the source
  region carrying that tag, read from the ``TagList`` that DescribeDBInstances and
  DescribeDBClusters return (neither API filters by tag). A database whose tag was removed
  is not selected the next night; reconcile tells a person once and cleanup keeps its
  snapshots while it exists (rds_backup/model/coverage.py, KEEP_UNSELECTED).
  A tagged cluster *member* instance is a :class:`Problem` (tag the cluster instead).

RDS stores identifiers in lower case (RDS User Guide, "DB instance identifier": "stored as
a lowercase string"), so every item carries its identifier lower-cased. Each item also
says why it is included, for ``status`` and the emails.

Least privilege: describing needs ``rds:DescribeDBInstances`` / ``rds:DescribeDBClusters``
on ``*`` (read-only; listing cannot be scoped to names); snapshotting a tag-selected
instance is allowed by IAM only on instances carrying the tag (``rds:db-tag/<key>``,
infra/iam.js ``taggedSnapshotStatements``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.model.kinds import Kind
from rds_backup.observability import logger
from rds_backup.settings import Settings

INSTANCE = Kind.INSTANCE
CLUSTER = Kind.CLUSTER
NAMED = "named in DB_IDENTIFIER"
# DescribeDBInstances / DescribeDBClusters also return Amazon Neptune and Amazon DocumentDB
# resources (RDS API Reference, DescribeDBInstances: "This operation can also return
# information for Amazon Neptune DB instances and Amazon DocumentDB instances"): not ours.
FOREIGN_ENGINES = ("neptune", "docdb")
NOT_FOUND = "DatabaseNotFound"
AMBIGUOUS = "DatabaseAmbiguous"
CLUSTER_MEMBER = "DatabaseIsClusterMember"
# RDS User Guide, "Limitations of Multi-AZ DB clusters for Amazon RDS": a Multi-AZ DB cluster
# (a DB cluster whose engine is RDS for MySQL or PostgreSQL, not Aurora) supports neither
# "Copying a snapshot of a Multi-AZ DB cluster" nor "Cross-Region automated backups": the
# chain's copy would fail every night, so such a cluster is refused at selection, before a
# snapshot is taken (rds_backup/model/remedies.py words what to do instead).
MULTI_AZ_CLUSTER = "DatabaseIsMultiAzCluster"


@dataclass(frozen=True)
class Selected:
    """One database a run backs up."""

    identifier: str  # lower case, as RDS stores it
    kind: Kind
    why: tuple[str, ...]  # "named in DB_IDENTIFIER", "tag team=orders" (both when both)
    arn: str = ""

    @property
    def reason(self) -> str:
        return ", ".join(self.why)

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "kind": self.kind,
            "why": self.reason,
            "arn": self.arn,
        }


@dataclass(frozen=True)
class Problem:
    """A configured database that cannot be backed up as configured; names the identifier."""

    identifier: str
    code: str
    cause: str
    remedy: str

    def failure(self, step: str, region: str) -> StepFailed:
        return StepFailed(
            step, self.cause, database=self.identifier, region=region, code=self.code,
            remedy=self.remedy,
        )  # fmt: skip

    def as_dict(self) -> dict[str, str]:
        return {"identifier": self.identifier, "code": self.code, "cause": self.cause}


@dataclass
class Selection:
    """The databases of one run, and the configured ones that could not be resolved."""

    items: list[Selected] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # What the listings said of every DB instance and DB cluster (by lower-cased id): the
    # restore manifests are made from these records (rds_backup/model/manifest.py).
    instance_records: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    cluster_records: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def of_kind(self, kind: Kind) -> list[Selected]:
        return [item for item in self.items if item.kind == kind]

    @property
    def instances(self) -> list[Selected]:
        return self.of_kind(INSTANCE)

    @property
    def clusters(self) -> list[Selected]:
        return self.of_kind(CLUSTER)

    def find(self, name: str) -> Selected | None:
        """The selected database called ``name`` (any case); an instance before a cluster."""
        matches = [item for item in self.items if item.identifier == name.lower()]
        return min(matches, key=lambda item: item.kind != INSTANCE) if matches else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "databases": [item.as_dict() for item in self.items],
            "problems": [problem.as_dict() for problem in self.problems],
        }


def tag_reason(key: str, value: str) -> str:
    return f"tag {key}={value}"


def select_databases(settings: Settings, aws: Aws) -> Selection:
    """Resolve DB_IDENTIFIER and DB_SELECT_TAG against the source region now.

    Two paginated listings (DescribeDBInstances, DescribeDBClusters; 100 per page) answer
    both ways for a fleet of any size. AWS errors (throttling, access denied) are raised: a
    run that cannot tell what to back up must fail loudly, not back up less.
    """
    rds = aws.rds(settings.source_region)
    instances = _listing(rds, "describe_db_instances", "DBInstances", "DBInstanceIdentifier")
    clusters = _listing(rds, "describe_db_clusters", "DBClusters", "DBClusterIdentifier")
    selection = Selection(instance_records=instances, cluster_records=clusters)
    found: dict[tuple[str, Kind], Selected] = {}
    tagged: dict[tuple[str, Kind], Selected] = {}
    for name in dict.fromkeys(db.lower() for db in settings.db_identifiers):
        item = _by_name(name, instances.get(name), clusters.get(name), selection)
        if item is not None:
            found[(item.identifier, item.kind)] = item
    if settings.select_tag is not None:
        for item in _by_tag(*settings.select_tag, instances, clusters, selection):
            known = found.get((item.identifier, item.kind))
            if known is not None:
                found[(item.identifier, item.kind)] = Selected(
                    item.identifier, item.kind, (*known.why, *item.why), item.arn
                )
            else:
                tagged[(item.identifier, item.kind)] = item
    found.update(sorted(tagged.items()))
    # Named databases in DB_IDENTIFIER's order (start_backup snapshots in this order, as it
    # always did), then the tag-only ones by name.
    selection.items = list(found.values())
    logger.info(
        "databases selected",
        databases=[f"{item.identifier} ({item.kind}: {item.reason})" for item in selection.items],
        problems=[f"{p.identifier}: {p.code}" for p in selection.problems],
    )
    return selection


def _listing(rds: Any, operation: str, key: str, name: str) -> dict[str, dict[str, Any]]:
    """Every RDS resource of one kind, by lower-cased identifier (Neptune/DocumentDB left out)."""
    return {
        str(item[name]).lower(): item for item in _pages(rds, operation, key) if not _foreign(item)
    }


def _by_name(
    name: str,
    instance: dict[str, Any] | None,
    cluster: dict[str, Any] | None,
    selection: Selection,
) -> Selected | None:
    if instance is not None and cluster is not None:
        selection.problems.append(
            Problem(
                name,
                AMBIGUOUS,
                f"{name} is both a DB instance and a DB cluster in this region; "
                "DB_IDENTIFIER cannot tell which one to back up",
                "Select the one to back up by tag (DB_SELECT_TAG on that instance or cluster) "
                "and remove the name from DB_IDENTIFIER, or rename one of them.",
            )
        )
        return None
    if instance is not None:
        member = instance.get("DBClusterIdentifier")
        if member:
            selection.problems.append(_member_problem(name, member, NAMED))
            return None
        return Selected(name, INSTANCE, (NAMED,), instance.get("DBInstanceArn", ""))
    if cluster is not None:
        if _multi_az_cluster(cluster):
            selection.problems.append(_multi_az_problem(name, cluster, NAMED))
            return None
        return Selected(name, CLUSTER, (NAMED,), cluster.get("DBClusterArn", ""))
    selection.problems.append(
        Problem(
            name,
            NOT_FOUND,
            f"{name} is neither a DB instance nor a DB cluster in SOURCE_REGION "
            "(no DB instance or DB cluster of that name: DBInstanceNotFound)",
            "",  # the catalogue's: it names DB_IDENTIFIER's value and what the stack selects
        )
    )
    return None


def _member_problem(name: str, cluster: str, why: str) -> Problem:
    return Problem(
        name,
        CLUSTER_MEMBER,
        f"{name} ({why}) is a member of DB cluster {cluster.lower()}; RDS snapshots the "
        "cluster, not its instances",
        f"Name (or tag) the cluster {cluster.lower()} instead of its instance {name}.",
    )


def _by_tag(
    key: str,
    value: str,
    instances: dict[str, dict[str, Any]],
    clusters: dict[str, dict[str, Any]],
    selection: Selection,
) -> Iterator[Selected]:
    why = (tag_reason(key, value),)
    for name, instance in instances.items():
        if not _tagged(instance, key, value):
            continue
        if instance.get("DBClusterIdentifier"):
            selection.problems.append(
                _member_problem(name, instance["DBClusterIdentifier"], why[0])
            )
            continue
        yield Selected(name, INSTANCE, why, instance.get("DBInstanceArn", ""))
    for name, cluster in clusters.items():
        if not _tagged(cluster, key, value):
            continue
        if _multi_az_cluster(cluster):
            selection.problems.append(_multi_az_problem(name, cluster, why[0]))
            continue
        yield Selected(name, CLUSTER, why, cluster.get("DBClusterArn", ""))


def _multi_az_cluster(cluster: dict[str, Any]) -> bool:
    """A Multi-AZ DB cluster, not Aurora: its engine is not ``aurora*`` (DescribeDBClusters
    lists both; Aurora engines are aurora-mysql and aurora-postgresql)."""
    return not str(cluster.get("Engine", "aurora")).lower().startswith("aurora")


def _multi_az_problem(name: str, cluster: dict[str, Any], why: str) -> Problem:
    return Problem(
        name,
        MULTI_AZ_CLUSTER,
        f"{name} ({why}) is a Multi-AZ DB cluster ({cluster.get('Engine')}): AWS does not "
        "copy its snapshots to another region (RDS User Guide, 'Limitations of Multi-AZ DB "
        "clusters'), so no backup of it could survive the region's loss; not snapshotted",
        "",  # the catalogue's (rds_backup/model/remedies.py)
    )


def _pages(rds: Any, operation: str, key: str) -> Iterable[dict[str, Any]]:
    for page in rds.get_paginator(operation).paginate():
        yield from page.get(key, [])


def _tagged(resource: dict[str, Any], key: str, value: str) -> bool:
    # Tag keys and values are case-sensitive in RDS (and in IAM's rds:db-tag condition).
    return any(t.get("Key") == key and t.get("Value") == value for t in resource.get("TagList", []))


def _foreign(resource: dict[str, Any]) -> bool:
    return str(resource.get("Engine", "")).lower().startswith(FOREIGN_ENGINES)
