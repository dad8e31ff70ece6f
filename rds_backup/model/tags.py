"""Tags that mark a snapshot as ours. Only tagged snapshots are ever copied or deleted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rds_backup.model.kinds import Kind, arn_of, identifier_of, kind_of
from rds_backup.model.naming import snapshot_id
from rds_backup.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_rds.type_defs import TagTypeDef

NAMESPACE = "rds-backup:"
STACK = f"{NAMESPACE}stack"
DATABASE = f"{NAMESPACE}database"
RUN = f"{NAMESPACE}run"
ROLE = f"{NAMESPACE}role"
EXPORTS = f"{NAMESPACE}exports"  # which regions this run exports: "target" or "source,target"
# "true" on a run an operator started for named databases (Backup Requested with databases):
# the databases it did not name are not missing from it (rds-backup status).
REQUESTED = f"{NAMESPACE}requested"
# The export's expected duration in hours, from the database's earlier export tasks
# (rds_backup/state/history.py), set when the source is made and carried to the copy: the
# export queue starts the longest expected first (rds_backup/limits/queue.py).
EXPECTED_EXPORT_HOURS = f"{NAMESPACE}export-hours"
# On our copy, once the vault account holds its own copy of it (docs/VAULT.md): that copy's
# ARN (share_vault writes it before removing the share; status reads it).
VAULT_COPY = f"{NAMESPACE}vault-copy"


class Role(StrEnum):
    SOURCE = "source"
    COPY = "copy"


def as_dict(tag_list: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tag_list or ()}


def as_list(tags: Mapping[str, str]) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def ours(
    settings: Settings,
    database: str,
    run: str,
    role: Role,
    exports: str,
    requested: bool = False,
) -> dict[str, str]:
    return {
        STACK: settings.stack_name,
        DATABASE: database,
        RUN: run,
        ROLE: role.value,
        EXPORTS: exports,
        **({REQUESTED: "true"} if requested else {}),
    }


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The source's own tags worth carrying to the copy: not ``aws:`` (AWS refuses them),
    not ours (the copy gets its own)."""
    return {k: v for k, v in tags.items() if not k.startswith(("aws:", NAMESPACE))}


@dataclass(frozen=True)
class Owned:
    """A snapshot proven to be ours, with what its tags say about its run."""

    identifier: str
    arn: str
    region: str
    database: str
    run: str
    role: Role
    exports: tuple[str, ...]
    status: str
    tags: dict[str, str]
    raw: Mapping[str, Any]
    kind: Kind = Kind.INSTANCE

    @property
    def cluster(self) -> bool:
        return self.kind is Kind.CLUSTER

    @property
    def available(self) -> bool:
        return self.status.lower() == "available"

    @property
    def requested(self) -> bool:
        """Made for an operator's request naming databases (REQUESTED), not for every one."""
        return self.tags.get(REQUESTED) == "true"


def owned(settings: Settings, snapshot: Mapping[str, Any], region: str) -> Owned | None:
    """Return the snapshot as :class:`Owned` if this stack made it, else None.

    Ours means (docs/ARCHITECTURE.md, principle 8), for a DB snapshot and a DB cluster
    snapshot alike (``snapshot`` is either describe record, rds_backup/model/kinds.py): a
    manual snapshot tagged with our stack name, a known role, a database and a run, whose
    identifier is exactly the
    one derived for that database and run (``naming.snapshot_id``; RDS compares identifiers
    case-insensitively).
    Automated, AWS Backup, foreign manual snapshots, other stacks' and look-alikes (an
    operator's ``<our id>-keep`` copy with our tags copied) are not. Every path (copy,
    export, release, reconcile, cleanup, status) decides through this one check.
    """
    tags = as_dict(snapshot.get("TagList"))
    identifier = identifier_of(snapshot)
    if snapshot.get("SnapshotType", "manual") != "manual":
        return None
    if not identifier.lower().startswith(f"{settings.snapshot_prefix}-"):
        return None
    if tags.get(STACK) != settings.stack_name or tags.get(ROLE) not in {r.value for r in Role}:
        return None
    if not tags.get(DATABASE) or not tags.get(RUN):
        return None
    derived = snapshot_id(settings.snapshot_prefix, tags[DATABASE], tags[RUN])
    if identifier.lower() != derived.lower():
        return None
    return Owned(
        identifier=identifier,
        arn=arn_of(snapshot),
        region=region,
        database=tags[DATABASE],
        run=tags[RUN],
        role=Role(tags[ROLE]),
        exports=tuple(part for part in tags.get(EXPORTS, "target").split(",") if part),
        status=str(snapshot.get("Status", "")),
        tags=tags,
        raw=snapshot,
        kind=kind_of(snapshot),
    )
